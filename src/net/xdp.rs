// SPDX-License-Identifier: GPL-2.0

//! Native XDP on the NAPI receive queues: veth's XDP mode.
//!
//! A program is attached to a device with `ndo_bpf` (`XDP_SETUP_PROG`,
//! [`Device::xdp_setup_prog`]); the layer keeps the reference the core
//! moves in, publishes the program to every receive queue (an RCU pointer
//! per queue, `rq->xdp_prog` in veth) and turns NAPI on for the queues in
//! use while the device runs. The queue's poll then runs the program on
//! each ring entry ([`NapiPoll::xdp_run`]): skbs from the peer's transmit
//! are turned into an `xdp_buff` (copied into page-pool pages when their
//! head cannot be handed over, as `veth_convert_skb_to_xdp_buff()` does),
//! frames redirected into the peer or sent back by its program are run as
//! they are. The verdict is carried out here, never by the driver:
//! `XDP_PASS` hands back an skb for GRO, `XDP_TX` queues the frame for the
//! peer (bulked, sent when the poll ends), `XDP_REDIRECT` goes through
//! `xdp_do_redirect()` with the flush at the end of the poll, anything else
//! drops (traced as an exception, and warned about if it is not a valid
//! action), all counted per queue with veth's names.
//!
//! What the safe API guarantees, whatever a driver writes:
//! - the program reference is the layer's: taken over only when the attach
//!   succeeds, put after the program is unpublished (the core frees
//!   programs after an RCU grace period, so a poll still running the old
//!   one in its BH-disabled section is safe);
//! - `xdp_do_redirect()` only runs right after the program run whose
//!   verdict it carries out (its per-CPU target is only valid then), and
//!   the redirect and `XDP_TX` flushes always happen before the poll
//!   returns ([`NapiPoll::complete`] is the only way to end a poll);
//! - the program and the buffer it runs on never outlive the poll (the
//!   program reference and the verdict's work carry the poll's lifetime);
//!   ring entries the driver takes ([`RxItem`]) are owned values that free
//!   themselves the right way when dropped (`kfree_skb`,
//!   `xdp_return_frame`). A driver that hands an entry to GRO without
//!   running the attached program does nothing unsound, but skips the
//!   program: the poll is the driver's, the verdict the layer's.
//!
//! C headers: [`include/net/xdp.h`](srctree/include/net/xdp.h),
//! [`include/linux/filter.h`](srctree/include/linux/filter.h),
//! [`include/linux/bpf.h`](srctree/include/linux/bpf.h).

use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use kernel::{
    prelude::*,
    sync::atomic::{Acquire, Relaxed, Release},
};

use super::{
    bindings,
    device::{features, Device, Features},
    link::ExtAck,
    napi::{NapiPoll, RxItem, RxQueue, RxSkb, FRAME_TAG},
    once::{add_single_writer, atomic_add, read_once},
    percpu, BhDisabled, Rtnl,
};

/// `XDP_TX` frames sent to the peer at once (`VETH_XDP_TX_BULK_SIZE`).
pub(super) const TX_BULK: usize = 16;

/// The per-poll XDP counters, added to the queue's when the poll ends (the
/// `XDP_TX` bulk queue is in [`PollState`](super::napi::PollState), whose
/// fields are written in place: as a field of this type, the
/// uninitialised array was copied into place at every poll).
pub(super) struct PollXdp {
    redirected: u64,
    xdp_drops: u64,
    rx_drops: u64,
    tx: u64,
    tx_err: u64,
}

impl PollXdp {
    pub(super) const fn new() -> Self {
        Self {
            redirected: 0,
            xdp_drops: 0,
            rx_drops: 0,
            tx: 0,
            tx_err: 0,
        }
    }
}

/// An XDP frame taken from a receive queue's ring; returned to its memory
/// (`xdp_return_frame`) if dropped.
///
/// # Invariants
///
/// `self.0` is a valid frame owned by this value.
pub(crate) struct RxFrame(NonNull<bindings::xdp_frame>);

impl RxFrame {
    /// # Safety
    ///
    /// `f` must be a valid frame whose ownership passes to the new value.
    pub(super) unsafe fn from_raw(f: NonNull<bindings::xdp_frame>) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self(f)
    }

    /// Bytes of the frame, fragments included (`xdp_get_frame_len`).
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: Valid (type invariant).
        unsafe { frame_len(self.0.as_ptr()) }
    }

    fn into_raw(self) -> *mut bindings::xdp_frame {
        let f = self.0.as_ptr();
        core::mem::forget(self);
        f
    }
}

/// `xdp_get_frame_len()`: the head's length read here, in Rust (a call
/// fewer per frame in the poll's byte count); the fragments' total, in the
/// shared info at the end of the frame's buffer, only for a frame that has
/// fragments, through the C inline.
///
/// # Safety
///
/// `f` must be a valid frame.
#[inline(always)]
unsafe fn frame_len(f: *const bindings::xdp_frame) -> u32 {
    // SAFETY: A valid frame (caller): `len` and `flags` are plain fields,
    // which nobody changes while the caller holds the frame.
    let (len, flags) = unsafe { ((*f).len, (*f).flags) };
    if flags & bindings::xdp_buff_flags_XDP_FLAGS_HAS_FRAGS == 0 {
        return len;
    }
    // SAFETY: A valid frame (caller).
    unsafe { bindings::rveth_xdp_get_frame_len(f) }
}

impl Drop for RxFrame {
    fn drop(&mut self) {
        // SAFETY: Valid and owned (type invariant).
        unsafe { bindings::xdp_return_frame(self.0.as_ptr()) }
    }
}

/// The XDP program of a receive queue, borrowed for one poll.
///
/// # Invariants
///
/// `self.0` is a valid XDP program that stays valid for `'a` (it was
/// published to the queue when read in the poll's RCU read section, and is
/// freed only after a grace period once unpublished).
#[derive(Clone, Copy)]
pub(crate) struct XdpProgRef<'a>(NonNull<bindings::bpf_prog>, super::napi::Invariant<'a>);

impl XdpProgRef<'_> {
    fn raw(self) -> *mut bindings::bpf_prog {
        self.0.as_ptr()
    }
}

