// expect: error\[E0603\]: struct `NewDevice` is private
//! Creating, registering and pairing devices is the layer's (as
//! veth_newlink() does it): a driver cannot reach an unregistered device,
//! register it, or return from `newlink` without both ends registered and
//! tied, because it never gets one.
use crate::net::link::NewDevice;
use crate::state::RvethPriv;

fn register_by_hand(_d: NewDevice<'_, RvethPriv>) {}
