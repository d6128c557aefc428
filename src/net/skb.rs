// SPDX-License-Identifier: GPL-2.0

//! Socket buffers (`struct sk_buff`) on the transmit path of a pair device.
//!
//! Plain fields (`len`, `mark`, `priority`, the socket, the shared info's
//! `tx_flags`) are read in Rust through the generated bindings, so the
//! common packet costs no call besides the two `veth_xmit()` makes too
//! (`__dev_forward_skb`, `__netif_rx`). The anonymous unions of
//! `struct sk_buff` and `struct sock_common` appear in the bindings as
//! `__bindgen_anon_N`; each access names the C field it reads, and a layout
//! change in another kernel fails the build rather than reading another
//! field.
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)

use core::ptr::{self, NonNull};

use super::{
    bindings,
    device::{Device, Features},
    link::Tx,
    BhDisabled,
};

// `skb->end` is an offset from `skb->head` (64-bit kernels).
const _: () = assert!(bindings::NET_SKBUFF_DATA_USES_OFFSET == 1);

/// An owned socket buffer; dropping it frees it as a drop (`kfree_skb`).
///
/// Only the `ndo_start_xmit` adapter of [`super::link`] makes one, and it
/// cannot leave that call (not `Send`, and nothing of the layer stores it).
///
/// # Invariants
///
/// `self.0` is a valid `sk_buff` owned by this value; `skb->dev` is the
/// device whose `ndo_start_xmit` received it: a registered device of a
/// driver of this layer.
pub(crate) struct SkBuff(NonNull<bindings::sk_buff>);

/// The Ethernet header length.
pub(crate) const ETH_HLEN: u32 = bindings::ETH_HLEN;

impl SkBuff {
    /// Takes ownership of a raw skb.
    ///
    /// # Safety
    ///
    /// `skb` must be a valid, non-NULL skb whose ownership passes to the new
    /// value, received by the `ndo_start_xmit` of its `skb->dev`, a
    /// registered device of a driver of this layer.
    pub(super) unsafe fn from_raw(skb: *mut bindings::sk_buff) -> Self {
        // SAFETY: Not NULL (caller).
        // INVARIANT: The caller passes ownership of a valid skb.
        Self(unsafe { NonNull::new_unchecked(skb) })
    }