/// `struct veth_xdp_buff`: the buffer a program runs on, followed by the
/// skb it came from (NULL for a frame), where the metadata kfuncs look.
#[repr(C)]
struct XdpCtx {
    xdp: bindings::xdp_buff,
    skb: *mut bindings::sk_buff,
}

// The metadata kfuncs' ops find the skb from the `xdp_buff` pointer.
const _: () = assert!(core::mem::offset_of!(XdpCtx, xdp) == 0);

impl XdpCtx {
    fn new(skb: *mut bindings::sk_buff) -> Self {
        Self {
            // SAFETY: All-zero is a valid `xdp_buff` (the helpers fill it).
            xdp: unsafe { core::mem::zeroed() },
            skb,
        }
    }

    /// A context over `frame` (no skb: the metadata kfuncs find none), with
    /// `rxq` carrying the frame's memory type (a fragment the program frees
    /// is returned as such), and the verdict of `prog` run on it: one call
    /// (`rveth_xdp_run_frame`). The layer runs a
    /// program in two ways, this one (frames) and `rveth_xdp_run_skb`
    /// (skbs), both over a pointer to a whole `XdpCtx`, so that every
    /// `xdp_md` a program of a device with [`METADATA_OPS`] gets is an
    /// `XdpCtx` (the pointer covers the whole context, not only its
    /// `xdp_buff`).
    ///
    /// # Safety
    ///
    /// `frame` must be a valid frame the caller owns, `rxq` the registered
    /// rxq info of the running poll's queue (only that poll uses it, and it
    /// stays valid for the poll), and BH disabled
    /// (the RCU protection map lookups need).
    #[inline(always)]
    unsafe fn run_frame(
        prog: XdpProgRef<'_>,
        frame: *mut bindings::xdp_frame,
        rxq: *mut bindings::xdp_rxq_info,
    ) -> (Self, u32) {
        let mut ctx = Self::new(ptr::null_mut());
        let xdp = ptr::from_mut(&mut ctx).cast::<bindings::xdp_buff>();
        // SAFETY: A valid program (type invariant of `XdpProgRef`) on a
        // buffer the helper sets up over the caller's frame, with BH
        // disabled (caller); the context's skb is NULL.
        let act = unsafe { bindings::rveth_xdp_run_frame(prog.raw(), frame, xdp, rxq) };
        (ctx, act)
    }
}

/// The driver side of the XDP metadata kfuncs (`veth_xdp_metadata_ops`):
/// `bpf_xdp_metadata_rx_timestamp`, `_rx_hash` and `_rx_vlan_tag` in a
/// program bound to the device report what the skb the program runs on
/// carries; a frame (no skb) has none of it (`ENODATA`).
///
/// Why the `xdp_md` these get is always the `xdp_buff` of an [`XdpCtx`]
/// (checked against 7.3.4; older kernels matched any two bound devices):
/// the verifier resolves these kfuncs to a device's ops only for a program
/// bound to that device (`bpf_dev_bound_resolve_kfunc`); such a program
/// is installed nowhere but natively on that very device
/// (`dev_xdp_install` refuses other devices and generic mode, also for
/// link updates; `ndo_bpf` here refuses `XDP_SETUP_PROG_HW`), never in a
/// program array, device map or CPU map (`bpf_prog_map_compatible`), nor
/// run by `BPF_PROG_TEST_RUN`; an extension (`freplace`) program inherits
/// the binding and runs on its target's context. A device with these ops
/// runs native programs only through [`XdpCtx::run_frame`] and
/// `rveth_xdp_run_skb` (from `NapiPoll::xdp_run_skb`), each given a whole
/// [`XdpCtx`].
pub(super) static METADATA_OPS: bindings::xdp_metadata_ops = bindings::xdp_metadata_ops {
    xmo_rx_timestamp: Some(rx_timestamp),
    xmo_rx_hash: Some(rx_hash),
    xmo_rx_vlan_tag: Some(rx_vlan_tag),
};

/// The skb the program runs on, NULL for a frame.
///
/// # Safety
///
/// `ctx` must be the `xdp_buff` of a live [`XdpCtx`] (see [`METADATA_OPS`]).
unsafe fn ctx_skb(ctx: *const bindings::xdp_md) -> *mut bindings::sk_buff {
    // SAFETY: `XdpCtx` is `repr(C)` with the `xdp_buff` first, so `ctx`
    // (caller) points at the whole context.
    unsafe { (*ctx.cast::<XdpCtx>()).skb }
}

/// `xmo_rx_timestamp` (`veth_xdp_rx_timestamp()`): the skb's hardware
/// receive timestamp.
///
/// # Safety
///
/// Called by the core as described at [`METADATA_OPS`], with a writable
/// `timestamp`.
unsafe extern "C" fn rx_timestamp(ctx: *const bindings::xdp_md, timestamp: *mut u64) -> c_int {
    // SAFETY: See `METADATA_OPS`.
    let skb = unsafe { ctx_skb(ctx) };
    if skb.is_null() {
        return ENODATA.to_errno();
    }
    // SAFETY: The skb the program runs on is valid while it runs; the
    // kfunc's out parameter is writable (caller).
    unsafe { *timestamp = bindings::rveth_skb_hwtstamp(skb) };
    0
}

/// `xmo_rx_hash` (`veth_xdp_rx_hash()`): the skb's flow hash (computed if
/// it has none yet), L4 if the hash covers the ports.
///
/// # Safety
///
/// Called by the core as described at [`METADATA_OPS`], with writable
/// `hash` and `rss_type`.
unsafe extern "C" fn rx_hash(
    ctx: *const bindings::xdp_md,
    hash: *mut u32,
    rss_type: *mut bindings::xdp_rss_hash_type,
) -> c_int {
    // SAFETY: See `METADATA_OPS`.
    let skb = unsafe { ctx_skb(ctx) };
    if skb.is_null() {
        return ENODATA.to_errno();
    }
    let mut l4 = false;
    // SAFETY: The skb the program runs on is valid and exclusively the
    // poll's while it runs; the out parameters are writable (caller).
    unsafe {
        *hash = bindings::rveth_skb_get_hash(skb, &mut l4);
        *rss_type = if l4 {
            bindings::xdp_rss_hash_type_XDP_RSS_TYPE_L4_ANY
        } else {
            bindings::xdp_rss_hash_type_XDP_RSS_TYPE_NONE
        };
    }
    0
}

