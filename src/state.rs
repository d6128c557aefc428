// SPDX-License-Identifier: GPL-2.0

//! The per-device state of an rveth end, shared by the link ops
//! ([`crate::pair`]) and the data path ([`crate::xmit`]).
//!
//! The peer pointer is not here: the pair layer (`crate::net::link`) keeps
//! it next to this state and hands it out through `Device::peer`.

#![forbid(unsafe_code)]

use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};

use crate::policy::TxPolicy;

/// Per-device state of an rveth end (the driver's part of veth's
/// `struct veth_priv`).
pub(crate) struct RvethPriv {
    /// Metadata policy of this end's transmit direction, set in `newlink`
    /// before the device is registered and never changed.
    pub(crate) policy: TxPolicy,
    /// Packets this end did not deliver (peer gone or down, header too
    /// short, MTU, backlog or ring full): one device-wide atomic, as
    /// veth's `dropped`, so that creating a device allocates no per-CPU
    /// counters and a drop is never lost to a failed allocation.
    dropped: Atomic<u64>,
}

impl RvethPriv {
    /// The state of a new end.
    pub(crate) const fn new() -> Self {
        Self {
            policy: TxPolicy::DEFAULT,
            dropped: Atomic::new(0),
        }
    }

    /// Counts a packet this end did not deliver.
    pub(crate) fn count_dropped(&self) {
        self.dropped.add(1, Relaxed);
    }

    /// The packets this end did not deliver.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }
}

/// The per-CPU metadata counters of each end (`Device::counters`, allocated
/// on the first packet with metadata), for what the end transmits;
/// `ethtool -S` shows them by these names.
#[derive(Clone, Copy)]
pub(crate) enum Counter {
    /// Packets whose socket had a net_cls classid.
    Classid,
    /// ... of which the classid was written into mark or priority.
    ClassidCarried,
    /// Packets with a non-zero mark.
    Mark,
    /// ... whose mark was zero after the crossing.
    MarkCleared,
    /// Packets with a non-zero priority.
    Priority,
    /// ... whose priority was zero after the crossing.
    PriorityCleared,
}

/// The number of [`Counter`]s.
pub(crate) const COUNTERS: usize = 6;

/// `ethtool -S` names of the counters, in [`Counter`] order.
pub(crate) const COUNTER_NAMES: [&CStr; COUNTERS] = [
    c"tx_meta_classid",
    c"tx_meta_classid_carried",
    c"tx_meta_mark",
    c"tx_meta_mark_cleared",
    c"tx_meta_priority",
    c"tx_meta_priority_cleared",
];

/// All `ethtool -S` names: the peer's ifindex, the drops, the counters,
/// then the frames redirected into this end that the peer took as skbs
/// (NAPI off there; [`crate::net::link::Driver::XDP_XMIT_TO_STACK`]).
pub(crate) const ETHTOOL_STATS: &[&CStr] = &[
    c"peer_ifindex",
    c"tx_dropped",
    COUNTER_NAMES[0],
    COUNTER_NAMES[1],
    COUNTER_NAMES[2],
    COUNTER_NAMES[3],
    COUNTER_NAMES[4],
    COUNTER_NAMES[5],
    c"xdp_xmit_to_stack",
];

// `crate::xmit::ethtool_stats` fills the peer's ifindex, the drops, the
// counters and `xdp_xmit_to_stack`, in this order.
const _: () = assert!(ETHTOOL_STATS.len() == COUNTERS + 3);