    fn raw(&self) -> *mut bindings::sk_buff {
        self.0.as_ptr()
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

    /// Records the software transmit timestamp if the socket asked for one
    /// (`skb_tx_timestamp`: the flag test is done here, the timestamp is
    /// only taken, out of line, when asked for).
    pub(crate) fn tx_timestamp(&mut self) {
        let skb = self.raw();
        #[cfg(CONFIG_NETWORK_PHY_TIMESTAMPING)]
        // SAFETY: The skb is valid and owned.
        unsafe {
            bindings::skb_clone_tx_timestamp(skb)
        };
        // SAFETY: The skb is valid and owned; `skb_shinfo()` is `head + end`
        // (`end` is an offset, asserted above), inside the skb's buffer.
        let tx_flags = unsafe {
            let shinfo = (*skb)
                .head
                .add((*skb).end as usize)
                .cast::<bindings::skb_shared_info>();
            ptr::read_volatile(&raw const (*shinfo).tx_flags)
        };
        if u32::from(tx_flags) & (bindings::SKBTX_SW_TSTAMP | bindings::SKBTX_BPF) != 0 {
            // SAFETY: The skb is valid and owned; NULL: no hardware stamp.
            unsafe { bindings::skb_tstamp_tx(skb, ptr::null_mut()) };
        }
    }

    /// The packet's mark, priority and the sending socket's net_cls classid.
    pub(crate) fn meta(&self) -> Meta {
        let skb = self.raw();
        // SAFETY: The skb is valid and owned; see `headers()`. The union
        // that holds `mark` holds integers only: any value is valid.
        let (mark, priority, sk) = unsafe {
            let h = headers(skb);
            ((*h).__bindgen_anon_4.mark, (*h).priority, (*skb).sk)
        };
        Meta {
            mark,
            priority,
            // SAFETY: The socket of an skb being transmitted is NULL or valid
            // for the transmit call (held by the skb, or RCU-freed and the
            // transmit path is an RCU read section).
            classid: unsafe { sk_classid(sk) },
        }
    }

    /// Frees the skb as a drop (`kfree_skb`): what `start_xmit` returns
    /// when it does not deliver.
    pub(crate) fn dropped(self) -> Tx {
        drop(self);
        Tx::dropped()
    }

    /// The transmit queue the core chose (`skb_get_queue_mapping`); veth
    /// uses the receive queue of the same index at the peer.
    pub(crate) fn queue_mapping(&self) -> u32 {
        // SAFETY: The skb is valid and owned; a plain `u16` field.
        u32::from(unsafe { (*self.raw()).queue_mapping })
    }

    /// `veth_skb_is_eligible_for_gro()`: whether the skb has chances of GRO
    /// aggregation at `rcv` when `dev` sends it. Without TSO on the sender
    /// anything may aggregate; with TSO only locally generated UDP (the
    /// `sock_wfree` destructor) to a receiver with UDP GRO forwarding or
    /// fraglist GRO.
    pub(crate) fn gro_eligible<P>(&self, dev: &Device<P>, rcv: &Device<P>) -> bool {
        if !dev.features().intersects(Features::ALL_TSO) {
            return true;
        }
        // The address is compared as C does (`skb->destructor ==
        // sock_wfree`); the union may hold another member (TCP's
        // `tcp_tsorted_anchor`), so it is read as an integer.
        // SAFETY: The skb is valid and owned; `destructor` is in the
        // `_skb_refdst`/`destructor` struct of the `__bindgen_anon_3` union.
        let destructor = unsafe {
            ptr::read(
                (&raw const (*self.raw()).__bindgen_anon_3.__bindgen_anon_1.destructor)
                    .cast::<usize>(),
            )
        };
        destructor == bindings::sock_wfree as *const () as usize
            && rcv.features().intersects(Features::GRO_UDP_TARGET)
    }

    /// Prepares the skb for reception by `dev`, as `__dev_forward_skb()` does:
    /// MTU and state checks, scrubbing (namespace-crossing aware) and
    /// `eth_type_trans`. On failure the skb is freed and counted as an rx
    /// drop on `dev` by the core.
    ///
    /// The scrubbing is known without reading the skb again: the priority
    /// is always cleared, the mark when the namespaces of `dev` and the
    /// sending device differ ([`Forwarded::crossed_netns`]).
    pub(crate) fn forward_to<P>(self, dev: &Device<P>) -> Result<Forwarded<'_, P>, Tx> {
        let skb = self.0;
        core::mem::forget(self);
        // SAFETY: `skb` is valid; `skb->dev` (in the `next`/`prev`/`dev`
        // union group) is the sending device (type invariant), valid during
        // its `ndo_start_xmit`.
        let from = unsafe {
            (*skb.as_ptr())
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_1
                .dev
        };
        // SAFETY: The skb is valid and owned; see `SkBuff::meta`.
        let (mark, priority) = unsafe {
            let h = headers(skb.as_ptr());
            ((*h).__bindgen_anon_4.mark, (*h).priority)
        };
        // What veth counts as transmitted (`length` in `veth_xmit()`), before
        // `eth_type_trans` pulls the header.
        // SAFETY: The skb is valid and owned.
        let len = unsafe { (*skb.as_ptr()).len };
        // SAFETY: `dev` is valid; ownership of the skb passes to the callee,
        // which frees it when it returns non-zero.
        let ret = unsafe { bindings::__dev_forward_skb(dev.as_raw(), skb.as_ptr()) };
        if ret == 0 {
            // INVARIANT: On success the skb is still ours; `from` is the
            // device whose `ndo_start_xmit` runs (a registered device of a
            // driver of this layer), `dev` the receiver; `len` as read.
            Ok(Forwarded {
                skb,
                to: dev,
                from,
                len,
                mark,
                priority,
            })
        } else {
            Err(Tx::dropped())
        }
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: The skb is valid and owned (type invariant).
        unsafe { kfree_skb(self.raw()) }
    }
}

