// expect: error\[E0277\]: `\*mut \(\)` cannot be shared between threads safely
//! RTNL evidence belongs to the thread that holds the lock: a reference to
//! it cannot be sent to another thread (`&T: Send` needs `T: Sync`).
use crate::net::Rtnl;

fn needs_sync<T: Sync>(_: &T) {}

fn share(rtnl: &Rtnl) {
    needs_sync(rtnl);
}
