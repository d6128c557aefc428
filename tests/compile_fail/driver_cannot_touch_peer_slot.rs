// expect: error\[E0624\]: method `peer_slot` is private
//! The peer slot is filled and emptied only by the layer (link_pair,
//! queue_pair); a driver can read the peer, not unpair or re-pair it.
use crate::net::device::Device;
use crate::state::RvethPriv;

fn unpair(dev: &Device<RvethPriv>) {
    let _ = dev.peer_slot();
}