/// `xmo_rx_vlan_tag` (`veth_xdp_rx_vlan_tag()`): the skb's accelerated VLAN
/// tag, `ENODATA` if it has none.
///
/// # Safety
///
/// Called by the core as described at [`METADATA_OPS`], with writable
/// `vlan_proto` and `vlan_tci`.
unsafe extern "C" fn rx_vlan_tag(
    ctx: *const bindings::xdp_md,
    vlan_proto: *mut u16,
    vlan_tci: *mut u16,
) -> c_int {
    // SAFETY: See `METADATA_OPS`.
    let skb = unsafe { ctx_skb(ctx) };
    if skb.is_null() {
        return ENODATA.to_errno();
    }
    // SAFETY: The skb the program runs on is valid while it runs; the out
    // parameters are writable (caller).
    unsafe { bindings::rveth_skb_vlan_tag(skb, vlan_proto, vlan_tci) }
}

/// veth's XDP actions (`enum xdp_action`).
const XDP_ABORTED: u32 = bindings::xdp_action_XDP_ABORTED;
const XDP_DROP: u32 = bindings::xdp_action_XDP_DROP;
const XDP_PASS: u32 = bindings::xdp_action_XDP_PASS;
const XDP_TX: u32 = bindings::xdp_action_XDP_TX;
const XDP_REDIRECT: u32 = bindings::xdp_action_XDP_REDIRECT;

