// SPDX-License-Identifier: GPL-2.0

//! The data path: one end's transmit is the other end's receive.
//!
//! Mirrors `veth_xmit()` without XDP/NAPI: the peer is looked up under RCU
//! (the BH-disabled transmit context is a read section: `rcu_dereference_bh`),
//! the skb is forwarded the way `dev_forward_skb()` does it, and the packet
//! is counted in the sender's per-CPU tstats (the peer's rx counters are the
//! sender's tx counters, see [`get_stats64`]). Drops are counted in an atomic.
//!
//! Metadata: `__dev_forward_skb` clears `skb->priority` always and
//! `skb->mark` when the pair crosses namespaces; the net_cls classid is not
//! in the skb at all (it is read from the sending socket, which the host's IP
//! layer orphans later). Each end counts, per transmit direction, packets
//! that arrive with a mark, a priority or a classid and what the crossing
//! cleared; its [`TxPolicy`] may keep mark and priority (`scrub none`) and
//! carry the classid in the mark or the priority. Packets without any
//! metadata (the common case) take one read and no counter update.

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
    BhDisabled,
    skb::{Forwarded, Meta, SkBuff, ETH_HLEN},
};
use crate::pair::{ClassidMode, RvethPriv, Scrub, TxPolicy};

/// Transmit-side counters of one end, beyond the per-CPU tstats.
///
/// The metadata counters are only touched for packets that carry metadata.
pub(crate) struct Counters {
    /// Packets this end could not deliver (peer gone or down, MTU, backlog).
    dropped: Atomic<u64>,
    /// Packets whose socket had a net_cls classid.
    classid: Atomic<u64>,
    /// ... of which the classid was written into mark or priority.
    classid_carried: Atomic<u64>,
    /// Packets with a non-zero mark.
    mark: Atomic<u64>,
    /// ... whose mark was zero after the crossing.
    mark_cleared: Atomic<u64>,
    /// Packets with a non-zero priority.
    priority: Atomic<u64>,
    /// ... whose priority was zero after the crossing.
    priority_cleared: Atomic<u64>,
}

impl Counters {
    /// Zeroed counters.
    pub(crate) const fn new() -> Self {
        Self {
            dropped: Atomic::new(0),
            classid: Atomic::new(0),
            classid_carried: Atomic::new(0),
            mark: Atomic::new(0),
            mark_cleared: Atomic::new(0),
            priority: Atomic::new(0),
            priority_cleared: Atomic::new(0),
        }
    }
}

fn inc(counter: &Atomic<u64>) {
    counter.add(1, Relaxed);
}

/// Applies `policy` to a forwarded packet that arrived with metadata
/// `before`, and counts what the crossing carried and cleared.
fn cross_metadata(fwd: &mut Forwarded, before: Meta, policy: TxPolicy, c: &Counters) {
    let scrubbed = fwd.meta();
    let (mut mark, mut priority) = match policy.scrub {
        Scrub::Default => (scrubbed.mark, scrubbed.priority),
        Scrub::None => (before.mark, before.priority),
    };
    let carried = before.classid != 0 && policy.classid != ClassidMode::Off;
    if carried {
        match policy.classid {
            ClassidMode::Mark => mark = before.classid,
            ClassidMode::Priority => priority = before.classid,
            ClassidMode::Off => {}
        }
    }
    if (mark, priority) != (scrubbed.mark, scrubbed.priority) {
        fwd.set_mark_priority(mark, priority);
    }

    if before.classid != 0 {
        inc(&c.classid);
        if carried {
            inc(&c.classid_carried);
        }
    }
    if before.mark != 0 {
        inc(&c.mark);
        if mark == 0 {
            inc(&c.mark_cleared);
        }
    }
    if before.priority != 0 {
        inc(&c.priority);
        if priority == 0 {
            inc(&c.priority_cleared);
        }
    }
}

/// Transmits `skb` from `dev` to its peer (`ndo_start_xmit`).
pub(crate) fn xmit(mut skb: SkBuff, dev: &Device<RvethPriv>, bh: &BhDisabled) -> Tx {
    let priv_data = dev.priv_data();
    let len = skb.len();

    // BH is disabled: an RCU read section already, no rcu_read_lock needed.
    let Some(peer) = priv_data.peer.get_bh(bh) else {
        drop(skb);
        return drop_counted(priv_data);
    };
    if !skb.may_pull(ETH_HLEN) {
        drop(skb);
        return drop_counted(priv_data);
    }
    skb.tx_timestamp();
    let before = skb.meta();

    // MTU, state checks and scrubbing; on failure the skb is freed and the
    // peer's rx_dropped counted by the core.
    let Ok(mut skb) = skb.forward_to(peer) else {
        return drop_counted(priv_data);
    };
    if before != Meta::default() {
        cross_metadata(&mut skb, before, priv_data.policy.get(), &priv_data.counters);
    }
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
pub(crate) const ETHTOOL_STATS: &[&CStr] = &[
    c"peer_ifindex",
    c"tx_dropped",
    c"tx_meta_classid",
    c"tx_meta_classid_carried",
    c"tx_meta_mark",
    c"tx_meta_mark_cleared",
    c"tx_meta_priority",
    c"tx_meta_priority_cleared",
];

/// Values of the `ethtool -S` counters.
pub(crate) fn ethtool_stats(dev: &Device<RvethPriv>, values: &mut [u64]) {
    let priv_data = dev.priv_data();
    let guard = rcu::read_lock();
    let peer_ifindex = priv_data.peer.get(&guard).map_or(0, |p| p.ifindex());
    let c = &priv_data.counters;
    let stats = [
        u64::try_from(peer_ifindex).unwrap_or(0),
        c.dropped.load(Relaxed),
        c.classid.load(Relaxed),
        c.classid_carried.load(Relaxed),
        c.mark.load(Relaxed),
        c.mark_cleared.load(Relaxed),
        c.priority.load(Relaxed),
        c.priority_cleared.load(Relaxed),
    ];
    for (v, s) in values.iter_mut().zip(stats) {
        *v = s;
    }
}
