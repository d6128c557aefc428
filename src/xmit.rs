// SPDX-License-Identifier: GPL-2.0

//! The data path: one end's transmit is the other end's receive.
//!
//! Mirrors `veth_xmit()` without XDP (with its GRO mode: NAPI rings at the
//! receiver, see [`xmit`] and [`poll`]): the peer is looked up under RCU
//! (the BH-disabled transmit context is a read section: `rcu_dereference_bh`),
//! the skb is forwarded the way `dev_forward_skb()` does it, and the packet
//! is counted in the sender's per-CPU tstats (the peer's rx counters are the
//! sender's tx counters, see [`get_stats64`]). Drops are counted in one
//! device-wide atomic, as veth counts them.
//!
//! Out-of-line calls per delivered packet without metadata:
//! `__dev_forward_skb` and `__netif_rx` (veth makes the same two; a packet
//! with metadata takes [`xmit_with_metadata`] and calls
//! [`add_metadata_counts`]); everything else (peer pointer, NAPI queue of
//! the peer, linear header check, timestamp flag, mark, priority, socket
//! classid, the tstats update) is done in Rust.
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
    link::{Tx, TxOutcome},
    napi::{NapiPoll, NapiTarget, PollDone, RxItem},
    skb::{Forwarded, Meta, SkBuff, ETH_HLEN},
    BhDisabled,
};
use crate::policy::{ClassidMode, Scrub, TxPolicy};
use crate::state::{Counter, RvethPriv, COUNTERS};

// `cross_metadata` returns the counters to add as bits of a `u32`.
const _: () = assert!(COUNTERS <= 32);

/// Applies `policy` to a forwarded packet that arrived with metadata
/// `before`; returns the counters the crossing adds (a bit per
/// [`Counter`]), counted by [`count_metadata`] once the packet's fate is
/// known (a packet handed back to the core is crossed again later).
fn cross_metadata(fwd: &mut Forwarded<'_, RvethPriv>, before: Meta, policy: TxPolicy) -> u32 {
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

    let mut counts = 0u32;
    let mut count = |c: Counter| counts |= 1 << c as u32;
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
    counts
}

/// Adds the counters of [`cross_metadata`]'s result: inline, so that a
/// packet without metadata (the common case) costs no call.
#[inline(always)]
fn count_metadata(counts: u32, dev: &Device<RvethPriv>, bh: &BhDisabled) {
    if counts != 0 {
        add_metadata_counts(counts, dev, bh);
    }
}

/// [`count_metadata`]'s adds, out of line.
#[cold]
fn add_metadata_counts(counts: u32, dev: &Device<RvethPriv>, bh: &BhDisabled) {
    let c = dev.counters().local(bh);
    for i in 0..COUNTERS {
        if counts & (1 << i) != 0 {
            c.add(i, 1);
        }
    }
}

/// Transmits `skb` from `dev` to its peer (`ndo_start_xmit`, `veth_xmit()`).
///
/// With NAPI on at the peer's receive queue of the skb's queue mapping
/// (GRO requested there) and an skb that may aggregate, the skb goes into
/// that queue's ring and is counted by the queue's poll; otherwise into the
/// backlog, counted in this end's tstats by [`Forwarded::netif_rx`].
///
/// A packet with metadata takes [`xmit_with_metadata`], out of line, so
/// that the common packet without any keeps no metadata state (what it
/// arrived with, the namespace answer) live across the forwarding call and
/// counts nothing but the tstats.
#[inline]
pub(crate) fn xmit(mut skb: SkBuff, dev: &Device<RvethPriv>, bh: &BhDisabled) -> Tx {
    // BH is disabled: an RCU read section already, no rcu_read_lock needed.
    let Some(peer) = dev.peer_bh(bh) else {
        return drop_counted(dev, skb.dropped());
    };
    if !skb.may_pull(ETH_HLEN) {
        return drop_counted(dev, skb.dropped());
    }
    let napi = peer
        .napi_target(&skb, bh)
        .filter(|_| skb.gro_eligible(dev, peer));
    skb.tx_timestamp();
    let before = skb.meta();
    if before != Meta::default() {
        return xmit_with_metadata(skb, dev, peer, napi, before, bh);
    }
    deliver(skb, dev, peer, napi, bh, |_| 0)
}

/// [`xmit`] of a packet that arrived with metadata `before`: the crossing
/// applies this end's [`TxPolicy`] and counts.
#[inline(never)]
fn xmit_with_metadata(
    skb: SkBuff,
    dev: &Device<RvethPriv>,
    peer: &Device<RvethPriv>,
    napi: Option<NapiTarget<'_>>,
    before: Meta,
    bh: &BhDisabled,
) -> Tx {
    deliver(skb, dev, peer, napi, bh, |fwd| {
        cross_metadata(fwd, before, dev.priv_data().policy)
    })
}

