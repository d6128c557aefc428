// SPDX-License-Identifier: GPL-2.0

//! The data path: one end's transmit is the other end's receive.
//!
//! Mirrors `veth_xmit()` without XDP/NAPI: the peer is looked up under RCU
//! (the BH-disabled transmit context is a read section: `rcu_dereference_bh`),
//! the skb is forwarded the way `dev_forward_skb()` does it, and the packet
//! is counted in the sender's per-CPU tstats (the peer's rx counters are the
//! sender's tx counters, see [`get_stats64`]). Drops are counted per CPU.
//!
//! Out-of-line calls per delivered packet: `__dev_forward_skb`, `__netif_rx`
//! (as veth) and the tstats update; everything else (peer pointer, linear
//! header check, timestamp flag, mark, priority, socket classid) is read in
//! Rust.
//!
//! Metadata: `__dev_forward_skb` clears `skb->priority` always and
//! `skb->mark` when the pair crosses namespaces; the net_cls classid is not
//! in the skb at all (it is read from the sending socket, which the host's IP
//! layer orphans later). Each end counts, per transmit direction, packets
//! that arrive with a mark, a priority or a classid and what the crossing
//! cleared; its [`TxPolicy`] may keep mark and priority (`scrub none`) and
//! carry the classid in the mark or the priority. Packets without any
//! metadata (the common case) touch no counter but the tstats.

#![forbid(unsafe_code)]

use kernel::sync::rcu;

use crate::net::{
    device::{Device, LinkStats64},
    link::Tx,
    percpu::Local,
    skb::{Forwarded, Meta, SkBuff, ETH_HLEN},
    BhDisabled,
};
use crate::policy::{ClassidMode, Scrub, TxPolicy};
use crate::state::{Counter, RvethPriv, COUNTERS};

/// Applies `policy` to a forwarded packet that arrived with metadata
/// `before`, and counts what the crossing carried and cleared.
fn cross_metadata(fwd: &mut Forwarded, before: Meta, policy: TxPolicy, c: &Local<'_>) {
    // What __dev_forward_skb() left: no priority, no mark across namespaces.
    let scrubbed = (if fwd.crossed_netns() { 0 } else { before.mark }, 0);
    let (mut mark, mut priority) = match policy.scrub {
        Scrub::Default => scrubbed,
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
    if (mark, priority) != scrubbed {
        fwd.set_mark_priority(mark, priority);
    }

    let count = |c_: Counter| c.add(c_ as usize, 1);
    if before.classid != 0 {
        count(Counter::Classid);
        if carried {
            count(Counter::ClassidCarried);
        }
    }
    if before.mark != 0 {
        count(Counter::Mark);
        if mark == 0 {
            count(Counter::MarkCleared);
        }
    }
    if before.priority != 0 {
        count(Counter::Priority);
        if priority == 0 {
            count(Counter::PriorityCleared);
        }
    }
}

/// Transmits `skb` from `dev` to its peer (`ndo_start_xmit`).
pub(crate) fn xmit(mut skb: SkBuff, dev: &Device<RvethPriv>, bh: &BhDisabled) -> Tx {
    let len = skb.len();

    // BH is disabled: an RCU read section already, no rcu_read_lock needed.
    let Some(peer) = dev.peer_bh(bh) else {
        return drop_counted(dev, bh, skb.dropped());
    };
    if !skb.may_pull(ETH_HLEN) {
        return drop_counted(dev, bh, skb.dropped());
    }
    skb.tx_timestamp();
    let before = skb.meta();

    // MTU, state checks and scrubbing; on failure the skb is freed and the
    // peer's rx_dropped counted by the core.
    let mut skb = match skb.forward_to(peer) {
        Ok(skb) => skb,
        Err(dropped) => return drop_counted(dev, bh, dropped),
    };
    if before != Meta::default() {
        cross_metadata(
            &mut skb,
            before,
            dev.priv_data().policy,
            &dev.counters().local(bh),
        );
    }
    let tx = skb.netif_rx(bh);
    if !tx.is_delivered() {
        return drop_counted(dev, bh, tx);
    }
    dev.tstats_tx_add(len, bh);
    tx
}

/// Counts a packet `start_xmit` did not deliver.
fn drop_counted(dev: &Device<RvethPriv>, bh: &BhDisabled, tx: Tx) -> Tx {
    dev.counters().local(bh).add(Counter::Dropped as usize, 1);
    tx
}

/// The sums of an end's per-CPU counters, in [`Counter`] order.
fn counters(dev: &Device<RvethPriv>) -> [u64; COUNTERS] {
    let mut sums = [0; COUNTERS];
    dev.counters().sum(&mut sums);
    sums
}

/// `ndo_get_stats64`: tx from this end's tstats, rx from the peer's tx.
pub(crate) fn get_stats64(dev: &Device<RvethPriv>, stats: &mut LinkStats64) {
    dev.fetch_tstats(stats);
    stats.add_tx_dropped(counters(dev)[Counter::Dropped as usize]);

    let guard = rcu::read_lock();
    if let Some(peer) = dev.peer(&guard) {
        let mut peer_stats = LinkStats64::zeroed();
        peer.fetch_tstats(&mut peer_stats);
        stats.add_rx(peer_stats.tx_packets(), peer_stats.tx_bytes());
    }
}

/// Values of the `ethtool -S` counters ([`crate::state::ETHTOOL_STATS`]).
pub(crate) fn ethtool_stats(dev: &Device<RvethPriv>, values: &mut [u64]) {
    let peer_ifindex = {
        let guard = rcu::read_lock();
        dev.peer(&guard).map_or(0, |p| p.ifindex())
    };
    let stats = Iterator::chain(
        core::iter::once(u64::try_from(peer_ifindex).unwrap_or(0)),
        counters(dev),
    );
    for (v, s) in values.iter_mut().zip(stats) {
        *v = s;
    }
}
