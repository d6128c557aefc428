// expect: error\[E0277\]: `\*mut \(\)` cannot be shared between threads safely
//! RTNL evidence belongs to the thread that holds the lock: it cannot be
//! shared with (or sent to) another thread.
use crate::net::Rtnl;

fn needs_sync<T: Sync>(_: &T) {}

fn share(rtnl: &Rtnl) {
    needs_sync(rtnl);
}
