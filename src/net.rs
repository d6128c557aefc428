// SPDX-License-Identifier: GPL-2.0

//! A small netdev abstraction layer: the kernel crate of 7.3 has none.
//!
//! All of rveth's `unsafe` code lives in this module tree. The driver on top
//! of it ([`crate::pair`], [`crate::xmit`], [`crate::state`],
//! [`crate::policy`]) is safe Rust and denies `unsafe_code`.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/net/rtnetlink.h`](srctree/include/net/rtnetlink.h),
//! [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h),
//! [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h).
//!
//! - [`bindings`]: generated at build time from the target kernel's headers.
//! - [`device`]: [`device::Device`], a registered `struct net_device` whose
//!   private area holds a typed driver value, the wrappers of a device before
//!   registration, and [`device::PeerSlot`], an RCU-protected,
//!   reference-holding pointer to another device.
//! - [`percpu`]: per-CPU `u64` counters of a device.
//! - [`skb`]: an owned [`skb::SkBuff`] and the `dev_forward_skb` steps.
//! - [`napi`]: NAPI receive queues with their rings (veth's GRO mode), the
//!   poll context and the transmit-queue backpressure protocol.
//! - [`link`]: the [`link::Driver`] trait, the C vtables built from it and the
//!   [`link::Registration`] of a link kind (`rtnl_link_ops`).
//! - [`nla`]: read-only views of netlink attributes and policies.
//! - [`ethtool`]: the `ethtool_ops` table.
//!
//! What the safe API guarantees, whatever a driver writes:
//! - a [`device::Device`] is always a registered device (or one being
//!   unregistered), with the core's per-CPU tstats allocated; a driver never
//!   sees a device before registration, only its private data;
//! - pairs are made and unmade by the layer, as `veth_newlink()` and
//!   `veth_dellink()` do: both ends registered and tied, or nothing left;
//!   the peer slot only ever holds a registered device with its own
//!   reference tracker, and is emptied and queued for unregistration in one
//!   operation;
//! - what the core relies on (per-CPU tstats, no netpoll, no shared skbs,
//!   no flags or features that make the core treat the device as another
//!   type, the peer attribute's policy) is forced or checked by the layer;
//! - evidence types ([`Rtnl`], [`BhDisabled`]) are only made by the
//!   adapters and cannot leave the thread or context that holds them.
//!
//! `tests/compile_fail/` keeps an example of each misuse the compiler
//! refuses; `make test` checks them.

mod bindings;
pub(crate) mod device;
pub(crate) mod ethtool;
mod layout;
pub(crate) mod link;
pub(crate) mod napi;
pub(crate) mod nla;
mod once;
pub(crate) mod percpu;
mod ring;
pub(crate) mod skb;
pub(crate) mod xdp;

use kernel::types::NotThreadSafe;

/// Evidence that bottom halves are disabled on this CPU, which makes the
/// current context an RCU read-side critical section (RCU flavours are
/// consolidated) that cannot migrate to another CPU: `ndo_start_xmit` always
/// runs so.
///
/// Not `Send`/`Sync`: the property belongs to the current CPU and context.
///
/// # Invariants
///
/// Bottom halves stay disabled while a reference to this type exists.
pub(crate) struct BhDisabled(NotThreadSafe);

impl BhDisabled {
    /// Returns the evidence.
    ///
    /// # Safety
    ///
    /// Bottom halves must be disabled for the lifetime `'a`.
    unsafe fn assume<'a>() -> &'a BhDisabled {
        // INVARIANT: Guaranteed by the caller.
        const B: BhDisabled = BhDisabled(NotThreadSafe);
        &B
    }
}

/// Evidence that the RTNL lock is held by the current thread.
///
/// Callbacks that the networking core runs under RTNL receive a `&Rtnl`;
/// values borrowed with its lifetime are valid as long as RTNL stays held.
/// Not `Send`/`Sync`: the lock is held by this thread, not by another one
/// the evidence could be moved to.
///
/// # Invariants
///
/// The RTNL mutex is held by the current thread while a reference to this
/// type exists.
pub(crate) struct Rtnl(NotThreadSafe);

impl Rtnl {
    /// Returns the RTNL evidence.
    ///
    /// # Safety
    ///
    /// The current thread must hold the RTNL mutex for the lifetime `'a`.
    unsafe fn assume_held<'a>() -> &'a Rtnl {
        // INVARIANT: The caller guarantees that RTNL is held during `'a`.
        const R: Rtnl = Rtnl(NotThreadSafe);
        &R
    }
}