impl<'a, P> NapiPoll<'a, P> {
    /// The XDP program attached to the queue's device, if any
    /// (`rcu_dereference(rq->xdp_prog)`), as read after the entry
    /// [`NapiPoll::next`] last returned was taken from the ring (as veth
    /// reads it, once per entry after taking it). The program stays valid
    /// until the poll's RCU read section ends.
    pub(crate) fn xdp_prog(&self) -> Option<XdpProgRef<'a>> {
        // INVARIANT: Read in this poll's RCU read section (BH disabled for
        // `'a`); published with release order after the program was set up.
        NonNull::new(self.st.prog).map(|p| XdpProgRef(p, PhantomData))
    }

    /// Turns a frame into an skb of this device (`xdp_build_skb_from_frame`)
    /// for [`NapiPoll::gro_receive`]; `None` (counted in `drops`) if no skb
    /// could be allocated.
    pub(crate) fn frame_to_skb(&mut self, f: RxFrame) -> Option<RxSkb> {
        let f = f.into_raw();
        // SAFETY: A valid frame we own; on success the skb owns its memory.
        let skb = unsafe { bindings::xdp_build_skb_from_frame(f, self.dev.as_raw()) };
        match NonNull::new(skb) {
            // INVARIANT: A new skb of this device, ready for the stack.
            Some(skb) => Some(RxSkb(skb)),
            None => {
                // SAFETY: Still ours: the build failed.
                unsafe { bindings::xdp_return_frame(f) };
                self.st.xdp.rx_drops += 1;
                None
            }
        }
    }

    /// Runs `prog` on `item` and carries out the verdict
    /// (`veth_xdp_rcv_skb()`, `veth_xdp_rcv_one()`): returns the skb to
    /// hand to GRO for `XDP_PASS`, `None` for everything else.
    pub(crate) fn xdp_run(&mut self, item: RxItem, prog: XdpProgRef<'a>) -> Option<RxSkb> {
        match item {
            RxItem::Skb(skb) => self.xdp_run_skb(skb, prog),
            RxItem::Frame(f) => self.xdp_run_frame(f, prog),
        }
    }

    fn rxq(&self) -> *mut bindings::xdp_rxq_info {
        self.q.xdp_rxq.get()
    }

    fn xdp_run_skb(&mut self, skb: RxSkb, prog: XdpProgRef<'a>) -> Option<RxSkb> {
        let mut ctx = XdpCtx::new(skb.into_raw());
        // Set before the queue went ON and cleared after it went OFF, never
        // while its poll runs: a plain load (no helper call).
        let pool = read_once(&self.q.page_pool);
        let mut act = 0u32;
        let ctxp = ptr::from_mut(&mut ctx);
        // Orphaned unless a local socket's, pushed back to its Ethernet
        // header (the program sees the frame from there), its head copied
        // into a page of the queue's pool if it cannot be handed to XDP as
        // is (`ctx.skb` is then the copy, the original freed), the buffer
        // set up over the head and the program run: one call (C helper).
        // The buffer is the `XdpCtx`'s (at offset 0), so the metadata
        // kfuncs find the skb the helper leaves in `ctx.skb`.
        // `ctx.skb` is an owned, valid skb whose Ethernet header
        // `eth_type_trans` pulled (still in the head); the queue is ON: its
        // pool exists and its rxq info is registered; `prog` is valid (type
        // invariant of `XdpProgRef`); a NAPI poll (BH disabled).
        // SAFETY: As just said.
        let r = unsafe {
            bindings::rveth_xdp_run_skb(
                &raw mut (*ctxp).skb,
                pool,
                ctxp.cast(),
                self.rxq(),
                prog.raw(),
                &mut act,
            )
        };
        let raw = ctx.skb;
        if r != 0 {
            // SAFETY: The copy failed: the original, still ours.
            unsafe { super::skb::consume_skb(raw) };
            self.st.xdp.rx_drops += 1;
            return None;
        }
        // The buffer as the helper set it up before the program ran
        // (`xdp_prepare_buff()` over the linear head, as veth reads it
        // before `bpf_prog_run_xdp()`): the program moves the buffer's
        // pointers, never the skb's.
        // SAFETY: `raw` is ours and valid; `data + headlen` is the head's end.
        let (orig_data, orig_end) = unsafe {
            let data = (*raw).data;
            (data, data.add(((*raw).len - (*raw).data_len) as usize))
        };
        match act {
            XDP_PASS => {}
            XDP_TX | XDP_REDIRECT => {
                // The buffer's pages outlive the skb (`veth_xdp_get`); the
                // memory model is the queue's own again.
                // SAFETY: The buffer is over the skb's head and frags.
                unsafe { bindings::rveth_xdp_get(&mut ctx.xdp) };
                // SAFETY: Ours; its pages are referenced by the buffer now.
                unsafe { super::skb::consume_skb(raw) };
                // SAFETY: The rxq info is the queue's, only this poll uses it.
                unsafe { (*self.rxq()).mem = *self.q.xdp_mem.get() };
                if act == XDP_TX {
                    self.xdp_tx(&mut ctx.xdp, None, prog);
                } else {
                    self.xdp_redirect(&mut ctx.xdp, None, prog);
                }
                return None;
            }
            _ => {
                self.xdp_exception(act, prog);
                // SAFETY: Ours.
                unsafe { super::skb::kfree_skb(raw) };
                return None;
            }
        }
        // XDP_PASS: the skb follows what the program did to the buffer.
        // The program may only move `data` within the headroom and
        // `data_end` within the head (the verifier and the helpers check);
        // the buffer's anonymous union is plain integers, all initialised
        // (`XdpCtx::new` zeroes it, `xdp_init_buff()` sets it). Neither
        // helper leaves less than an Ethernet header (`ETH_HLEN`) in the
        // head, which `eth_type_trans()` pulls.
        // SAFETY: `raw` is ours and the buffer describes its head, as said.
        unsafe {
            let off = orig_data
                .cast::<u8>()
                .offset_from(ctx.xdp.data.cast::<u8>());
            if off > 0 {
                bindings::rveth_skb_push(raw, off as u32);
            } else if off < 0 {
                bindings::rveth_skb_pull(raw, (-off) as u32);
            }
            // veth resets the MAC header to `data` here; nothing below
            // reads it before `eth_type_trans()` resets it there again.
            // Raw place accesses: the C helpers get `raw` in between.
            (*raw).len -= (*raw).data_len;
            // `xdp_buff_has_frags()`, read after the run, as veth does: the
            // program's helpers clear the flag when they drop the last
            // fragment (`bpf_xdp_adjust_tail()`, `bpf_xdp_pull_data()`).
            if ctx.xdp.__bindgen_anon_1.__bindgen_anon_1.flags
                & bindings::xdp_buff_flags_XDP_FLAGS_HAS_FRAGS
                != 0
            {
                (*raw).data_len = bindings::rveth_skb_xdp_frags_size(raw);
                (*raw).len += (*raw).data_len;
            } else {
                (*raw).data_len = 0;
            }
            let off = ctx
                .xdp
                .data_end
                .cast::<u8>()
                .offset_from(orig_end.cast::<u8>());
            if off != 0 {
                let head_len = ctx
                    .xdp
                    .data_end
                    .cast::<u8>()
                    .offset_from(ctx.xdp.data.cast::<u8>());
                bindings::rveth_skb_set_tail_pointer(raw, head_len as c_int);
                (*raw).len = (*raw).len.wrapping_add_signed(off as i32);
            }
            super::skb::eth_type_trans(raw, self.dev.as_raw());
            let meta = ctx
                .xdp
                .data
                .cast::<u8>()
                .offset_from(ctx.xdp.data_meta.cast::<u8>());
            if meta > 0 {
                bindings::rveth_skb_metadata_set(raw, meta as u8);
            }
        }
        // INVARIANT: An owned skb of this device, ready for the stack.
        Some(RxSkb(NonNull::new(raw)?))
    }

    fn xdp_run_frame(&mut self, f: RxFrame, prog: XdpProgRef<'a>) -> Option<RxSkb> {
        let frame = f.into_raw();
        // SAFETY: A valid frame we own; the rxq info is the queue's, only
        // this poll uses it; a NAPI poll runs with BH disabled.
        let (mut ctx, act) = unsafe { XdpCtx::run_frame(prog, frame, self.rxq()) };
        match act {
            XDP_PASS => {
                // SAFETY: The buffer describes the frame's memory.
                if unsafe { bindings::rveth_xdp_update_frame_from_buff(&ctx.xdp, frame) } != 0 {
                    // SAFETY: Ours.
                    unsafe { bindings::xdp_return_frame(frame) };
                    return None;
                }
                // SAFETY: Ours, updated.
                self.frame_to_skb(unsafe { RxFrame::from_raw(NonNull::new_unchecked(frame)) })
            }
            XDP_TX | XDP_REDIRECT => {
                // Converting the buffer back writes a new frame header over
                // this one: keep a copy to return the memory on failure.
                // SAFETY: Valid (ours).
                let orig = unsafe { ptr::read(frame) };
                // The rxq info has the frame's memory type (set with the
                // buffer): it travels with the buffer.
                if act == XDP_TX {
                    self.xdp_tx(&mut ctx.xdp, Some(orig), prog);
                } else {
                    self.xdp_redirect(&mut ctx.xdp, Some(orig), prog);
                }
                None
            }
            _ => {
                self.xdp_exception(act, prog);
                // SAFETY: Ours.
                unsafe { bindings::xdp_return_frame(frame) };
                None
            }
        }
    }

    /// `XDP_DROP`, `XDP_ABORTED` and unknown verdicts: counted in
    /// `xdp_drops`, traced unless `XDP_DROP`, warned about if unknown.
    fn xdp_exception(&mut self, act: u32, prog: XdpProgRef<'a>) {
        if act != XDP_DROP && act != XDP_ABORTED {
            // SAFETY: Valid device and program.
            unsafe { bindings::bpf_warn_invalid_xdp_action(self.dev.as_raw(), prog.raw(), act) };
        }
        if act != XDP_DROP {
            trace_xdp_exception(self.dev, prog, act);
        }
        self.st.xdp.xdp_drops += 1;
    }

    /// Frees what a failed `XDP_TX`/redirect of `xdp` holds: the copied
    /// frame header `orig` of a frame, else the buffer's pages.
    fn xdp_give_back(xdp: &mut bindings::xdp_buff, orig: Option<bindings::xdp_frame>) {
        match orig {
            Some(mut f) => {
                // SAFETY: The copy describes the frame's memory, still ours.
                unsafe { bindings::xdp_return_frame(&mut f) }
            }
            // SAFETY: The buffer's pages are ours (`rveth_xdp_get`).
            None => unsafe { bindings::xdp_return_buff(xdp) },
        }
    }

    /// `veth_xdp_tx()`: the buffer becomes a frame in the bulk queue.
    fn xdp_tx(
        &mut self,
        xdp: &mut bindings::xdp_buff,
        orig: Option<bindings::xdp_frame>,
        prog: XdpProgRef<'a>,
    ) {
        // SAFETY: A buffer whose memory we own, with XDP headroom.
        let frame = unsafe { bindings::rveth_xdp_convert_buff_to_frame(xdp) };
        if frame.is_null() {
            trace_xdp_exception(self.dev, prog, XDP_TX);
            self.st.xdp.rx_drops += 1;
            Self::xdp_give_back(xdp, orig);
            return;
        }
        if self.st.bq_full() {
            self.xdp_flush_bq(false);
        }
        // SAFETY: The frame is ours and passes to the queue, which has room.
        unsafe { self.st.bq_push(frame) };
    }

    /// `xdp_do_redirect()` of the buffer the program just ran on.
    fn xdp_redirect(
        &mut self,
        xdp: &mut bindings::xdp_buff,
        orig: Option<bindings::xdp_frame>,
        prog: XdpProgRef<'a>,
    ) {
        // SAFETY: Called right after the program run whose verdict this is
        // (its per-CPU redirect target is set), in the same NAPI poll; the
        // buffer's memory is ours and passes on success.
        if unsafe { bindings::xdp_do_redirect(self.dev.as_raw(), xdp, prog.raw()) } != 0 {
            self.st.xdp.rx_drops += 1;
            Self::xdp_give_back(xdp, orig);
        } else {
            self.st.xdp.redirected += 1;
        }
    }

    /// `veth_xdp_flush_bq()`: the bulk queue into the peer's ring; what
    /// does not fit is returned and counted in `xdp_tx_errors`. With
    /// `flush`, the peer's NAPI of that ring is scheduled too
    /// (`__veth_xdp_flush()`).
    fn xdp_flush_bq(&mut self, flush: bool) {
        let n = self.st.queued().len();
        if n == 0 {
            return;
        }
        let bh = self.bh;
        let (sent, err) = match xdp_xmit_to_peer(self.dev, self.st.queued(), flush, false, bh) {
            Ok(s) => (s as usize, 0),
            Err(e) => (0, e.to_errno()),
        };
        trace_xdp_bulk_tx(self.dev, sent as c_int, (n - sent) as c_int, err);
        for &f in &self.st.queued()[sent..] {
            // SAFETY: Ours (type invariant of `PollState`), not sent.
            unsafe { bindings::xdp_return_frame(f) };
        }
        self.st.xdp.tx += sent as u64;
        self.st.xdp.tx_err += (n - sent) as u64;
        // Every frame passed on or returned.
        self.st.bq_clear();
    }

    /// What ends every poll (from [`NapiPoll::complete`]): the redirect
    /// flush, the `XDP_TX` frames to the peer with its NAPI scheduled
    /// (`veth_xdp_flush()`), the counters, and the end of
    /// `xdp_set_return_frame_no_direct()`.
    pub(super) fn xdp_finish(&mut self) {
        if self.st.xdp.redirected > 0 {
            // SAFETY: In the NAPI poll that redirected.
            unsafe { bindings::xdp_do_flush() };
        }
        // The bulk queue is never empty after an `XDP_TX` (a full one is
        // sent before the next frame goes in), so the poll's last bulk
        // schedules the ring it went to (the peer's queue for this CPU), in
        // the same look-up as the produce; veth_xdp_flush() looks it up
        // again. As there, an earlier bulk of the poll went to another ring
        // only if `ethtool -L` changed the peer's queues meanwhile.
        if !self.st.queued().is_empty() {
            self.xdp_flush_bq(true);
        }
        // `xdp_clear_return_frame_no_direct()`, through the pointer the
        // first `next()` within the budget set it through; a poll that had
        // no budget (0) set nothing.
        if !self.st.ri.is_null() {
            // SAFETY: Not NULL: the task's redirect info, valid for the
            // whole poll (type invariant of `PollState`); only this task
            // uses it.
            unsafe { (*self.st.ri).kern_flags &= !bindings::BPF_RI_F_RF_NO_DIRECT };
        }
        let q = self.q;
        let x = &self.st.xdp;
        for (c, v) in [
            (&q.xdp_redirect, x.redirected),
            (&q.xdp_drops, x.xdp_drops),
            (&q.drops, x.rx_drops),
            (&q.xdp_tx, x.tx),
            (&q.xdp_tx_err, x.tx_err),
        ] {
            if v != 0 {
                // Only this poll writes them (`RxQueue`'s invariants).
                add_single_writer(c, v);
            }
        }
    }
}

