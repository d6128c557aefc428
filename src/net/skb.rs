// SPDX-License-Identifier: GPL-2.0

//! Socket buffers (`struct sk_buff`) on the transmit path of a pair device.
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)

use core::ptr::NonNull;

use super::{bindings, device::Device};

/// An owned socket buffer; dropping it frees it as a drop (`kfree_skb`).
///
/// # Invariants
///
/// `self.0` is a valid `sk_buff` owned by this value.
pub(crate) struct SkBuff(NonNull<bindings::sk_buff>);

/// The Ethernet header length.
pub(crate) const ETH_HLEN: u32 = bindings::ETH_HLEN;

impl SkBuff {
    /// Takes ownership of a raw skb.
    ///
    /// # Safety
    ///
    /// `skb` must be a valid skb whose ownership passes to the new value.
    pub(crate) unsafe fn from_raw(skb: *mut bindings::sk_buff) -> Self {
        // SAFETY: `ndo_start_xmit` is never called with NULL.
        // INVARIANT: The caller passes ownership of a valid skb.
        Self(unsafe { NonNull::new_unchecked(skb) })
    }

    fn raw(&self) -> *mut bindings::sk_buff {
        self.0.as_ptr()
    }

    /// Total data length.
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: The skb is valid and owned.
        unsafe { (*self.raw()).len }
    }

    /// Makes sure the first `len` bytes are in the linear area
    /// (`pskb_may_pull`: the common case, already linear, is decided here
    /// without a call).
    pub(crate) fn may_pull(&mut self, len: u32) -> bool {
        // SAFETY: The skb is valid and owned; `len`/`data_len` are plain fields.
        let headlen = unsafe { (*self.raw()).len - (*self.raw()).data_len };
        // SAFETY: The skb is valid and owned.
        headlen >= len || unsafe { bindings::rveth_pskb_may_pull(self.raw(), len) }
    }

    /// Records the software transmit timestamp if the socket asked for one.
    pub(crate) fn tx_timestamp(&mut self) {
        // SAFETY: The skb is valid and owned.
        unsafe { bindings::rveth_skb_tx_timestamp(self.raw()) }
    }

    /// The packet's mark, priority and the sending socket's net_cls classid.
    pub(crate) fn meta(&self) -> Meta {
        meta_of(self.raw())
    }

    /// Prepares the skb for reception by `dev`, as `__dev_forward_skb()` does:
    /// MTU and state checks, scrubbing (namespace-crossing aware) and
    /// `eth_type_trans`. On failure the skb is freed and counted as an rx
    /// drop on `dev` by the core.
    pub(crate) fn forward_to<P>(self, dev: &Device<P>) -> Result<Forwarded, Dropped> {
        let skb = self.0;
        core::mem::forget(self);
        // SAFETY: `dev` is valid; ownership of the skb passes to the callee,
        // which frees it when it returns non-zero.
        let ret = unsafe { bindings::__dev_forward_skb(dev.as_raw(), skb.as_ptr()) };
        if ret == 0 {
            // INVARIANT: On success the skb is still ours.
            Ok(Forwarded(skb))
        } else {
            Err(Dropped)
        }
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: The skb is valid and owned (type invariant).
        unsafe { bindings::rveth_kfree_skb(self.raw()) }
    }
}

/// Metadata that a crossing may clear.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    /// `skb->mark`.
    pub(crate) mark: u32,
    /// `skb->priority`.
    pub(crate) priority: u32,
    /// net_cls classid of the sending socket (0: none).
    pub(crate) classid: u32,
}

fn meta_of(skb: *mut bindings::sk_buff) -> Meta {
    let mut m = bindings::rveth_skb_meta::default();
    // SAFETY: Callers pass an skb they own; `m` is a valid out-parameter.
    unsafe { bindings::rveth_skb_get_meta(skb, &mut m) };
    Meta {
        mark: m.mark,
        priority: m.priority,
        classid: m.classid,
    }
}

/// The packet was dropped (and freed) on the way.
pub(crate) struct Dropped;

/// An skb scrubbed and retargeted at its receiving device, ready for
/// [`Forwarded::netif_rx`].
///
/// # Invariants
///
/// `self.0` is a valid, owned skb.
pub(crate) struct Forwarded(NonNull<bindings::sk_buff>);

impl Forwarded {
    /// The metadata after the crossing's scrubbing.
    pub(crate) fn meta(&self) -> Meta {
        meta_of(self.0.as_ptr())
    }

    /// Sets `skb->mark` and `skb->priority`.
    pub(crate) fn set_mark_priority(&mut self, mark: u32, priority: u32) {
        // SAFETY: The skb is valid and owned (type invariant).
        unsafe { bindings::rveth_skb_set_meta(self.0.as_ptr(), mark, priority) }
    }

    /// Queues the skb on this CPU's backlog for the receiving device
    /// (`__netif_rx`; the caller runs with bottom halves disabled, as
    /// `ndo_start_xmit` does).
    pub(crate) fn netif_rx(self) -> Result<(), Dropped> {
        let skb = self.0;
        core::mem::forget(self);
        // SAFETY: Ownership of the valid skb passes to the stack.
        let ret = unsafe { bindings::__netif_rx(skb.as_ptr()) };
        if ret == bindings::NET_RX_SUCCESS as i32 {
            Ok(())
        } else {
            Err(Dropped)
        }
    }
}

impl Drop for Forwarded {
    fn drop(&mut self) {
        // SAFETY: The skb is valid and owned (type invariant).
        unsafe { bindings::rveth_kfree_skb(self.0.as_ptr()) }
    }
}