/// Forwards `skb` from `dev` to `peer` and delivers it (into the ring of
/// the peer's receive queue `napi` if there is one, else to the backlog); `cross`
/// applies the metadata policy to the forwarded skb and returns the
/// counters to add once the packet's fate is known.
#[inline(always)]
fn deliver(
    skb: SkBuff,
    dev: &Device<RvethPriv>,
    peer: &Device<RvethPriv>,
    napi: Option<NapiTarget<'_>>,
    bh: &BhDisabled,
    cross: impl FnOnce(&mut Forwarded<'_, RvethPriv>) -> u32,
) -> Tx {
    // MTU, state checks and scrubbing; on failure the skb is freed and the
    // peer's rx_dropped counted by the core.
    let mut skb = match skb.forward_to(peer) {
        Ok(skb) => skb,
        Err(dropped) => return drop_counted(dev, dropped),
    };
    let counts = cross(&mut skb);
    // Delivered to the backlog: counted in this end's tstats by the same
    // call (`Forwarded::netif_rx`).
    let tx = match napi {
        Some(target) => skb.napi_xmit(target, bh),
        None => skb.netif_rx(bh),
    };
    match tx.outcome() {
        // Queued: counted by the peer's receive queue (veth_get_stats64()).
        TxOutcome::Delivered | TxOutcome::Queued => {
            count_metadata(counts, dev, bh);
            tx
        }
        TxOutcome::Dropped => {
            count_metadata(counts, dev, bh);
            drop_counted(dev, tx)
        }
        // The core retries it: counted then.
        TxOutcome::Busy => tx,
    }
}

/// The NAPI poll of one of this end's receive queues (`veth_poll()`):
/// every entry the budget allows goes through the device's XDP program if
/// it has one (the layer carries out the verdict), and what passes (or
/// every entry, without a program) goes to GRO; frames become skbs first.
#[inline]
pub(crate) fn poll<'a>(mut ctx: NapiPoll<'a, RvethPriv>) -> PollDone<'a> {
    while let Some(item) = ctx.next() {
        let skb = match (ctx.xdp_prog(), item) {
            (Some(prog), item) => ctx.xdp_run(item, prog),
            (None, RxItem::Skb(skb)) => Some(skb),
            (None, RxItem::Frame(frame)) => ctx.frame_to_skb(frame),
        };
        if let Some(skb) = skb {
            ctx.gro_receive(skb);
        }
    }
    ctx.complete()
}

/// Counts a packet `start_xmit` did not deliver.
fn drop_counted(dev: &Device<RvethPriv>, tx: Tx) -> Tx {
    dev.priv_data().count_dropped();
    tx
}

/// The sums of an end's per-CPU metadata counters, in [`Counter`] order.
fn counters(dev: &Device<RvethPriv>) -> [u64; COUNTERS] {
    let mut sums = [0; COUNTERS];
    dev.counters().sum(&mut sums);
    sums
}

/// `ndo_get_stats64`, as `veth_get_stats64()`: tx from this end's tstats
/// plus what the peer's receive queues took from their rings; rx from the
/// peer's tstats plus what this end's receive queues took. Drops: this
/// end's transmit drops, frames redirected into it that its peer's rings
/// could not take and its `XDP_TX` frames the peer could not take count as
/// tx drops; its queues' drops and what its own rings refused count as rx
/// drops (veth's accounting, including its crossed `xdp_tx_errors`).
pub(crate) fn get_stats64(dev: &Device<RvethPriv>, stats: &mut LinkStats64) {
    dev.fetch_tstats(stats);
    stats.add_tx_dropped(dev.priv_data().dropped());
    stats.add_tx_dropped(dev.xdp_xmit_dropped());
    let rx = dev.rx_queue_totals();
    stats.add_tx_dropped(rx.xdp_tx_err);
    stats.add_rx_dropped(rx.drops + rx.xdp_xmit_err);
    stats.add_rx(rx.packets, rx.bytes);

    let guard = rcu::read_lock();
    if let Some(peer) = dev.peer(&guard) {
        let mut peer_stats = LinkStats64::zeroed();
        peer.fetch_tstats(&mut peer_stats);
        stats.add_rx(peer_stats.tx_packets(), peer_stats.tx_bytes());
        let prx = peer.rx_queue_totals();
        stats.add_tx_dropped(prx.xdp_xmit_err);
        stats.add_rx_dropped(prx.xdp_tx_err);
        stats.add_tx(prx.packets, prx.bytes);
    }
}

/// Values of the `ethtool -S` counters ([`crate::state::ETHTOOL_STATS`]).
pub(crate) fn ethtool_stats(dev: &Device<RvethPriv>, values: &mut [u64]) {
    let peer_ifindex = {
        let guard = rcu::read_lock();
        dev.peer(&guard).map_or(0, |p| p.ifindex())
    };
    let stats = [
        u64::try_from(peer_ifindex).unwrap_or(0),
        dev.priv_data().dropped(),
    ]
    .into_iter()
    .chain(counters(dev))
    .chain(core::iter::once(dev.xdp_xmit_to_stack()));
    for (v, s) in values.iter_mut().zip(stats) {
        *v = s;
    }
}
