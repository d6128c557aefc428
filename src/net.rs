// SPDX-License-Identifier: GPL-2.0

//! A small netdev abstraction layer: the kernel crate of 7.3 has none.
//!
//! All of rveth's `unsafe` code lives in this module tree. The driver on top
//! of it ([`crate::pair`], [`crate::xmit`], [`crate::ethtool`]) is safe Rust.
//!
//! C headers: [`include/linux/netdevice.h`], [`include/net/rtnetlink.h`],
//! [`include/linux/ethtool.h`], [`include/linux/skbuff.h`].
//!
//! - [`bindings`]: generated at build time from the target kernel's headers.
//! - [`device`]: [`device::Device`], a `struct net_device` whose private area
//!   holds a typed driver value, and [`device::PeerSlot`], an RCU-protected,
//!   reference-holding pointer to another device.
//! - [`skb`]: an owned [`skb::SkBuff`] and the `dev_forward_skb` steps.
//! - [`link`]: the [`link::Driver`] trait, the C vtables built from it and the
//!   [`link::Registration`] of a link kind (`rtnl_link_ops`).
//! - [`nla`]: read-only views of netlink attributes and policies.

pub(crate) mod bindings;
pub(crate) mod device;
pub(crate) mod ethtool;
pub(crate) mod link;
pub(crate) mod nla;
pub(crate) mod skb;

/// Evidence that bottom halves are disabled on this CPU, which makes the
/// current context an RCU read-side critical section (RCU flavours are
/// consolidated): `ndo_start_xmit` always runs so.
///
/// # Invariants
///
/// Bottom halves stay disabled while a reference to this type exists.
pub(crate) struct BhDisabled(kernel::types::NotThreadSafe);

impl BhDisabled {
    /// Returns the evidence.
    ///
    /// # Safety
    ///
    /// Bottom halves must be disabled for the lifetime `'a`.
    pub(crate) unsafe fn assume<'a>() -> &'a BhDisabled {
        // INVARIANT: Guaranteed by the caller.
        const B: BhDisabled = BhDisabled(kernel::types::NotThreadSafe);
        &B
    }
}

/// Evidence that the RTNL lock is held by the current thread.
///
/// Callbacks that the networking core runs under RTNL receive a `&Rtnl`;
/// values borrowed with its lifetime are valid as long as RTNL stays held.
///
/// # Invariants
///
/// The RTNL mutex is held while a reference to this type exists.
pub(crate) struct Rtnl(());

impl Rtnl {
    /// Returns the RTNL evidence.
    ///
    /// # Safety
    ///
    /// The caller must hold the RTNL mutex for the lifetime `'a`.
    pub(crate) unsafe fn assume_held<'a>() -> &'a Rtnl {
        // INVARIANT: The caller guarantees that RTNL is held during `'a`.
        &Rtnl(())
    }
}
