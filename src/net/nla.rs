// SPDX-License-Identifier: GPL-2.0

//! Netlink attributes: read-only views and validation policies.
//!
//! C header: [`include/net/netlink.h`](srctree/include/net/netlink.h)

use core::marker::PhantomData;
use core::ptr::NonNull;

use super::bindings;

/// A validated netlink attribute (`struct nlattr` followed by its payload).
///
/// # Invariants
///
/// Points to an attribute whose header and payload are valid for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct Attr<'a>(NonNull<bindings::nlattr>, PhantomData<&'a bindings::nlattr>);

impl<'a> Attr<'a> {
    /// The payload.
    pub(crate) fn data(&self) -> &'a [u8] {
        // SAFETY: The attribute is valid (type invariant); `nla_len` and
        // `nla_data` describe its payload, which lives for `'a`.
        unsafe {
            let len = bindings::rveth_nla_len(self.0.as_ptr());
            let data = bindings::rveth_nla_data(self.0.as_ptr());
            core::slice::from_raw_parts(data.cast::<u8>(), len.max(0) as usize)
        }
    }

    /// The payload as a `u32`, if it has exactly that size.
    pub(crate) fn get_u32(&self) -> Option<u32> {
        let d: [u8; 4] = self.data().try_into().ok()?;
        Some(u32::from_ne_bytes(d))
    }

    /// The payload as a `u8` (the policy checked its length).
    pub(crate) fn get_u8(&self) -> Option<u8> {
        self.data().first().copied()
    }

    pub(super) fn as_raw(&self) -> *mut bindings::nlattr {
        self.0.as_ptr()
    }
}

/// A parsed attribute table (`struct nlattr *tb[MAX + 1]`).
///
/// # Invariants
///
/// Each entry is NULL or a validated attribute valid for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct Attrs<'a>(&'a [*mut bindings::nlattr]);

impl<'a> Attrs<'a> {
    /// # Safety
    ///
    /// `tb` must point to `len` entries, each NULL or a valid attribute, all
    /// valid for `'a`.
    pub(super) unsafe fn from_raw(tb: *const *mut bindings::nlattr, len: usize) -> Self {
        // SAFETY: Guaranteed by the caller.
        // INVARIANT: Guaranteed by the caller.
        Self(unsafe { core::slice::from_raw_parts(tb, len) })
    }

    /// The attribute of type `ty`, if present.
    pub(crate) fn get(&self, ty: u32) -> Option<Attr<'a>> {
        let p = *self.0.get(ty as usize)?;
        // INVARIANT: Non-NULL entries are valid attributes for `'a`.
        NonNull::new(p).map(|p| Attr(p, PhantomData))
    }

    pub(super) fn as_slice(&self) -> &'a [*mut bindings::nlattr] {
        self.0
    }

    pub(super) fn as_raw(&self) -> *mut *mut bindings::nlattr {
        self.0.as_ptr().cast_mut()
    }
}

/// `IFLA_*` link attributes used by drivers.
pub(crate) mod ifla {
    use super::bindings;
    /// Interface name.
    pub(crate) const IFNAME: u32 = bindings::IFLA_IFNAME;
    /// MAC address.
    pub(crate) const ADDRESS: u32 = bindings::IFLA_ADDRESS;
    /// MTU.
    pub(crate) const MTU: u32 = bindings::IFLA_MTU;
    /// Number of transmit queues (`numtxqueues`).
    pub(crate) const NUM_TX_QUEUES: u32 = bindings::IFLA_NUM_TX_QUEUES;
    /// Number of receive queues (`numrxqueues`).
    pub(crate) const NUM_RX_QUEUES: u32 = bindings::IFLA_NUM_RX_QUEUES;
    /// Highest `IFLA_*` attribute.
    pub(crate) const MAX: usize = bindings::__IFLA_MAX as usize - 1;
}

/// A netlink message being filled (`fill_info`).
///
/// # Invariants
///
/// `self.0` is a netlink message being built, exclusively ours while the
/// value lives (it does not leave the `fill_info` callback).
pub(crate) struct Msg(NonNull<bindings::sk_buff>);

impl Msg {
    /// # Safety
    ///
    /// `skb` must be a valid netlink message buffer being built, exclusively
    /// ours during the lifetime of the new value.
    pub(super) unsafe fn from_raw(skb: *mut bindings::sk_buff) -> Self {
        // SAFETY: The core never passes NULL.
        // INVARIANT: Guaranteed by the caller.
        Self(unsafe { NonNull::new_unchecked(skb) })
    }

    /// Appends a `u8` attribute; `EMSGSIZE` when the message is full.
    pub(crate) fn put_u8(&mut self, ty: u16, value: u8) -> kernel::error::Result {
        // SAFETY: The message is valid and ours.
        kernel::error::to_result(unsafe {
            bindings::rveth_nla_put_u8(self.0.as_ptr(), ty.into(), value)
        })
    }

    /// Space a `u8` attribute takes (`nla_total_size(1)`).
    pub(crate) const U8_SIZE: usize = bindings::NLA_HDRLEN as usize + 4;
}

/// One entry of a netlink validation policy (`struct nla_policy`).
#[repr(transparent)]
pub(crate) struct Policy(bindings::nla_policy);

// SAFETY: A policy is immutable data read by the netlink core.
unsafe impl Sync for Policy {}

impl Policy {
    const fn zeroed() -> bindings::nla_policy {
        // SAFETY: `nla_policy` is plain data; all-zero is NLA_UNSPEC, no checks.
        unsafe { core::mem::zeroed() }
    }

    /// No validation (an unused attribute number).
    pub(crate) const UNSPEC: Self = Self(Self::zeroed());

    /// A payload that starts with a `struct ifinfomsg` (veth's peer
    /// attribute): at least that long.
    pub(crate) const fn ifinfomsg() -> Self {
        let mut p = Self::zeroed();
        p.len = core::mem::size_of::<bindings::ifinfomsg>() as u16;
        Self(p)
    }

    /// Whether this entry is [`Policy::ifinfomsg`].
    pub(crate) const fn is_ifinfomsg(&self) -> bool {
        self.0.type_ == 0
            && self.0.validation_type == 0
            && self.0.len as usize >= core::mem::size_of::<bindings::ifinfomsg>()
    }

    /// A `u8` between `min` and `max` (`NLA_POLICY_RANGE(NLA_U8, min, max)`).
    pub(crate) const fn u8_range(min: u8, max: u8) -> Self {
        let mut p = Self::zeroed();
        p.type_ = bindings::NLA_U8 as u8;
        p.validation_type = bindings::nla_policy_validation_NLA_VALIDATE_RANGE as u8;
        p.__bindgen_anon_1.__bindgen_anon_1.min = min as i16;
        p.__bindgen_anon_1.__bindgen_anon_1.max = max as i16;
        Self(p)
    }
}