/// `trace_xdp_exception()`. Without `CONFIG_TRACEPOINTS` the tracepoint is
/// an empty inline, and nothing is called; with it, the C helper (the
/// static-key test of a tracepoint is inline C).
#[inline(always)]
fn trace_xdp_exception<P>(dev: &Device<P>, prog: XdpProgRef<'_>, act: u32) {
    #[cfg(CONFIG_TRACEPOINTS)]
    // SAFETY: A valid device and program.
    unsafe {
        bindings::rveth_trace_xdp_exception(dev.as_raw(), prog.raw(), act)
    };
    #[cfg(not(CONFIG_TRACEPOINTS))]
    let _ = (dev, prog, act);
}

/// `trace_xdp_bulk_tx()`, as [`trace_xdp_exception`]: called after every
/// `XDP_TX` bulk, which is once per poll under a steady flow.
#[inline(always)]
fn trace_xdp_bulk_tx<P>(dev: &Device<P>, sent: c_int, drops: c_int, err: c_int) {
    #[cfg(CONFIG_TRACEPOINTS)]
    // SAFETY: A valid device; counts only.
    unsafe {
        bindings::rveth_trace_xdp_bulk_tx(dev.as_raw(), sent, drops, err)
    };
    #[cfg(not(CONFIG_TRACEPOINTS))]
    let _ = (dev, sent, drops, err);
}

/// `veth_select_rxq()`: the receive queue frames from this CPU go to.
#[inline(always)]
fn select_rxq<P>(dev: &Device<P>, bh: &BhDisabled) -> u32 {
    percpu::this_cpu_id(bh) % dev.queues().rx.max(1)
}

