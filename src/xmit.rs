// SPDX-License-Identifier: GPL-2.0

//! The data path: one end's transmit is the other end's receive.
//!
//! Mirrors `veth_xmit()` without XDP/NAPI: the peer is looked up under RCU,
//! the skb is forwarded the way `dev_forward_skb()` does it, and the packet
//! is counted in the sender's per-CPU tstats (the peer's rx counters are the
//! sender's tx counters, see [`get_stats64`]). Drops are counted in an atomic.

use kernel::{
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        rcu,
    },
};

use crate::net::{
    device::{Device, LinkStats64},
    link::Tx,
    skb::{SkBuff, ETH_HLEN},
};
use crate::pair::RvethPriv;

/// Transmit-side counters of one end, beyond the per-CPU tstats.
pub(crate) struct Counters {
    /// Packets this end could not deliver (peer gone or down, MTU, backlog).
    dropped: Atomic<u64>,
}

impl Counters {
    /// Zeroed counters.
    pub(crate) const fn new() -> Self {
        Self {
            dropped: Atomic::new(0),
        }
    }
}

/// Transmits `skb` from `dev` to its peer (`ndo_start_xmit`).
pub(crate) fn xmit(mut skb: SkBuff, dev: &Device<RvethPriv>) -> Tx {
    let priv_data = dev.priv_data();
    let len = skb.len();
    let guard = rcu::read_lock();

    let Some(peer) = priv_data.peer.get(&guard) else {
        drop(skb);
        return drop_counted(priv_data);
    };
    if !skb.may_pull(ETH_HLEN) {
        drop(skb);
        return drop_counted(priv_data);
    }
    skb.tx_timestamp();

    // MTU, state checks and scrubbing; on failure the skb is freed and the
    // peer's rx_dropped counted by the core.
    let Ok(skb) = skb.forward_to(peer) else {
        return drop_counted(priv_data);
    };
    match skb.netif_rx() {
        Ok(()) => {
            dev.tstats_tx_add(len);
            Tx::Ok
        }
        Err(_) => drop_counted(priv_data),
    }
}

fn drop_counted(priv_data: &RvethPriv) -> Tx {
    priv_data.counters.dropped.add(1, Relaxed);
    Tx::Dropped
}

/// `ndo_get_stats64`: tx from this end's tstats, rx from the peer's tx.
pub(crate) fn get_stats64(dev: &Device<RvethPriv>, stats: &mut LinkStats64) {
    let priv_data = dev.priv_data();
    dev.fetch_tstats(stats);
    stats.add_tx_dropped(priv_data.counters.dropped.load(Relaxed));

    let guard = rcu::read_lock();
    if let Some(peer) = priv_data.peer.get(&guard) {
        let mut peer_stats = LinkStats64::zeroed();
        peer.fetch_tstats(&mut peer_stats);
        stats.add_rx(peer_stats.tx_packets(), peer_stats.tx_bytes());
    }
}

/// Names of the `ethtool -S` counters.
pub(crate) const ETHTOOL_STATS: &[&CStr] = &[c"peer_ifindex", c"tx_dropped"];

/// Values of the `ethtool -S` counters.
pub(crate) fn ethtool_stats(dev: &Device<RvethPriv>, values: &mut [u64]) {
    let priv_data = dev.priv_data();
    let guard = rcu::read_lock();
    let peer_ifindex = priv_data.peer.get(&guard).map_or(0, |p| p.ifindex());
    let stats = [
        u64::try_from(peer_ifindex).unwrap_or(0),
        priv_data.counters.dropped.load(Relaxed),
    ];
    for (v, s) in values.iter_mut().zip(stats) {
        *v = s;
    }
}
