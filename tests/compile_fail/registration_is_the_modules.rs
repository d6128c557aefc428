// expect: error\[E0603\]: struct `Registration` is private
//! The link kind is registered by the module (`PairModule`) for as long as
//! it is loaded: a driver cannot leak a registration (its ops would point
//! into an unloaded module) or drop one under RTNL (deadlock).
use crate::net::link::Registration;
use crate::pair::Rveth;

fn leak() {
    let _ = Registration::<Rveth>::new();
}