/// `kfree_skb()`: frees `skb` as dropped (reason not specified). The C
/// function is inline; this is what it calls, without a wrapper's extra
/// call on the drop paths.
///
/// # Safety
///
/// `skb` must be a valid skb the caller owns; it is freed.
pub(super) unsafe fn kfree_skb(skb: *mut bindings::sk_buff) {
    // SAFETY: A valid, owned skb (caller); a NULL socket is what
    // `kfree_skb_reason()` passes.
    unsafe {
        bindings::sk_skb_reason_drop(
            ptr::null(),
            skb,
            bindings::skb_drop_reason_SKB_DROP_REASON_NOT_SPECIFIED,
        )
    }
}

/// `consume_skb()`: frees `skb` as consumed, not dropped. Out of line with
/// `CONFIG_TRACEPOINTS` (it fires `skb:consume_skb`); without it the C
/// function is an inline `kfree_skb()`, and this is what that calls.
///
/// # Safety
///
/// `skb` must be a valid skb the caller owns; it is freed.
#[inline(always)]
pub(super) unsafe fn consume_skb(skb: *mut bindings::sk_buff) {
    #[cfg(CONFIG_TRACEPOINTS)]
    // SAFETY: A valid, owned skb (caller).
    unsafe {
        bindings::consume_skb(skb)
    }
    #[cfg(not(CONFIG_TRACEPOINTS))]
    // SAFETY: As above.
    unsafe {
        kfree_skb(skb)
    }
}

/// The `headers` struct group of `skb` (`__bindgen_anon_4`: bindgen's
/// union of the anonymous struct and `struct headers`, which have the same
/// layout), whose `__bindgen_anon_4` union holds `mark`.
///
/// # Safety
///
/// `skb` must be a valid skb.
unsafe fn headers(
    skb: *mut bindings::sk_buff,
) -> *mut bindings::sk_buff__bindgen_ty_4__bindgen_ty_1 {
    // CAST: A `__BindgenUnionField<T>` is a zero-sized marker at the start of
    // the union: its address is the address of the `T` member.
    // SAFETY: `skb` is valid (caller).
    unsafe { (&raw mut (*skb).__bindgen_anon_4.__bindgen_anon_1).cast() }
}

/// `skb->protocol = eth_type_trans(skb, dev)`: `eth_type_trans()` sets
/// `skb->dev`, resets the MAC header to `skb->data`, pulls the Ethernet
/// header and classifies the packet; the protocol field sits in a
/// `struct_group()`, written here through [`headers`].
///
/// # Safety
///
/// `skb` must be a valid skb the caller owns, with an Ethernet header in
/// its head at `data`; `dev` must be a valid device.
#[inline(always)]
pub(super) unsafe fn eth_type_trans(skb: *mut bindings::sk_buff, dev: *mut bindings::net_device) {
    // SAFETY: As the caller guarantees.
    let protocol = unsafe { bindings::eth_type_trans(skb, dev) };
    // SAFETY: `skb` is valid and ours (caller); `protocol` is a plain
    // integer of the `headers` group.
    unsafe { (*headers(skb)).protocol = protocol };
}