/// `veth_xdp_xmit()`: puts `frames` into the ring of `dev`'s peer's receive
/// queue for this CPU, while that queue is on, up to the first that is too
/// long for the peer or does not fit; schedules its NAPI if `flush`.
/// Returns how many it took (the caller keeps the rest), `ENXIO` if there
/// is no such queue. With `ndo`, the queue counts them as `xdp_xmit` and
/// the rest as `xdp_xmit_err`; and with `ndo`, while that queue is off and
/// has no program, frames go to the peer's stack instead
/// ([`xdp_xmit_to_stack`]) if the driver asks for it.
///
/// Inline: into the `ndo_xdp_xmit` adapter, which the core calls for every
/// redirect bulk, it saves a call and its return per bulk.
#[inline(always)]
fn xdp_xmit_to_peer<P>(
    dev: &Device<P>,
    frames: &[*mut bindings::xdp_frame],
    flush: bool,
    ndo: bool,
    bh: &BhDisabled,
) -> Result<u32> {
    let rcv = dev.peer_bh(bh).ok_or(ENXIO)?;
    let idx = select_rxq(rcv, bh);
    let max_len = rcv.mtu() + rcv.hard_header_len() + bindings::VLAN_HLEN;
    let Some(q) = rcv.published_queue(idx, bh) else {
        // Not while `rcv` has a program: its queue is off only for a
        // moment then (the program is on every queue before NAPI goes on
        // and leaves them before it goes off, and `ethtool -L` may have
        // moved the queues in use), and the frames must not go around the
        // program.
        let q = rcv.rx_queue(idx).ok_or(ENXIO)?;
        // Acquire: pairs with the release that publishes the program.
        return if ndo && dev.rx_queues().xmit_to_stack && q.xdp_prog.load(Acquire).is_null() {
            xdp_xmit_to_stack(dev, rcv, q, frames, max_len, bh)
        } else {
            Err(ENXIO)
        };
    };
    // `veth_xdp_xmit()`'s loop: the frames go into the ring, each tagged
    // with [`FRAME_TAG`], under one hold of the producer lock, up to the
    // first that is longer than `max_len` or does not fit.
    let entries = frames.iter().map_while(|&f| {
        // SAFETY: The caller's frames are valid.
        (unsafe { frame_len(f) } <= max_len).then(|| {
            // SAFETY: A frame pointer is not NULL; tagged, still not.
            unsafe { NonNull::new_unchecked(f.cast::<u8>().wrapping_add(FRAME_TAG).cast()) }
        })
    });
    // The queue is published: its ring is initialised until a grace period
    // after unpublishing, which `bh` holds off. The entries are the
    // caller's frames, tagged with `FRAME_TAG`, what the poll takes them
    // for; the ring owns the ones it took (the first `n`), the rest are
    // still the caller's.
    // SAFETY: As just said.
    let n = unsafe { q.ring().produce_many(entries, bh) };
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    if flush {
        // SAFETY: Read as published in this BH-disabled section.
        unsafe { q.flush() };
    }
    if ndo && n != 0 {
        // Other CPUs add to the counter too: atomically.
        atomic_add(&q.xdp_xmit, u64::from(n));
    }
    if ndo {
        let refused = (frames.len() as u64).saturating_sub(u64::from(n));
        if refused != 0 {
            q.xdp_xmit_err.fetch_add(refused, Relaxed);
        }
    }
    Ok(n)
}

/// `frames` redirected into `dev` while its peer `rcv`'s receive queue
/// `q` has NAPI off and no XDP program
/// ([`Driver::XDP_XMIT_TO_STACK`]): each becomes an skb of `rcv` handed to
/// the stack (`netif_rx()`), up to the first that is longer than `max_len`
/// or for which no skb could be allocated. Counted as veth's path without
/// NAPI counts a transmit: delivered ones in `dev`'s tstats (so `rcv`'s
/// received packets), refused ones in `dev`'s XDP transmit drops (the core
/// counts them in `rcv`'s `rx_dropped` too); and all taken ones in the
/// queue's `xdp_xmit` (`dev`'s `tx_queue_N_xdp_xmit`) and in `dev`'s
/// `xdp_xmit_to_stack`. `ENXIO` while `rcv` is down, as on the ring path.
///
/// [`Driver::XDP_XMIT_TO_STACK`]: super::link::Driver::XDP_XMIT_TO_STACK
fn xdp_xmit_to_stack<P>(
    dev: &Device<P>,
    rcv: &Device<P>,
    q: &RxQueue,
    frames: &[*mut bindings::xdp_frame],
    max_len: u32,
    bh: &BhDisabled,
) -> Result<u32> {
    if !rcv.is_up() {
        return Err(ENXIO);
    }
    let (mut n, mut refused) = (0u32, 0u64);
    for &f in frames {
        // SAFETY: The caller's frames are valid.
        let len = unsafe { frame_len(f) };
        if len > max_len {
            break;
        }
        // The skb takes the frame's memory over on success; on failure (the
        // skb allocation is the only one) the frame stays the caller's.
        // SAFETY: A valid frame; `rcv` is live (read under `bh`).
        let skb = unsafe { bindings::xdp_build_skb_from_frame(f, rcv.as_raw()) };
        if skb.is_null() {
            break;
        }
        // SAFETY: A fresh skb of `rcv`, which `netif_rx` consumes.
        if unsafe { bindings::netif_rx(skb) } == bindings::NET_RX_SUCCESS as c_int {
            dev.tstats_tx_add(len, bh);
        } else {
            refused += 1;
        }
        n += 1;
    }
    if refused != 0 {
        dev.rx_queues_xdp_xmit_dropped(refused);
    }
    q.xdp_xmit.fetch_add(u64::from(n), Relaxed);
    q.xdp_xmit_err
        .fetch_add((frames.len() as u64).saturating_sub(u64::from(n)), Relaxed);
    dev.count_xdp_xmit_to_stack(u64::from(n));
    Ok(n)
}

