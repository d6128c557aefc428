// expect: error\[E0603\]: module `bindings` is private
//! The raw bindings are for src/net only: a driver cannot name a raw flag,
//! field or function.
use crate::net::bindings;

fn raw() -> u32 {
    bindings::ETH_ALEN
}