/// The net_cls classid of socket `sk`, 0 if there is none or `sk` is not a
/// full socket: what `task_get_classid()` (include/net/cls_cgroup.h) reads,
/// with `skb_to_full_sk()` and `sk_fullsock()`.
///
/// A request socket (`TCP_NEW_SYN_RECV`, SYN-ACKs) stands for its listener;
/// a timewait socket (`TCP_TIME_WAIT`, ACKs and RSTs it sends) is a
/// `struct inet_timewait_sock`, much smaller than `struct sock`: only the
/// `struct sock_common` at the start of all three is read before the state
/// says the socket is full.
///
/// # Safety
///
/// `sk` must be NULL or the socket of an skb being transmitted by the
/// caller (valid for the call).
unsafe fn sk_classid(sk: *mut bindings::sock) -> u32 {
    /// The state of any kind of socket (`sock_common` comes first in all).
    ///
    /// # Safety
    ///
    /// `sk` must be a valid socket of any kind.
    unsafe fn state(sk: *const bindings::sock_common) -> u32 {
        // SAFETY: Guaranteed by the caller; READ_ONCE(sk->sk_state).
        u32::from(unsafe { ptr::read_volatile(&raw const (*sk).skc_state) })
    }
    let mut common = sk.cast::<bindings::sock_common>();
    if common.is_null() {
        return 0;
    }
    // SAFETY: `common` is a valid socket of some kind (caller).
    if unsafe { state(common) } == bindings::TCP_NEW_SYN_RECV {
        // SAFETY: A request socket: `skc_listener` (`rsk_listener`, in the
        // `__bindgen_anon_5` union of `sock_common`) is its listener, which
        // the request socket holds.
        common = unsafe { (*common).__bindgen_anon_5.skc_listener }.cast();
        if common.is_null() {
            return 0;
        }
    }
    // SAFETY: `common` is a valid socket of some kind.
    let s = unsafe { state(common) };
    if s == bindings::TCP_TIME_WAIT || s == bindings::TCP_NEW_SYN_RECV {
        return 0;
    }
    #[cfg(CONFIG_CGROUP_NET_CLASSID)]
    {
        // The offset is the C compiler's, not the bindings' (see layout.rs);
        // READ_ONCE as `sock_cgroup_classid()` does.
        // SAFETY: A full socket (`sk_fullsock()`) is a `struct sock`, with a
        // `u32` `sk_cgrp_data.classid` at that offset.
        unsafe {
            let off = bindings::rveth_sock_classid_offset;
            ptr::read_volatile(common.cast::<u8>().add(off).cast::<u32>())
        }
    }
    #[cfg(not(CONFIG_CGROUP_NET_CLASSID))]
    0
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

/// Sets `skb->dev`, `skb->mark` and `skb->priority` of an owned skb (undoing
/// a forward for a retry, see `napi::ForwardedParts`).
pub(super) fn set_dev_mark_priority(
    skb: NonNull<bindings::sk_buff>,
    dev: *mut bindings::net_device,
    mark: u32,
    priority: u32,
) {
    let skb = skb.as_ptr();
    // SAFETY: The caller owns the valid skb; see `SkBuff::forward_to` and
    // `SkBuff::meta` for the field paths.
    unsafe {
        (*skb)
            .__bindgen_anon_1
            .__bindgen_anon_1
            .__bindgen_anon_1
            .dev = dev;
        let h = headers(skb);
        (*h).__bindgen_anon_4.mark = mark;
        (*h).priority = priority;
    }
}

/// An skb scrubbed and retargeted at its receiving device `to`, ready for
/// [`Forwarded::netif_rx`] or [`Forwarded::napi_xmit`], during the
/// `ndo_start_xmit` of the device `from`.
///
/// # Invariants
///
/// `skb` is a valid, owned skb that `__dev_forward_skb` prepared for `to`;
/// `from` is the sending device, valid for `'a` (the transmit call), a
/// registered device of a driver of this layer, so its per-CPU tstats
/// exist (the adapters force `NETDEV_PCPU_STAT_TSTATS`); `len` is the skb's
/// length before the forward; `mark`/`priority` are the skb's values before
/// the forward.
pub(crate) struct Forwarded<'a, P> {
    skb: NonNull<bindings::sk_buff>,
    to: &'a Device<P>,
    from: *mut bindings::net_device,
    len: u32,
    mark: u32,
    priority: u32,
}

