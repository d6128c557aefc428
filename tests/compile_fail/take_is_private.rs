// expect: error\[E0624\]: method `take` is private
//! Emptying a slot without queueing the device for unregistration (the
//! reference would be put while the device lives on, unpaired) is only
//! possible through `UnregisterQueue::queue_pair`.
use crate::net::device::Device;
use crate::net::Rtnl;
use crate::state::RvethPriv;

fn take_by_hand(a: &Device<RvethPriv>, rtnl: &Rtnl) {
    drop(a.priv_data().peer.take(rtnl));
}
