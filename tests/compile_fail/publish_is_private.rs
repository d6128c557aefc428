// expect: error\[E0624\]: method `publish` is private
//! A slot is filled only by `link_pair` (both ends, empty slots, registered
//! devices): publishing one device by hand must not compile.
use crate::net::device::Device;
use crate::net::Rtnl;
use crate::state::RvethPriv;

fn publish_by_hand(a: &Device<RvethPriv>, b: &Device<RvethPriv>, rtnl: &Rtnl) {
    a.priv_data().peer.publish(b, rtnl);
}