impl<'a, P> Forwarded<'a, P> {
    /// Whether the crossing went between namespaces (so the scrubbing
    /// cleared the mark; the priority is always cleared).
    ///
    /// Read when asked, not before the forward, so that a packet without
    /// metadata keeps no such state live across it. The answer is the one
    /// `__dev_forward_skb` acted on, as neither namespace changes during
    /// this BH-disabled transmit. `__dev_change_net_namespace()` closes
    /// the device and waits a grace period before it sets the new
    /// namespace, and a grace period only waits for sections that began
    /// before it: the forward to `to` succeeded, so `to` was up
    /// (`__is_skb_forwardable()`) and this section began before the
    /// close's grace period; `from`'s transmit paths check that it is up
    /// or running within their BH-disabled section (pktgen checks outside
    /// it, and is held off only by its unregister wait). A mismatch would
    /// only misreport the mark scrub (the counters and a mark restored on
    /// a full ring), as reading before the forward could.
    pub(crate) fn crossed_netns(&self) -> bool {
        // SAFETY: `from` is valid for the transmit call (type invariant).
        let from = unsafe { super::device::dev_net(self.from) };
        !ptr::eq(from, self.to.net().as_raw())
    }

    /// Sets `skb->mark` and `skb->priority`.
    pub(crate) fn set_mark_priority(&mut self, mark: u32, priority: u32) {
        let skb = self.skb.as_ptr();
        // SAFETY: The skb is valid and owned (type invariant); see
        // `SkBuff::meta` for the field paths.
        unsafe {
            let h = headers(skb);
            (*h).__bindgen_anon_4.mark = mark;
            (*h).priority = priority;
        }
    }

    /// The receiving device.
    pub(super) fn to(&self) -> &'a Device<P> {
        self.to
    }

    /// The sending device, valid for `'a`.
    pub(super) fn from(&self) -> *mut bindings::net_device {
        self.from
    }

    /// The skb's queue mapping (`__dev_forward_skb` leaves it as the
    /// sender's transmit set it).
    pub(super) fn queue_mapping(&self) -> u32 {
        // SAFETY: The skb is valid and owned (type invariant).
        u32::from(unsafe { (*self.skb.as_ptr()).queue_mapping })
    }

    /// Gives up the skb's ownership to the returned parts.
    pub(super) fn into_parts(self) -> super::napi::ForwardedParts {
        let parts = super::napi::ForwardedParts {
            skb: self.skb,
            from: self.from,
            mark: self.mark,
            priority: self.priority,
        };
        core::mem::forget(self);
        parts
    }

    /// Queues the skb on this CPU's backlog for the receiving device
    /// (`__netif_rx`, which needs bottom halves disabled: `bh`) and, if the
    /// backlog took it, counts one packet of the skb's length before the
    /// forward as transmitted by the sending device
    /// (`dev_sw_netstats_tx_add`, inline, as `veth_xmit()` counts it). The
    /// backlog may be full (dropped, not counted).
    pub(crate) fn netif_rx(self, bh: &BhDisabled) -> Tx {
        let (skb, from, len) = (self.skb, self.from, self.len);
        core::mem::forget(self);
        // SAFETY: Ownership of the valid skb passes to the stack; BH is
        // disabled (`bh`), as `__netif_rx` requires.
        let ret = unsafe { bindings::__netif_rx(skb.as_ptr()) };
        if ret == bindings::NET_RX_SUCCESS as i32 {
            // SAFETY: `from` is a registered device of this layer, valid
            // for the transmit call (type invariant).
            unsafe { super::device::tstats_tx_add(from, len, bh) };
            Tx::delivered()
        } else {
            Tx::dropped()
        }
    }
}

impl<P> Drop for Forwarded<'_, P> {
    fn drop(&mut self) {
        // SAFETY: The skb is valid and owned (type invariant).
        unsafe { kfree_skb(self.skb.as_ptr()) }
    }
}
