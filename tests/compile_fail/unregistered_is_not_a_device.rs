// expect: error\[E0599\]: no method named `tstats_tx_add` found for struct `Unregistered
//! The peer before `register()` is not a `Device` either (tstats are
//! allocated by registration).
use crate::net::link::Unregistered;
use crate::net::BhDisabled;
use crate::state::RvethPriv;

fn count_on_unregistered_peer(peer: Unregistered<'_, RvethPriv>, bh: &BhDisabled) {
    peer.tstats_tx_add(60, bh);
}