/// The `ndo_xdp_xmit` of a pair device (`veth_ndo_xdp_xmit()`): frames
/// redirected into `dev` go to its peer's receive queue for this CPU.
/// Returns how many were taken, or an error (then none was, and they are
/// counted in `dev`'s XDP transmit drops).
///
/// # Safety
///
/// `frames` must point to `n` valid frames; called by the core's
/// `ndo_xdp_xmit` paths (devmap and redirect flushes), with BH disabled.
pub(super) unsafe fn ndo_xdp_xmit<P>(
    dev: &Device<P>,
    n: c_int,
    frames: *mut *mut bindings::xdp_frame,
    flags: u32,
) -> c_int {
    let n = usize::try_from(n).unwrap_or(0);
    if flags & !bindings::XDP_XMIT_FLAGS_MASK != 0 {
        // veth counts every refused frame as dropped.
        dev.rx_queues_xdp_xmit_dropped(n as u64);
        return EINVAL.to_errno();
    }
    if n == 0 {
        return 0;
    }
    // SAFETY: `n` valid frame pointers (caller).
    let frames = unsafe { core::slice::from_raw_parts(frames, n) };
    // SAFETY: The callers disable BH (caller).
    let bh = unsafe { BhDisabled::assume() };
    match xdp_xmit_to_peer(dev, frames, flags & bindings::XDP_XMIT_FLUSH != 0, true, bh) {
        Ok(sent) => sent as c_int,
        Err(e) => {
            dev.rx_queues_xdp_xmit_dropped(n as u64);
            e.to_errno()
        }
    }
}

/// An XDP program being attached, as the core hands it to `ndo_bpf`.
///
/// # Invariants
///
/// `self.0` is a valid XDP program.
#[derive(Clone, Copy)]
struct NewProg(NonNull<bindings::bpf_prog>);

impl NewProg {
    /// Whether the program handles multi-buffer frames (`xdp.frags`).
    fn has_frags(self) -> bool {
        // SAFETY: A valid program (type invariant) has its `aux`.
        unsafe { (*(*self.0.as_ptr()).aux).xdp_has_frags }
    }
}

impl<P> Device<P> {
    /// The MTU (changed under RTNL; READ_ONCE for the data path).
    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: `as_raw()` is valid; a word-sized field.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).mtu) }
    }

    /// The link-layer header length (`hard_header_len`, fixed by `setup`).
    fn hard_header_len(&self) -> u32 {
        // SAFETY: `as_raw()` is valid.
        u32::from(unsafe { (*self.as_raw()).hard_header_len })
    }

    /// Adds `f` to the features the user may turn on (`hw_features`).
    fn hw_features_add(&self, f: Features, _rtnl: &Rtnl) {
        // SAFETY: `as_raw()` is valid; `hw_features` changes under RTNL.
        unsafe { (*self.as_raw()).hw_features |= f.raw() };
    }

    /// Takes `f` from the features the user may turn on.
    fn hw_features_remove(&self, f: Features, _rtnl: &Rtnl) {
        // SAFETY: As above.
        unsafe { (*self.as_raw()).hw_features &= !f.raw() };
    }

    /// Sets the largest MTU the device accepts (`max_mtu`).
    fn set_max_mtu(&self, mtu: u32, _rtnl: &Rtnl) {
        // SAFETY: `as_raw()` is valid; `max_mtu` is read under RTNL.
        unsafe { (*self.as_raw()).max_mtu = mtu };
    }

    /// `netdev_update_features()`: recomputes the active features (our
    /// `ndo_fix_features` drops software GSO towards a peer with XDP).
    fn update_features(&self, _rtnl: &Rtnl) {
        // SAFETY: A registered device; RTNL held.
        unsafe { bindings::netdev_update_features(self.as_raw()) };
    }

    /// The XDP program attached to this device (veth's `_xdp_prog`).
    pub(crate) fn has_xdp_prog(&self, _rtnl: &Rtnl) -> bool {
        !self.rx_queues().xdp_prog.load(Relaxed).is_null()
    }

    /// `veth_xdp_set()`: attaches `prog` (`None` detaches), the reference
    /// the core moved in taken over on success only.
    ///
    /// Attaching needs the peer (`ENOTCONN`), the peer's MTU within what a
    /// page holds after XDP's headroom and the shared info, plus
    /// `MAX_SKB_FRAGS` pages for an `xdp.frags` program (`ERANGE`), and at
    /// least as many receive queues in use as the peer's transmit queues
    /// (`ENOSPC`), each refused with veth's extack message. While the
    /// device runs, NAPI goes on for the queues in use. The peer loses its
    /// software GSO (its skbs must fit a page) and its maximum MTU becomes
    /// that limit; it gets `NDO_XMIT` in its XDP features (a redirect
    /// target). Detaching undoes all of it (NAPI stays on if GRO is).
    ///
    /// # Safety
    ///
    /// `prog` must be NULL or a valid XDP program with a reference the
    /// caller passes on success (the core's `dev_xdp_install()`).
    pub(super) unsafe fn xdp_setup_prog(
        &self,
        prog: *mut bindings::bpf_prog,
        extack: &ExtAck,
        rtnl: &Rtnl,
    ) -> Result {
        let rq = self.rx_queues();
        let old = rq.xdp_prog.load(Relaxed);
        let peer = self.peer_rtnl(rtnl);
        // INVARIANT: Valid (caller).
        let new = NonNull::new(prog).map(NewProg);
        let mut max_mtu = 0;
        if let Some(new) = new {
            let Some(peer) = peer else {
                extack.set_msg(c"rveth: Cannot set XDP when peer is detached");
                return Err(ENOTCONN);
            };
            max_mtu = bindings::XDP_MAX_LINEAR.saturating_sub(peer.hard_header_len());
            if new.has_frags() {
                max_mtu += bindings::XDP_FRAGS_EXTRA;
            }
            if peer.mtu() > max_mtu {
                extack.set_msg(c"rveth: Peer MTU is too large to set XDP");
                return Err(ERANGE);
            }
            if self.queues().rx < peer.queues().tx {
                extack.set_msg(
                    c"rveth: XDP expects number of rx queues not less than peer tx queues",
                );
                return Err(ENOSPC);
            }
            // The program is on the queues before NAPI is, so that the
            // first packet in a ring meets it (`__veth_napi_enable_range()`).
            // Release: pairs with the poll's address-dependent read
            // (`NapiPoll::next`) and the acquire in `xdp_xmit_to_peer`.
            for q in rq.as_slice() {
                q.xdp_prog.store(new.0.as_ptr(), Release);
            }
            if self.is_running() && !self.napi_mode(rtnl) {
                if let Err(e) = self.napi_enable_range(0..self.queues().rx, rtnl) {
                    // The old program (still attached, its reference ours)
                    // goes back; the new one was never run.
                    for q in rq.as_slice() {
                        q.xdp_prog.store(old, Release);
                    }
                    extack.set_msg(c"rveth: Setup for XDP failed");
                    return Err(e);
                }
            }
        }
        // From here on nothing fails: the reference is ours.
        let new_raw = new.map_or(ptr::null_mut(), |p| p.0.as_ptr());
        rq.xdp_prog.store(new_raw, Relaxed);
        for q in rq.as_slice() {
            // Publishes the program (or its absence); pairs with the poll's
            // address-dependent read and the acquire in `xdp_xmit_to_peer`.
            q.xdp_prog.store(new_raw, Release);
        }
        if let Some(peer) = peer {
            if new.is_some() {
                if old.is_null() {
                    peer.hw_features_remove(features::GSO_SOFTWARE, rtnl);
                }
                peer.set_max_mtu(max_mtu, rtnl);
                peer.xdp_redirect_target(true, rtnl);
            } else if !old.is_null() {
                if !self.gro_requested(rtnl) {
                    peer.xdp_redirect_target(false, rtnl);
                }
                peer.hw_features_add(features::GSO_SOFTWARE, rtnl);
                peer.set_max_mtu(bindings::ETH_MAX_MTU, rtnl);
            }
        }
        if new.is_none()
            && !old.is_null()
            && self.is_running()
            && !(self.gro_requested(rtnl) && self.features().intersects(Features::GRO))
        {
            self.napi_disable_range(0..self.queues().max_rx, rtnl);
        }
        if !old.is_null() {
            // The queues no longer publish it; a poll still running it holds
            // off its freeing (RCU).
            // SAFETY: The reference the layer took over when it was attached.
            unsafe { bindings::bpf_prog_put(old) };
        }
        if old.is_null() != new.is_none() {
            if let Some(peer) = peer {
                peer.update_features(rtnl);
            }
        }
        Ok(())
    }

    /// `veth_set_xdp_features()`: BASIC, REDIRECT and RX_SG while the peer
    /// has no more transmit queues than this device has receive queues in
    /// use, plus NDO_XMIT(_SG) when the peer has a program or GRO; none
    /// otherwise. With [`Driver::XDP_XMIT_TO_STACK`], NDO_XMIT(_SG) whenever
    /// there is a peer.
    ///
    /// [`Driver::XDP_XMIT_TO_STACK`]: super::link::Driver::XDP_XMIT_TO_STACK
    pub(super) fn update_xdp_features(&self, rtnl: &Rtnl) {
        let val = match self.peer_rtnl(rtnl) {
            Some(peer) if peer.queues().tx <= self.queues().rx => {
                let mut v = bindings::netdev_xdp_act_NETDEV_XDP_ACT_BASIC
                    | bindings::netdev_xdp_act_NETDEV_XDP_ACT_REDIRECT
                    | bindings::netdev_xdp_act_NETDEV_XDP_ACT_RX_SG;
                if peer.has_xdp_prog(rtnl)
                    || peer.gro_requested(rtnl)
                    || self.rx_queues().xmit_to_stack
                {
                    v |= bindings::netdev_xdp_act_NETDEV_XDP_ACT_NDO_XMIT
                        | bindings::netdev_xdp_act_NETDEV_XDP_ACT_NDO_XMIT_SG;
                }
                v
            }
            // The skb fallback needs only the peer.
            Some(_) if self.rx_queues().xmit_to_stack => {
                bindings::netdev_xdp_act_NETDEV_XDP_ACT_NDO_XMIT
                    | bindings::netdev_xdp_act_NETDEV_XDP_ACT_NDO_XMIT_SG
            }
            _ => 0,
        };
        // SAFETY: A registered device; RTNL held, the instance lock taken
        // inside.
        unsafe { bindings::xdp_set_features_flag(self.as_raw(), val as bindings::xdp_features_t) };
    }

    /// `xdp_features_set_redirect_target()`/`_clear_`: whether frames may
    /// be redirected into this device (`NDO_XMIT` and `NDO_XMIT_SG`).
    /// With [`Driver::XDP_XMIT_TO_STACK`](super::link::Driver::XDP_XMIT_TO_STACK)
    /// it stays a target.
    pub(super) fn xdp_redirect_target(&self, on: bool, _rtnl: &Rtnl) {
        if !on && self.rx_queues().xmit_to_stack {
            return;
        }
        // SAFETY: A registered device; the instance lock is taken inside.
        unsafe {
            if on {
                bindings::xdp_features_set_redirect_target(self.as_raw(), true)
            } else {
                bindings::xdp_features_clear_redirect_target(self.as_raw())
            }
        }
    }
}

/// `ndo_bpf`: `XDP_SETUP_PROG` only (veth's `veth_xdp()`); `EINVAL` for the
/// rest.
///
/// # Safety
///
/// `bpf` must be the core's valid request for the registered device `dev`,
/// under RTNL.
pub(super) unsafe fn ndo_bpf<P>(
    dev: &Device<P>,
    bpf: *mut bindings::netdev_bpf,
    rtnl: &Rtnl,
) -> Result {
    // SAFETY: Valid request (caller).
    let bpf = unsafe { &mut *bpf };
    if bpf.command != bindings::bpf_netdev_command_XDP_SETUP_PROG {
        return Err(EINVAL);
    }
    // SAFETY: For XDP_SETUP_PROG the union holds `prog` and `extack`.
    let (prog, extack) = unsafe {
        (
            bpf.__bindgen_anon_1.__bindgen_anon_1.prog,
            bpf.__bindgen_anon_1.__bindgen_anon_1.extack,
        )
    };
    // SAFETY: The core's extack, valid during the call (or NULL).
    let extack = unsafe { ExtAck::from_raw(extack) };
    // SAFETY: The core moves a reference in on success (`dev_xdp_install`).
    unsafe { dev.xdp_setup_prog(prog, &extack, rtnl) }
}
