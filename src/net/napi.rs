// SPDX-License-Identifier: GPL-2.0

//! NAPI receive queues of a pair device: veth's GRO mode.
//!
//! Each device has one [`RxQueue`] per allocated receive queue
//! (`num_rx_queues`), allocated by the `ndo_init` adapter and freed by the
//! `priv_destructor` adapter, as `veth_alloc_queues()`/`veth_free_queues()`.
//! A queue is off (no NAPI, no ring) until the layer turns it on with
//! [`Device::napi_enable_range`] (see [`Driver::poll`](super::link::Driver::poll)
//! for when); then it has a `ptr_ring` (256 entries by default) of
//! skbs and an enabled NAPI instance, and it is *published*: the peer's
//! transmit path may put skbs into its ring ([`Forwarded::napi_xmit`]).
//! [`Device::napi_disable_range`] unpublishes it, disables and deletes the
//! NAPI, waits for a grace period and frees every skb left in the ring.
//!
//! What the safe API guarantees, whatever a driver writes:
//! - enabling and disabling happen only under RTNL ([`Rtnl`]), on queue
//!   states the layer tracks: enabling an enabled queue or disabling a
//!   disabled one does nothing; a queue index beyond the allocated queues
//!   is ignored;
//! - an skb reaches a ring only through [`Forwarded::napi_xmit`], and only
//!   through a [`NapiTarget`]: a queue read published in the current
//!   BH-disabled section (an RCU read section), which cannot outlive it.
//!   `napi_xmit` uses it only if it is a queue of the receiving device, of
//!   the skb's queue mapping, and the sender is that device's peer; a
//!   queue unpublished since is still used until the grace period, after
//!   which turning it off drains the ring;
//! - the ring is consumed and the NAPI completed only in the poll, through
//!   a [`NapiPoll`] the poll adapter creates; [`NapiPoll::complete`]
//!   consumes it, and the driver's poll can only return the [`PollDone`]
//!   it gives;
//! - the backpressure protocol (stop the sender's transmit queue when the
//!   ring is full, wake it after consuming) is the layer's, on both sides,
//!   and cannot lose a wakeup (see [`Forwarded::napi_xmit`]);
//! - a device being destroyed with queues still on (which the layer's
//!   `ndo_stop` prevents) has them torn down, with a warning, before its
//!   queue array is freed.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/ptr_ring.h`](srctree/include/linux/ptr_ring.h),
//! [`include/net/netdev_queues.h`](srctree/include/net/netdev_queues.h).

use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ops::Range;
use core::ptr::{self, NonNull};

use kernel::{
    error::to_result,
    prelude::*,
    sync::atomic::{Atomic, Relaxed, Release},
    types::{NotThreadSafe, Opaque},
};

use super::{
    bindings,
    device::{priv_area, Device},
    link::Tx,
    once::{add_single_writer, read_once, smp_mb, write_once},
    percpu::current_task,
    ring::Ring,
    skb::{Forwarded, SkBuff, ETH_HLEN},
    BhDisabled, Rtnl,
};

/// Entries of a queue's ring by default (`VETH_RING_SIZE`, fixed in veth).
pub(crate) const RING_SIZE: u32 = 256;

/// The largest ring `ethtool -G rx N` may ask for (rveth only: veth has no
/// `ethtool -g`). A ring of N entries is N pointers, allocated when the
/// queue goes on.
pub(crate) const RING_SIZE_MAX: u32 = 4096;

/// A NAPI poll callback (`napi_struct.poll`).
pub(super) type PollFn = unsafe extern "C" fn(*mut bindings::napi_struct, c_int) -> c_int;

/// [`RxQueue::state`]: no NAPI instance, no ring.
const OFF: u32 = 0;
/// [`RxQueue::state`]: ring initialised, no NAPI instance yet (only inside
/// [`Device::napi_enable_range`]).
const RING: u32 = 1;
/// [`RxQueue::state`]: ring initialised, NAPI added and enabled, published.
const ON: u32 = 2;

/// Per-queue counters: what the queue's poll consumed (veth's `xdp_packets`,
/// `xdp_bytes`) and dropped (`rx_drops`), and how often a sender found the
/// ring full (rveth only).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct QueueStats {
    /// Packets taken from the ring by the poll.
    pub(crate) packets: u64,
    /// Their bytes (`skb->len` after `eth_type_trans`, as veth counts).
    pub(crate) bytes: u64,
    /// Packets the queue dropped: an skb XDP could not get a copy of, an
    /// `XDP_TX` or redirect that failed, a frame no skb could be built for
    /// (veth's `rx_drops`).
    pub(crate) drops: u64,
    /// Transmits that found the ring full (rveth only). Then the sender
    /// drops the packet (no qdisc) or stops its queue, re-tries the ring
    /// once and hands the packet back to the qdisc if it is still full.
    pub(crate) ring_full: u64,
    /// Packets freed from the ring when it went off (rveth only: veth frees
    /// them uncounted).
    pub(crate) flushed: u64,
    /// Packets the XDP program redirected (veth's `xdp_redirect`).
    pub(crate) xdp_redirect: u64,
    /// Packets the XDP program dropped or aborted on (`xdp_drops`).
    pub(crate) xdp_drops: u64,
    /// Packets the XDP program sent back (`xdp_tx`).
    pub(crate) xdp_tx: u64,
    /// ... of which the peer's ring could not take (`xdp_tx_errors`).
    pub(crate) xdp_tx_err: u64,
    /// Frames redirected into the peer (its `ndo_xdp_xmit`) this queue took
    /// (veth's `peer_tq_xdp_xmit`, shown as the peer's `tx_queue_N_xdp_xmit`).
    pub(crate) xdp_xmit: u64,
    /// ... and could not take (`peer_tq_xdp_xmit_err`).
    pub(crate) xdp_xmit_err: u64,
}

impl QueueStats {
    /// Adds `o` to `self`.
    pub(crate) fn add(&mut self, o: QueueStats) {
        self.packets = self.packets.wrapping_add(o.packets);
        self.bytes = self.bytes.wrapping_add(o.bytes);
        self.drops = self.drops.wrapping_add(o.drops);
        self.ring_full = self.ring_full.wrapping_add(o.ring_full);
        self.flushed = self.flushed.wrapping_add(o.flushed);
        self.xdp_redirect = self.xdp_redirect.wrapping_add(o.xdp_redirect);
        self.xdp_drops = self.xdp_drops.wrapping_add(o.xdp_drops);
        self.xdp_tx = self.xdp_tx.wrapping_add(o.xdp_tx);
        self.xdp_tx_err = self.xdp_tx_err.wrapping_add(o.xdp_tx_err);
        self.xdp_xmit = self.xdp_xmit.wrapping_add(o.xdp_xmit);
        self.xdp_xmit_err = self.xdp_xmit_err.wrapping_add(o.xdp_xmit_err);
    }
}

/// One receive queue of a device: veth's `struct veth_rq`.
///
/// # Invariants
///
/// - `napi` is the first field: the poll adapter finds the queue from the
///   `napi_struct` pointer NAPI passes it.
/// - `dev` is the device whose private area holds the queue array.
/// - `state` is [`OFF`]: `napi` is not on the device's NAPI list, `ring`
///   holds no allocation, `page_pool` is NULL and `xdp_rxq` is not
///   registered; [`RING`]: `ring` is initialised (with the device's ring
///   size at the time) and empty, `page_pool` is a pool of `dev`,
///   `xdp_rxq` is registered with `MEM_TYPE_PAGE_SHARED` (saved in
///   `xdp_mem`), `napi` is not on the list; [`ON`]: as [`RING`], and the
///   ring holds only entries owned by it (skbs, and XDP frames tagged with
///   [`FRAME_TAG`]), `napi` was added to `dev` with the driver's poll
///   adapter and enabled. `state`, and with it `page_pool`, changes
///   only under RTNL (or in the `priv_destructor`, when nothing else can
///   reach the queue).
/// - `published` is NULL or the queue's own address, and not NULL only
///   while `state` is [`ON`]; it is set with release order after the ring
///   and the NAPI instance were set up, and cleared, then a grace period
///   (`synchronize_net`) passes, before the ring is cleaned up: whoever
///   read it as not NULL in an RCU read section (bottom halves disabled)
///   may use the queue through the pointer read until that section ends.
/// - `xdp_prog` is NULL or the program the device's [`RxQueues`] holds a
///   reference to, or held one to when the reader's RCU read section
///   began (programs are freed after a grace period).
/// - `notify_masked` is set only by whoever scheduled the NAPI and cleared
///   only by its poll after completing ([`RxQueue::flush`]), or by
///   [`RxQueue::finish_off`] once nothing can schedule it any more.
/// - A producer reaches the queue through `published` (an address
///   dependency); what the poll uses (ring, `xdp_rxq`, `page_pool`) was
///   set up before the release that published it, and the poll runs only
///   after `napi_schedule_prep()` claimed the instance, a fully ordered
///   atomic operation that the producer made after its own load.
/// - `packets`/`bytes`, the XDP counters `xdp_redirect`, `xdp_drops`,
///   `xdp_tx`, `xdp_tx_err` and `drops` are written only by the queue's
///   poll (NAPI runs one poll of an instance at a time), so a load and a
///   store add to them; `flushed` only by [`RxQueue::finish_off`] (under
///   RTNL, or in the destructor when nothing else reaches the queue);
///   `ring_full`, `xdp_xmit` and `xdp_xmit_err` by any producer,
///   atomically.
#[repr(C)]
pub(super) struct RxQueue {
    napi: Opaque<bindings::napi_struct>,
    ring: Ring,
    dev: *mut bindings::net_device,
    index: u32,
    published: Atomic<*mut RxQueue>,
    state: Atomic<u32>,
    notify_masked: Atomic<bool>,
    pub(super) xdp_prog: Atomic<*mut bindings::bpf_prog>,
    pub(super) page_pool: Atomic<*mut bindings::page_pool>,
    pub(super) xdp_rxq: Opaque<bindings::xdp_rxq_info>,
    pub(super) xdp_mem: Opaque<bindings::xdp_mem_info>,
    packets: Atomic<u64>,
    bytes: Atomic<u64>,
    pub(super) drops: Atomic<u64>,
    ring_full: Atomic<u64>,
    flushed: Atomic<u64>,
    pub(super) xdp_redirect: Atomic<u64>,
    pub(super) xdp_drops: Atomic<u64>,
    pub(super) xdp_tx: Atomic<u64>,
    pub(super) xdp_tx_err: Atomic<u64>,
    pub(super) xdp_xmit: Atomic<u64>,
    pub(super) xdp_xmit_err: Atomic<u64>,
}

// The NAPI instance is used through the kernel's thread-safe primitives
// (napi_* state bits, one poll at a time); the ring under the rules of
// `super::ring` (the producer lock, the single consumer that NAPI
// guarantees); the rest are atomics and fields fixed at allocation.
// SAFETY: As just said.
unsafe impl Sync for RxQueue {}
// SAFETY: See `Sync`.
unsafe impl Send for RxQueue {}

impl RxQueue {
    fn new(dev: *mut bindings::net_device, index: u32) -> Self {
        // INVARIANT: OFF, unpublished, not on any list; `dev` is the device
        // that allocates the array (caller).
        Self {
            napi: Opaque::zeroed(),
            ring: Ring::zeroed(),
            dev,
            index,
            published: Atomic::new(ptr::null_mut()),
            state: Atomic::new(OFF),
            notify_masked: Atomic::new(false),
            xdp_prog: Atomic::new(ptr::null_mut()),
            page_pool: Atomic::new(ptr::null_mut()),
            xdp_rxq: Opaque::zeroed(),
            xdp_mem: Opaque::zeroed(),
            packets: Atomic::new(0),
            bytes: Atomic::new(0),
            drops: Atomic::new(0),
            ring_full: Atomic::new(0),
            flushed: Atomic::new(0),
            xdp_redirect: Atomic::new(0),
            xdp_drops: Atomic::new(0),
            xdp_tx: Atomic::new(0),
            xdp_tx_err: Atomic::new(0),
            xdp_xmit: Atomic::new(0),
            xdp_xmit_err: Atomic::new(0),
        }
    }

    /// The ring, for producers that read the queue as published.
    pub(super) fn ring(&self) -> &Ring {
        &self.ring
    }

    fn stats(&self) -> QueueStats {
        // `READ_ONCE()`s, inline (`get_stats64` reads every queue's eleven
        // counters, and the core asks for them in every link notification).
        let r = read_once::<u64>;
        QueueStats {
            packets: r(&self.packets),
            bytes: r(&self.bytes),
            drops: r(&self.drops),
            ring_full: r(&self.ring_full),
            flushed: r(&self.flushed),
            xdp_redirect: r(&self.xdp_redirect),
            xdp_drops: r(&self.xdp_drops),
            xdp_tx: r(&self.xdp_tx),
            xdp_tx_err: r(&self.xdp_tx_err),
            xdp_xmit: r(&self.xdp_xmit),
            xdp_xmit_err: r(&self.xdp_xmit_err),
        }
    }

    /// Makes sure the queue's NAPI runs after what the caller put into the
    /// ring (`__veth_xdp_flush()`): schedules it unless a producer did so
    /// already and the poll has not completed since (`notify_masked`, which
    /// spares every packet after the first an atomic operation on the NAPI
    /// state, whose cache line the poll's CPU owns). A disabled instance is
    /// left unscheduled.
    ///
    /// The flag is set only by whoever scheduled the instance and cleared
    /// only by the poll after it completed, followed by a full barrier and
    /// a look at the ring: a producer that wrote the ring, then (after its
    /// own barrier) read the flag set, knows the poll's ring check comes
    /// after its write. This is veth's protocol.
    ///
    /// # Safety
    ///
    /// The queue must be [`ON`], or have been read published (so [`ON`])
    /// in the caller's current RCU read section (bottom halves disabled):
    /// its NAPI instance was added and is not re-added before the grace
    /// period that [`Device::napi_disable_range`] waits for.
    #[inline(always)]
    pub(super) unsafe fn flush(&self) {
        // The ring write before the flag's read; pairs with the barrier
        // after the poll clears it.
        smp_mb();
        // SAFETY: The barrier ran; the rest is the caller's.
        unsafe { self.flush_fenced() };
    }

    /// [`RxQueue::flush`] after its barrier (its only caller since the
    /// ring's producers are Rust: a producer whose ring write was followed
    /// by a full barrier already could call it directly).
    ///
    /// # Safety
    ///
    /// As [`RxQueue::flush`]. Not a soundness condition but the protocol's
    /// (without it a wakeup can be lost): a full barrier must have run
    /// after the caller's last write into the ring.
    #[inline(always)]
    pub(super) unsafe fn flush_fenced(&self) {
        if read_once(&self.notify_masked) {
            return;
        }
        // SAFETY: The NAPI instance was added and is not reinitialised
        // concurrently (caller).
        unsafe { self.schedule_unmasked() };
    }

    /// `napi_schedule_prep()` and, if that claimed the instance, sets
    /// `notify_masked` and `__napi_schedule()`s it.
    ///
    /// # Safety
    ///
    /// As [`RxQueue::flush`].
    #[inline(always)]
    unsafe fn schedule_unmasked(&self) {
        // SAFETY: Added, not reinitialised concurrently (caller); a disabled
        // instance is refused.
        if unsafe { bindings::napi_schedule_prep(self.napi.get()) } {
            write_once(&self.notify_masked, true);
            // SAFETY: `napi_schedule_prep` claimed it for us.
            unsafe { bindings::__napi_schedule(self.napi.get()) };
        }
    }

    /// Tears an [`ON`] queue down up to the grace period: unpublishes it,
    /// disables and deletes its NAPI instance. The caller must then wait for
    /// a grace period and call [`RxQueue::finish_off`].
    ///
    /// # Safety
    ///
    /// RTNL must be held (or nothing else may reach the queue), and the
    /// queue must be [`ON`].
    unsafe fn begin_off(&self) {
        self.published.store(ptr::null_mut(), Relaxed);
        // Disabling waits for a running poll and keeps the instance from
        // being scheduled again; then it is deleted, both under one hold of
        // the instance lock.
        // SAFETY: Added and enabled (state ON, caller); the caller waits for
        // a grace period before the memory could go (freed with the device).
        unsafe { bindings::rveth_napi_disable_del(self.napi.get()) };
    }

    /// Frees every skb left in the ring and the ring itself; the queue is
    /// [`OFF`] afterwards.
    ///
    /// # Safety
    ///
    /// RTNL must be held (or nothing else may reach the queue); the queue
    /// must be [`RING`], or [`ON`] after [`RxQueue::begin_off`] and a grace
    /// period since (no producer or poll uses the ring any more).
    unsafe fn finish_off(&self) {
        let mut freed = 0u64;
        // SAFETY: The ring is initialised and unused (caller): this is its
        // only consumer now.
        while let Some(p) = unsafe { self.ring.consume() } {
            // SAFETY: The ring owned the entry (an skb or a tagged frame).
            drop(unsafe { RxItem::from_ring(p) });
            freed += 1;
        }
        self.flushed.fetch_add(freed, Relaxed);
        // SAFETY: Initialised and empty, unused (caller).
        unsafe { self.ring.cleanup() };
        // SAFETY: Registered with RING (type invariant); the saved memory
        // model is put back first (the poll sets the type of each buffer
        // it runs a program on), as veth_disable_xdp_range() does.
        unsafe {
            (*self.xdp_rxq.get()).mem = *self.xdp_mem.get();
            bindings::xdp_rxq_info_unreg(self.xdp_rxq.get());
        }
        // Every page of the pool is back or in flight outside (the pool
        // waits for those): the ring is empty, no poll runs.
        // SAFETY: Created with RING (type invariant), not used any more.
        unsafe { bindings::page_pool_destroy(self.page_pool.load(Relaxed)) };
        self.page_pool.store(ptr::null_mut(), Relaxed);
        self.notify_masked.store(false, Relaxed);
        // INVARIANT: Ring, rxq info and pool freed, NAPI deleted (or never
        // added).
        self.state.store(OFF, Relaxed);
    }

    /// Allocates what an [`OFF`] queue needs to go on: its ring (`size`
    /// entries), its page pool (`veth_create_page_pool()`) and its XDP
    /// receive-queue info with the `MEM_TYPE_PAGE_SHARED` memory model
    /// (`veth_enable_xdp_range()`, done here for every queue that goes on,
    /// whether for XDP or GRO: it allocates nothing). The queue is
    /// [`RING`] afterwards; on failure it stays [`OFF`] with nothing
    /// allocated.
    ///
    /// # Safety
    ///
    /// RTNL must be held; the queue must be [`OFF`].
    unsafe fn alloc_ring(&self, size: c_int) -> Result {
        // SAFETY: OFF: the ring is not initialised.
        unsafe { self.ring.init(size) }?;
        // SAFETY: `dev` is valid (type invariant).
        let pool = unsafe { bindings::rveth_page_pool_create(self.dev, RING_SIZE) };
        if let Err(e) = kernel::error::from_err_ptr(pool) {
            // SAFETY: Initialised above, empty, unused.
            unsafe { self.ring.cleanup() };
            return Err(e);
        }
        // SAFETY: The rxq info is new or unregistered (OFF); `dev` is
        // valid. No NAPI id: 7.3's rxq info does not keep one.
        let r = to_result(unsafe {
            bindings::rveth_xdp_rxq_info_reg(self.xdp_rxq.get(), self.dev, self.index, 0)
        })
        .and_then(|()| {
            // SAFETY: Registered just now; PAGE_SHARED takes no allocator.
            to_result(unsafe {
                bindings::xdp_rxq_info_reg_mem_model(
                    self.xdp_rxq.get(),
                    bindings::xdp_mem_type_MEM_TYPE_PAGE_SHARED,
                    ptr::null_mut(),
                )
            })
            .inspect_err(|_| {
                // SAFETY: Registered just now.
                unsafe { bindings::xdp_rxq_info_unreg(self.xdp_rxq.get()) }
            })
        });
        if let Err(e) = r {
            // SAFETY: Created above, unused.
            unsafe { bindings::page_pool_destroy(pool) };
            // SAFETY: Initialised above, empty, unused.
            unsafe { self.ring.cleanup() };
            return Err(e);
        }
        // SAFETY: Registered: `mem` is what the poll restores.
        unsafe { *self.xdp_mem.get() = (*self.xdp_rxq.get()).mem };
        self.page_pool.store(pool, Relaxed);
        // INVARIANT: Ring initialised and empty, pool created, rxq info
        // registered.
        self.state.store(RING, Relaxed);
        Ok(())
    }
}

/// The receive queue array of a device (veth's `priv->rq`).
///
/// # Invariants
///
/// `ptr` is dangling with `len == cap == 0` (no array), or `ptr`, `len`
/// and `cap` are the raw parts of a `KVVec<RxQueue>` of `len` queues
/// (`into_raw_parts`), never resized, for
/// the device whose private area holds this value. `poll` is the poll
/// adapter of that device's driver, if it has a poll. `ring_size` is in
/// `1..=RING_SIZE_MAX` and changes only under RTNL.
pub(super) struct RxQueues {
    ptr: NonNull<RxQueue>,
    len: usize,
    cap: usize,
    poll: Option<PollFn>,
    ring_size: Atomic<u32>,
    /// The attached XDP program (veth's `_xdp_prog`), holding the reference
    /// the core moved in; written under RTNL only ([`super::xdp`]).
    pub(super) xdp_prog: Atomic<*mut bindings::bpf_prog>,
    /// Frames `ndo_xdp_xmit` could not take (veth counts them in the
    /// device's `dropped`).
    xdp_xmit_dropped: Atomic<u64>,
    /// Whether frames redirected into this device are handed to the
    /// peer's stack as skbs while the peer's receive queue has NAPI off
    /// ([`Driver::XDP_XMIT_TO_STACK`](super::link::Driver::XDP_XMIT_TO_STACK)).
    pub(super) xmit_to_stack: bool,
    /// Frames redirected into this device that went that way.
    xdp_xmit_to_stack: Atomic<u64>,
}

// SAFETY: Shared access only gives `&RxQueue`, which is `Sync`.
unsafe impl Sync for RxQueues {}
// SAFETY: See `Sync`.
unsafe impl Send for RxQueues {}

impl RxQueues {
    /// No queues (before `ndo_init`).
    pub(super) const fn none() -> Self {
        // INVARIANT: Dangling, empty.
        Self {
            ptr: NonNull::dangling(),
            len: 0,
            cap: 0,
            poll: None,
            ring_size: Atomic::new(RING_SIZE),
            xdp_prog: Atomic::new(ptr::null_mut()),
            xdp_xmit_dropped: Atomic::new(0),
            xmit_to_stack: false,
            xdp_xmit_to_stack: Atomic::new(0),
        }
    }

    /// Allocates `n` queues of `dev`, all off.
    pub(super) fn alloc(
        dev: *mut bindings::net_device,
        n: u32,
        poll: Option<PollFn>,
        xmit_to_stack: bool,
    ) -> Result<Self> {
        let mut v = KVVec::with_capacity(n as usize, GFP_KERNEL)?;
        for i in 0..n {
            v.push(RxQueue::new(dev, i), GFP_KERNEL)?;
        }
        let (ptr, len, cap) = v.into_raw_parts();
        // INVARIANT: The raw parts of a vector of queues of `dev`; a
        // vector's pointer is never NULL (dangling without an allocation).
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
            len,
            cap,
            poll,
            ring_size: Atomic::new(RING_SIZE),
            xdp_prog: Atomic::new(ptr::null_mut()),
            xdp_xmit_dropped: Atomic::new(0),
            xmit_to_stack,
            xdp_xmit_to_stack: Atomic::new(0),
        })
    }

    /// The queues.
    pub(super) fn as_slice(&self) -> &[RxQueue] {
        // Without an array `len` is 0 and `ptr` dangling (non-NULL,
        // aligned): a slice of no elements allows that.
        // SAFETY: `len` initialised queues at `ptr` (type invariant), which
        // live until `free` (`&mut self`), or none, as just said.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// Tears down any queue still on (with a warning: `ndo_stop` should have
    /// done it) and frees the array; [`RxQueues::none`] afterwards.
    ///
    /// # Safety
    ///
    /// Nothing else may use the queues any more (the device is being
    /// destroyed: after `ndo_stop`, its NAPI instances cannot run).
    pub(super) unsafe fn free(&mut self) {
        let qs = self.as_slice();
        let mut any = false;
        for q in qs {
            match q.state.load(Relaxed) {
                ON => {
                    kernel::warn_on!(true);
                    // SAFETY: ON; nothing else reaches the queue (caller).
                    unsafe { q.begin_off() };
                    any = true;
                }
                RING => {
                    kernel::warn_on!(true);
                    // SAFETY: RING: the ring is initialised and unused.
                    unsafe { q.finish_off() };
                }
                _ => {}
            }
        }
        if any {
            // SAFETY: Process context (netdev_run_todo or a failed
            // registration).
            unsafe { bindings::synchronize_net() };
            for q in qs {
                if q.state.load(Relaxed) == ON {
                    // SAFETY: `begin_off` and a grace period were done.
                    unsafe { q.finish_off() };
                }
            }
        }
        // The core detaches the program before unregistering
        // (`dev_xdp_uninstall()`); one left means a bug.
        let prog = self.xdp_prog.load(Relaxed);
        if !prog.is_null() {
            kernel::warn_on!(true);
            // SAFETY: The reference the layer holds; the queues are off, no
            // poll runs it.
            unsafe { bindings::bpf_prog_put(prog) };
        }
        if self.cap != 0 {
            // SAFETY: With a capacity, the raw parts of a `KVVec<RxQueue>`
            // (type invariant); the queues are all OFF (no list or ring
            // refers to them).
            drop(unsafe { KVVec::from_raw_parts(self.ptr.as_ptr(), self.len, self.cap) });
        }
        *self = Self::none();
    }
}

impl<P> Device<P> {
    /// The device's receive queues.
    pub(super) fn rx_queues(&self) -> &RxQueues {
        // The queues are set in `ndo_init` and freed only when the device is
        // destroyed.
        // SAFETY: `as_raw()` is a registered device with private data `P`
        // (type invariant of `Device`): its private area is a `PrivArea<P>`.
        unsafe { &(*priv_area::<P>(self.as_raw())).rxq }
    }

    /// Turns NAPI (veth's GRO mode) on for the receive queues in `range`
    /// (`veth_napi_enable_range()`): each gets its ring and an enabled NAPI
    /// instance and is published to the peer's transmit path. Queues that
    /// are on already are left alone, indices beyond the allocated queues
    /// ignored; an empty range does nothing. `ENETDOWN` unless the device
    /// is running; on failure (`ENOMEM`) the queues this call was turning
    /// on are off again; `EOPNOTSUPP` if the driver has no poll.
    pub(super) fn napi_enable_range(&self, range: Range<u32>, _rtnl: &Rtnl) -> Result {
        // Only an open device has NAPI on: `ndo_stop` (and with it
        // unregistration) turns every queue off, and nothing turns one on
        // after it (`__LINK_STATE_START` is set before `ndo_open` and cleared
        // before `ndo_stop`).
        if range.is_empty() {
            return Ok(());
        }
        if !self.is_running() {
            return Err(ENETDOWN);
        }
        let rq = self.rx_queues();
        let Some(poll) = rq.poll else {
            return Err(EOPNOTSUPP);
        };
        let qs = sub(rq.as_slice(), range);
        // In 1..=RING_SIZE_MAX (type invariant): fits a C int.
        let size = rq.ring_size.load(Relaxed) as c_int;
        for q in qs {
            if q.state.load(Relaxed) != OFF {
                continue;
            }
            // SAFETY: The queue is OFF; RTNL is held.
            if let Err(e) = unsafe { q.alloc_ring(size) } {
                for q in qs {
                    if q.state.load(Relaxed) == RING {
                        // SAFETY: RING (set by this call, under RTNL):
                        // initialised and unused.
                        unsafe { q.finish_off() };
                    }
                }
                return Err(e);
            }
        }
        for q in qs {
            if q.state.load(Relaxed) != RING {
                continue;
            }
            // SAFETY: `q.dev` is this registered device; the NAPI instance is
            // not on its list (RING); `poll` is the driver's adapter. Added
            // and enabled under one hold of the instance lock.
            unsafe { bindings::rveth_napi_add_enable(q.dev, q.napi.get(), Some(poll)) };
            // INVARIANT: Ring initialised, NAPI added and enabled; published
            // after, with release order: a producer that reaches the queue
            // through the published pointer sees both.
            q.state.store(ON, Relaxed);
            q.published.store(ptr::from_ref(q).cast_mut(), Release);
        }
        Ok(())
    }

    /// Turns NAPI off for the receive queues in `range`
    /// (`veth_napi_del_range()`): unpublishes them, disables and deletes
    /// their NAPI instances, waits for a grace period (no producer and no
    /// poll uses the rings after it) and frees every skb left in the rings.
    /// Queues that are off are left alone.
    ///
    /// Then wakes the peer's transmit queues of the same indices: a
    /// producer may have stopped one on a full ring, and no poll of these
    /// queues will run to wake it (veth leaves it stopped).
    pub(super) fn napi_disable_range(&self, range: Range<u32>, rtnl: &Rtnl) {
        let qs = sub(self.rx_queues().as_slice(), range);
        let mut any = false;
        for q in qs {
            if q.state.load(Relaxed) == ON {
                // SAFETY: ON; RTNL is held.
                unsafe { q.begin_off() };
                any = true;
            }
        }
        if !any {
            return;
        }
        // SAFETY: RTNL holders may sleep.
        unsafe { bindings::synchronize_net() };
        for q in qs {
            if q.state.load(Relaxed) == ON {
                // SAFETY: `begin_off` and a grace period were done; RTNL is
                // held.
                unsafe { q.finish_off() };
            }
        }
        if let Some(peer) = self.peer_rtnl(rtnl) {
            for q in qs {
                peer.wake_tx_queue(q.index);
            }
        }
    }

    /// Frames `ndo_xdp_xmit` could not put into the peer's rings.
    pub(crate) fn xdp_xmit_dropped(&self) -> u64 {
        self.rx_queues().xdp_xmit_dropped.load(Relaxed)
    }

    pub(super) fn rx_queues_xdp_xmit_dropped(&self, n: u64) {
        self.rx_queues().xdp_xmit_dropped.fetch_add(n, Relaxed);
    }

    /// Frames redirected into this device that its peer took as skbs, its
    /// receive queue having NAPI off
    /// ([`Driver::XDP_XMIT_TO_STACK`](super::link::Driver::XDP_XMIT_TO_STACK)).
    pub(crate) fn xdp_xmit_to_stack(&self) -> u64 {
        self.rx_queues().xdp_xmit_to_stack.load(Relaxed)
    }

    pub(super) fn count_xdp_xmit_to_stack(&self, n: u64) {
        self.rx_queues().xdp_xmit_to_stack.fetch_add(n, Relaxed);
    }

    /// Receive queue `idx` whether or not it is on (for its counters and
    /// its program).
    pub(super) fn rx_queue(&self, idx: u32) -> Option<&RxQueue> {
        self.rx_queues().as_slice().get(idx as usize)
    }

    /// The number of entries each receive queue's ring gets when it goes on.
    pub(crate) fn ring_size(&self) -> u32 {
        self.rx_queues().ring_size.load(Relaxed)
    }

    /// Makes `size` the ring size of every receive queue (`ethtool -G rx`;
    /// `EINVAL` unless in `1..=RING_SIZE_MAX`). Queues that are on are
    /// turned off and on again with the new size: the packets in their
    /// rings are freed (counted as `flushed`), and while they are
    /// off the peer's transmit delivers without NAPI. If the new rings
    /// cannot be allocated the old size is put back (`ENOMEM`); should
    /// even those fail, the queues stay off with a warning in the log
    /// (`ethtool -K gro off` and `on` retries).
    pub(super) fn set_ring_size(&self, size: u32, rtnl: &Rtnl) -> Result {
        if !(1..=RING_SIZE_MAX).contains(&size) {
            return Err(EINVAL);
        }
        let rq = self.rx_queues();
        let old = rq.ring_size.load(Relaxed);
        if old == size {
            return Ok(());
        }
        let on: u32 = rq
            .as_slice()
            .iter()
            .take_while(|q| q.state.load(Relaxed) == ON)
            .count() as u32;
        // INVARIANT: Checked above; RTNL is held.
        rq.ring_size.store(size, Relaxed);
        if on == 0 {
            // Not in NAPI mode: the size applies when queues go on.
            return Ok(());
        }
        self.napi_disable_range(0..on, rtnl);
        if let Err(e) = self.napi_enable_range(0..on, rtnl) {
            rq.ring_size.store(old, Relaxed);
            if self.napi_enable_range(0..on, rtnl).is_err() {
                pr_warn!("rveth: out of memory for the NAPI rings of a device; GRO mode is off\n");
            }
            return Err(e);
        }
        Ok(())
    }

    /// Whether NAPI is on for receive queue 0, which is always in use: the
    /// device is in NAPI mode. The layer keeps the mode when the queue
    /// count changes (its `ethtool -L`).
    pub(super) fn napi_mode(&self, _rtnl: &Rtnl) -> bool {
        self.rx_queues()
            .as_slice()
            .first()
            .is_some_and(|q| q.state.load(Relaxed) == ON)
    }

    /// The receive queue of `skb`'s queue mapping as a transmit to this
    /// device may fill it: NAPI on and the queue in use
    /// (`rcu_dereference(rq->napi)` with `rxq < real_num_rx_queues` in
    /// `veth_xmit()`). Found once per transmit and handed to
    /// [`Forwarded::napi_xmit`], which reaches the ring through it; `None`
    /// sends the packet the default way.
    #[inline(always)]
    pub(crate) fn napi_target<'a>(
        &'a self,
        skb: &SkBuff,
        bh: &'a BhDisabled,
    ) -> Option<NapiTarget<'a>> {
        // INVARIANT: Read published, in the BH-disabled section `bh`
        // borrows, which also bounds `'a`.
        self.published_queue(skb.queue_mapping(), bh)
            .map(|q| NapiTarget {
                q,
                _not_send: NotThreadSafe,
            })
    }

    /// Receive queue `idx` if it is in use (`idx < real_num_rx_queues`).
    fn queue_in_use(&self, idx: u32) -> Option<&RxQueue> {
        if idx >= self.queues().rx {
            return None;
        }
        self.rx_queues().as_slice().get(idx as usize)
    }

    /// Receive queue `idx` if it is in use and published.
    pub(super) fn published_queue<'a>(
        &'a self,
        idx: u32,
        _bh: &'a BhDisabled,
    ) -> Option<&'a RxQueue> {
        let q = self.queue_in_use(idx)?;
        // `rcu_dereference()`: a `READ_ONCE()` of the pointer the release in
        // `napi_enable_range` published, and every use of the queue after
        // it goes through the loaded address (an address dependency orders
        // those loads after this one, as for the peer pointer in
        // `PeerSlot::get_bh`). No acquire load: that is a call into the
        // atomics' C helpers on a GCC-built kernel. The dependency holds only
        // if what is returned is the loaded pointer: never return `q`, and
        // never compare the two (the compiler could then use `q`'s address
        // and the ordering would be gone, `rcu_dereference.rst`).
        let p = NonNull::new(read_once(&q.published))?;
        // SAFETY: Not NULL: `p` is `q`'s own address, published while `q`
        // is ON (type invariant), read with BH disabled for `'a`; the queue
        // array outlives the device's users.
        Some(unsafe { p.as_ref() })
    }

    /// The counters of every receive queue, summed (`veth_stats_rx()`, over
    /// `num_rx_queues`).
    pub(crate) fn rx_queue_totals(&self) -> QueueStats {
        let mut t = QueueStats::default();
        for q in self.rx_queues().as_slice() {
            t.add(q.stats());
        }
        t
    }

    /// The counters of receive queue `idx` (zero beyond the allocated ones).
    pub(crate) fn rx_queue_stats(&self, idx: u32) -> QueueStats {
        self.rx_queues()
            .as_slice()
            .get(idx as usize)
            .map_or_else(QueueStats::default, RxQueue::stats)
    }

    /// The number of page-pool counters in `ethtool -S` (zero on a kernel
    /// without `CONFIG_PAGE_POOL_STATS`).
    pub(super) fn page_pool_stats_count() -> usize {
        // SAFETY: No preconditions.
        let n = unsafe { bindings::rveth_page_pool_stats_count() };
        usize::try_from(n).unwrap_or(0)
    }

    /// Adds the page-pool counters of the receive queues in use to `out`
    /// (`veth_get_page_pool_stats()`: the sum over the pools of queues
    /// `0..real_num_rx_queues`, queues without a pool count nothing).
    ///
    /// A queue's pool changes only with its state, under RTNL (type
    /// invariant of [`RxQueue`]), which the caller holds, or in the
    /// device's destructor, which runs only once nothing holds a
    /// reference to the device (`&self` is one): a pool read here stays
    /// alive until this returns.
    pub(super) fn add_page_pool_stats(&self, out: &mut [u64], _rtnl: &Rtnl) {
        if out.len() < Self::page_pool_stats_count() {
            return;
        }
        let rx = self.queues().rx as usize;
        for q in self.rx_queues().as_slice().iter().take(rx) {
            let pool = q.page_pool.load(Relaxed);
            if !pool.is_null() {
                // SAFETY: `out` has room for every counter (checked above);
                // `pool` is alive while RTNL is held (see above).
                unsafe { bindings::rveth_page_pool_stats_add(out.as_mut_ptr(), pool) };
            }
        }
    }

    /// Transmit queue `idx` (`netdev_get_tx_queue`), `None` beyond the
    /// allocated ones.
    fn tx_queue(&self, idx: u32) -> Option<TxQueue<'_>> {
        tx_queue(self.as_raw(), idx)
    }

    /// Wakes transmit queue `idx` if it is stopped.
    fn wake_tx_queue(&self, idx: u32) {
        if let Some(txq) = self.tx_queue(idx) {
            txq.wake_if_stopped();
        }
    }
}

/// The queues of `qs` in `range` (clamped to the slice).
fn sub(qs: &[RxQueue], range: Range<u32>) -> &[RxQueue] {
    let end = (range.end as usize).min(qs.len());
    let start = (range.start as usize).min(end);
    &qs[start..end]
}

/// Transmit queue `idx` of `dev`, `None` beyond its `num_tx_queues`.
fn tx_queue<'a>(dev: *mut bindings::net_device, idx: u32) -> Option<TxQueue<'a>> {
    // SAFETY: `dev` is a valid device (callers); `num_tx_queues` is fixed
    // at allocation.
    if idx >= unsafe { (*dev).num_tx_queues } {
        return None;
    }
    // `netdev_get_tx_queue()`, inline in C.
    // SAFETY: `dev` is valid; `idx < num_tx_queues`: inside the device's
    // `_tx` array, allocated with the device.
    let txq = unsafe { (*dev)._tx.add(idx as usize) };
    // INVARIANT: A transmit queue of `dev`, which lives as long as `dev`.
    NonNull::new(txq).map(|t| TxQueue(t, PhantomData))
}

/// A transmit queue (`struct netdev_queue`) of a device valid for `'a`.
///
/// # Invariants
///
/// `self.0` is a transmit queue of a device that stays valid for `'a`.
struct TxQueue<'a>(NonNull<bindings::netdev_queue>, PhantomData<&'a ()>);

impl TxQueue<'_> {
    fn raw(&self) -> *mut bindings::netdev_queue {
        self.0.as_ptr()
    }

    /// Whether no qdisc queues for it (noqueue): a packet it cannot take
    /// now must be dropped, `NETDEV_TX_BUSY` is only for qdiscs.
    fn has_no_queue(&self) -> bool {
        // SAFETY: A valid queue (type invariant); its qdisc pointer always
        // points to a qdisc (noop at least) while the device exists.
        unsafe { bindings::rveth_qdisc_txq_has_no_queue(self.raw()) }
    }

    fn stop(&self) {
        // SAFETY: A valid queue (type invariant); an atomic set_bit.
        unsafe { bindings::rveth_netif_tx_stop_queue(self.raw()) }
    }

    /// Whether the driver stopped the queue (`netif_tx_queue_stopped()`,
    /// inline in C: a `test_bit()` on `state`).
    fn stopped(&self) -> bool {
        const XOFF: usize = 1 << bindings::netdev_queue_state_t___QUEUE_STATE_DRV_XOFF;
        // SAFETY: A valid queue (type invariant), so `state` is a valid,
        // aligned `unsigned long`; it is only changed by atomic bit
        // operations, so an atomic read does not race.
        let state = unsafe { Atomic::<usize>::from_ptr(&raw mut (*self.raw()).state) };
        read_once(state) & XOFF != 0
    }

    /// `netif_tx_wake_queue` if the queue is stopped: clears the bit and
    /// reschedules its qdisc.
    fn wake_if_stopped(&self) {
        if self.stopped() {
            // LLTX: nothing else records transmit progress (the bonding
            // ARP monitor reads it), as veth_poll() does.
            // SAFETY: A valid queue (type invariant).
            unsafe { bindings::rveth_txq_trans_cond_update(self.raw()) };
            // SAFETY: A valid queue (type invariant).
            unsafe { bindings::netif_tx_wake_queue(self.raw()) };
        }
    }
}

/// A receive queue that a transmit found published ([`Device::napi_target`]):
/// where [`Forwarded::napi_xmit`] puts the skb.
///
/// # Invariants
///
/// `q` was read published (ON, in use) during the BH-disabled section that
/// `'a` lies within. So for `'a` its ring stays initialised and its
/// `napi_struct` is not re-added: turning the queue off unpublishes it
/// and waits a grace period before it frees the ring or enables the
/// queue again ([`Device::napi_disable_range`]). The NAPI may be disabled
/// and deleted meanwhile; `napi_schedule_prep()` then refuses it.
pub(crate) struct NapiTarget<'a> {
    q: &'a RxQueue,
    _not_send: NotThreadSafe,
}

impl<P> Forwarded<'_, P> {
    /// Puts the skb into `target`, a NAPI queue of the receiving device,
    /// and schedules its NAPI (veth's `veth_xdp_rx()` and
    /// `__veth_xdp_flush()`); if `target` is not the receiving device's
    /// queue of the skb's queue mapping, or the skb does not come from that
    /// device's peer, hands it to [`Forwarded::netif_rx`] instead (counted
    /// in the sender's tstats there). A queue being turned off still takes
    /// it: turning it off frees what the ring holds after the grace period,
    /// as veth's does.
    ///
    /// A full ring: with no qdisc on the sending queue the skb is dropped
    /// ([`Tx`] dropped); with a qdisc the sending queue is stopped and the
    /// skb handed back to the core (`NETDEV_TX_BUSY`) with what the retry
    /// needs restored: the Ethernet header `eth_type_trans` pulled is pushed
    /// back with its checksum, the sending device, mark and priority are put
    /// back. What `__dev_forward_skb` scrubbed otherwise (dst, conntrack,
    /// extensions, `skb_iif`, the timestamp across namespaces) stays
    /// scrubbed, and the retry records a software transmit timestamp again,
    /// as with veth. The poll wakes the queue once it consumed.
    ///
    /// No lost wakeup. What guarantees it is not the retry but the flush
    /// after the stop: producer P sets the stopped bit, then (full barrier
    /// in [`RxQueue::flush`], whether or not the retry went in) either
    /// schedules the NAPI itself, or reads
    /// `notify_masked` set. A poll that runs after P's schedule reads the
    /// bit in the poll adapter after a full barrier that follows its last
    /// consume ([`NapiPoll::complete`]'s, or the adapter's own if
    /// `complete` ran none), so it sees it and wakes the queue. If P read
    /// the flag set, the poll that set it has not cleared it yet as far as
    /// P can tell; that poll clears it, runs a full barrier and only then
    /// (in the adapter) reads the stopped bit: store buffering with a full
    /// barrier on each
    /// side, so at least one side sees the other's store, and P did not
    /// see the clear. A poll that ends with its budget used up leaves the
    /// NAPI scheduled and the flag set; the adapter checks the bit after
    /// every poll, so the next one wakes. The retry after the stop is only
    /// a fast path: `__ptr_ring_consume` clears slots in batches, so a
    /// consumed ring may still look full to P. If it succeeds, P wakes the
    /// queue itself (another transmitter, such as pktgen or a qdisc
    /// bypass, may have stopped it too, with a requeued skb waiting for the
    /// qdisc to be rescheduled). The poll wakes the queue whether or not
    /// the ring has room yet; a premature wake only costs the qdisc a
    /// retry, which stops the queue again through the same protocol.
    /// Turning a queue off wakes the peer's queue of its index after the
    /// grace period ([`Device::napi_disable_range`]), when no producer can
    /// stop it for that ring any more.
    #[inline(always)]
    pub(crate) fn napi_xmit(self, target: NapiTarget<'_>, bh: &BhDisabled) -> Tx {
        let q = target.q;
        // The ring of the queue of the skb's mapping at the device the skb
        // was prepared for, and only if the sender is that device's peer:
        // a full ring stops the sender's transmit queue of the ring's
        // index, which is the one the core gets `NETDEV_TX_BUSY` for (the
        // mapping; `__dev_forward_skb` leaves it) and the one the ring's
        // poll wakes at the receiver's peer. Any other sender's stopped
        // queue would stay stopped.
        let from_peer = self
            .to()
            .peer_bh(bh)
            .is_some_and(|p| ptr::eq(p.as_raw(), self.from()));
        if !from_peer || !ptr::eq(q.dev, self.to().as_raw()) || q.index != self.queue_mapping() {
            return self.netif_rx(bh);
        }
        let parts = self.into_parts();

        // The queue was read published during this BH-disabled section
        // (`NapiTarget`'s invariant): its ring is initialised until the
        // grace period after unpublishing. The entry is an owned skb that
        // the peer's transmit prepared, what the poll takes it for; on
        // success the ring owns it.
        // SAFETY: As just said.
        if unsafe { q.ring.produce(parts.skb.cast(), bh) } {
            // SAFETY: Read as published in this BH-disabled section.
            unsafe { q.flush() };
            return Tx::queued();
        }
        // SAFETY: `q` as above; `parts` is of an skb for `q`'s device
        // (checked above) from its peer, the sender in its
        // `ndo_start_xmit`, with the mapping `q.index` (checked above).
        unsafe { ring_full(q, parts, bh) }
    }
}

/// [`Forwarded::napi_xmit`] on a full ring, out of line: drops the skb
/// without a qdisc on the sending queue; with one, stops that queue (the
/// one of the ring's index), retries once, and gives the skb back to the
/// core if the ring is still full. The protocol is `napi_xmit`'s.
///
/// # Safety
///
/// `q` must have been read published in the caller's current BH-disabled
/// section (as a [`NapiTarget`]), `parts` must be of an skb for `q`'s
/// device from its peer (`parts.from`, in its `ndo_start_xmit`), with the
/// queue mapping `q.index`, which `q`'s ring just refused.
#[cold]
#[inline(never)]
unsafe fn ring_full(q: &RxQueue, parts: ForwardedParts, bh: &BhDisabled) -> Tx {
    let skb = parts.skb.as_ptr();
    q.ring_full.fetch_add(1, Relaxed);
    // The sending device, valid during its `ndo_start_xmit` (caller).
    let txq = match tx_queue(parts.from, q.index) {
        Some(txq) if !txq.has_no_queue() => txq,
        _ => {
            // SAFETY: The produce failed: the skb is still ours.
            unsafe { super::skb::kfree_skb(skb) };
            return Tx::dropped();
        }
    };
    txq.stop();
    // Orders the stopped bit before the ring re-read; pairs with the
    // poll's barrier after its last consume (in `NapiPoll::complete`
    // or in the poll adapter), before it reads the stopped bit.
    smp_mb();
    // SAFETY: Read published in this BH-disabled section (caller): the
    // ring is initialised; the skb is still ours, on success the ring's.
    if unsafe { q.ring.produce(parts.skb.cast(), bh) } {
        // Wake, not just clear the bit: another transmitter (pktgen,
        // a qdisc bypass) may have stopped the queue on a full ring
        // too, with a requeued skb that waits for the qdisc to run.
        txq.wake_if_stopped();
        // SAFETY: As above.
        unsafe { q.flush() };
        return Tx::queued();
    }
    // SAFETY: As above: a poll must run and wake the queue.
    unsafe { q.flush() };
    parts.restore();
    // The skb goes back to the core with NETDEV_TX_BUSY, unfreed.
    Tx::busy()
}

/// What a driver's NAPI poll returns; only [`NapiPoll::complete`] makes it.
///
/// The lifetime is the poll's (invariant, and the value cannot leave the
/// thread): a poll cannot return one kept from another poll, so returning
/// without completing a NAPI that ran dry (which would leave it scheduled
/// and never polled, and hang `napi_disable`) cannot happen.
///
/// # Invariants
///
/// Made only by [`NapiPoll::complete`] of the poll `'a` names, after the
/// poll's last consume from its ring. `done` is the number of entries that
/// poll handed to the driver (at most its budget). If `fenced` is true, a
/// full barrier (`smp_mb()`) ran after that last consume.
pub(crate) struct PollDone<'a> {
    done: u32,
    /// [`NapiPoll::complete`] ran a full barrier after the poll's last
    /// consume from the ring: the adapter's wake needs no other.
    fenced: bool,
    _poll: Invariant<'a>,
    _not_send: NotThreadSafe,
}

/// Makes a type invariant over `'a`.
pub(super) type Invariant<'a> = PhantomData<fn(&'a ()) -> &'a ()>;

/// The NAPI poll of one receive queue, as the driver's `poll` gets it.
///
/// The driver takes entries with [`NapiPoll::next`] (at most the budget):
/// skbs the peer transmitted and XDP frames redirected into the peer or
/// sent back by the peer's XDP program. Without an XDP program it hands
/// skbs to GRO with [`NapiPoll::gro_receive`] and frames after
/// [`NapiPoll::frame_to_skb`]; with one ([`NapiPoll::xdp_prog`]) it runs it
/// on an [`XdpBuff`](super::xdp::XdpBuff) and carries out the verdict
/// (see [`super::xdp`]). Then it returns what [`NapiPoll::complete`] gives;
/// after that the adapter wakes the peer's transmit queue of the same index
/// if it is stopped.
///
/// # Invariants
///
/// `q` is an [`ON`] queue of device `dev` (private data `P`) whose NAPI
/// poll is running now, in this context, with bottom halves disabled for
/// `'a`, with `xdp_set_return_frame_no_direct()` in effect from the first
/// [`NapiPoll::next`] that may hand out an entry on; the task's BPF net
/// context was set up by the poll's caller and outlives the poll; `st` is
/// this poll's state and satisfies [`PollState`]'s invariants.
pub(crate) struct NapiPoll<'a, P> {
    pub(super) q: &'a RxQueue,
    pub(super) dev: &'a Device<P>,
    pub(super) bh: &'a BhDisabled,
    pub(super) st: &'a mut PollState,
    _poll: Invariant<'a>,
}

/// The state of one NAPI poll. It lives in the poll adapter's stack frame
/// and [`NapiPoll`] borrows it, so that the driver's poll and
/// [`NapiPoll::complete`] move four pointers, not these 208 bytes (the
/// move was a `memcpy()` per poll, one frame per poll under pktgen). The
/// bulk queue is left uninitialised: zeroing it would take 16 stores a
/// poll.
/// Only this module sees its fields (the driver cannot reach it through
/// [`NapiPoll`]; `tests/compile_fail/poll_state_is_the_layers.rs`).
///
/// # Invariants
///
/// `done <= budget`; `bq[..bq_len]` are initialised and are `XDP_TX`
/// frames owned by this poll; `ri` is NULL until the poll's first call of
/// [`NapiPoll::next`] within the budget, then the running task's BPF redirect info
/// (`bpf_net_ctx_get_ri()`) with `BPF_RI_F_RF_NO_DIRECT` set for this poll,
/// valid for the whole poll; `prog` is NULL or the queue's program as read
/// in this poll's RCU read section (valid until it ends).
pub(super) struct PollState {
    budget: u32,
    done: u32,
    bytes: u64,
    pub(super) xdp: super::xdp::PollXdp,
    /// The task's BPF redirect info, whose `BPF_RI_F_RF_NO_DIRECT` the
    /// poll's first [`NapiPoll::next`] within the budget set and
    /// [`NapiPoll::complete`] clears; NULL before.
    pub(super) ri: *mut bindings::bpf_redirect_info,
    /// The `XDP_TX` bulk queue (`veth_xdp_tx_bq`), sent to the peer when
    /// full and when the poll ends.
    bq: [MaybeUninit<*mut bindings::xdp_frame>; super::xdp::TX_BULK],
    bq_len: usize,
    /// The queue's XDP program (NULL: none) as read after the last entry
    /// was taken; only [`NapiPoll::next`] writes it.
    pub(super) prog: *mut bindings::bpf_prog,
}

impl PollState {
    /// The frames in the `XDP_TX` bulk queue.
    pub(super) fn queued(&self) -> &[*mut bindings::xdp_frame] {
        // SAFETY: `bq[..bq_len]` are initialised (type invariant), and
        // `MaybeUninit<T>` has the layout of `T`.
        unsafe { core::slice::from_raw_parts(self.bq.as_ptr().cast(), self.bq_len) }
    }

    /// Whether the `XDP_TX` bulk queue is full (flush it before a push).
    pub(super) fn bq_full(&self) -> bool {
        self.bq_len == self.bq.len()
    }

    /// Appends `frame` to the `XDP_TX` bulk queue, which must not be full
    /// (else this panics).
    ///
    /// # Safety
    ///
    /// `frame` must be a valid frame owned by the caller; its ownership
    /// passes to the queue.
    pub(super) unsafe fn bq_push(&mut self, frame: *mut bindings::xdp_frame) {
        // INVARIANT: An owned frame (caller) into the next slot, then
        // counted.
        self.bq[self.bq_len] = MaybeUninit::new(frame);
        self.bq_len += 1;
    }

    /// Empties the `XDP_TX` bulk queue; the caller passed each queued
    /// frame on or returned it (else they leak).
    pub(super) fn bq_clear(&mut self) {
        // INVARIANT: No frame left.
        self.bq_len = 0;
    }
}

/// An entry of a receive queue's ring: an skb from the peer's transmit, or
/// an XDP frame (`ndo_xdp_xmit` into the peer, the peer's `XDP_TX`).
pub(crate) enum RxItem {
    /// An skb, prepared for reception by `__dev_forward_skb`.
    Skb(RxSkb),
    /// An XDP frame.
    Frame(super::xdp::RxFrame),
}

/// Bit 0 of a ring entry marks an XDP frame (`VETH_XDP_FLAG`): skbs and
/// frames are at least 2-byte aligned.
pub(super) const FRAME_TAG: usize = 1;

impl RxItem {
    /// The entry `p` of a ring.
    ///
    /// # Safety
    ///
    /// `p` must have been taken out of a queue's ring, which owned it.
    pub(super) unsafe fn from_ring(p: NonNull<c_void>) -> Self {
        let addr = p.as_ptr() as usize;
        if addr & FRAME_TAG != 0 {
            let f = p.as_ptr().cast::<u8>().wrapping_sub(FRAME_TAG);
            // SAFETY: A tagged, owned frame (caller); untagged it is not NULL.
            RxItem::Frame(unsafe {
                super::xdp::RxFrame::from_raw(NonNull::new_unchecked(f.cast()))
            })
        } else {
            // INVARIANT: An owned skb the peer's transmit prepared (caller).
            RxItem::Skb(RxSkb(p.cast()))
        }
    }

    /// Bytes, as veth counts them in `xdp_bytes`.
    fn len(&self) -> u32 {
        match self {
            RxItem::Skb(skb) => skb.len(),
            RxItem::Frame(f) => f.len(),
        }
    }
}

impl<'a, P> NapiPoll<'a, P> {
    /// The next entry of the ring (`__ptr_ring_consume`), counted in the
    /// queue's packets and bytes; `None` once the ring was found empty or
    /// the budget is used up.
    ///
    /// The first call within the budget sets the task's
    /// `BPF_RI_F_RF_NO_DIRECT`
    /// (`xdp_set_return_frame_no_direct()`, as at the start of
    /// `veth_poll()`): frames of this poll are not returned to a page
    /// pool's lockless cache (the poll may hand them to another device's
    /// NAPI); [`NapiPoll::complete`] clears it.
    pub(crate) fn next(&mut self) -> Option<RxItem> {
        let st = &mut *self.st;
        if st.done >= st.budget {
            return None;
        }
        if st.ri.is_null() {
            // INVARIANT: `ri` becomes the task's redirect info, the flag
            // set.
            // SAFETY: This is a NAPI poll (type invariant).
            st.ri = unsafe { redirect_info() };
            // SAFETY: The task's redirect info, valid for the whole poll
            // (`redirect_info`); only this task uses it.
            unsafe { (*st.ri).kern_flags |= bindings::BPF_RI_F_RF_NO_DIRECT };
        }
        // SAFETY: The queue is ON and this is its poll, the ring's only
        // consumer (type invariant).
        let p = unsafe { self.q.ring.consume() }?;
        // INVARIANT: The entry is handed out once; `done` counts it and
        // stays within the budget (checked above).
        st.done += 1;
        // The program is read after the entry was taken, as veth reads it
        // for each one after taking it (nothing orders this load after the
        // slot's load, in veth either; an attach that turns NAPI on
        // publishes the program first). `rcu_dereference()`: a
        // `READ_ONCE()`; the program is only used through the loaded
        // pointer (an address dependency on the release that published
        // it), as veth's poll uses it.
        // INVARIANT: Read in this poll's RCU read section.
        st.prog = read_once(&self.q.xdp_prog);
        // SAFETY: Taken out of the ring, which owned it (type invariant).
        let item = unsafe { RxItem::from_ring(p) };
        st.bytes = st.bytes.wrapping_add(u64::from(item.len()));
        Some(item)
    }

    /// Hands `skb` to GRO (`napi_gro_receive`), or, if it is shared or its
    /// clone cannot be made private, to `netif_receive_skb`, as
    /// `veth_xdp_rcv()` does.
    pub(crate) fn gro_receive(&mut self, skb: RxSkb) {
        // SAFETY: An owned, valid skb, whose ownership passes to the stack;
        // the queue's NAPI is running (type invariant), BH is disabled.
        unsafe { bindings::rveth_napi_receive_skb(self.q.napi.get(), skb.into_raw()) };
    }

    /// Ends the poll: sends what `XDP_TX` queued and flushes redirects
    /// (before the NAPI may complete, as `veth_poll()` does), records the
    /// counters and, if the ring ran dry before the budget, completes the
    /// NAPI (`napi_complete_done`) and, as `veth_poll()` does, schedules it
    /// again if a producer filled the ring meanwhile. With the budget used
    /// up the NAPI stays scheduled, as NAPI requires.
    pub(crate) fn complete(mut self) -> PollDone<'a> {
        self.xdp_finish();
        let q = self.q;
        // This poll is the counters' only writer (type invariant of
        // `RxQueue`): a plain add, as veth's `xdp_packets +=` under
        // `u64_stats_update_begin()`.
        if self.st.done > 0 {
            add_single_writer(&q.packets, u64::from(self.st.done));
            add_single_writer(&q.bytes, self.st.bytes);
        }
        // Whether a full barrier ran after the last entry was consumed.
        let mut fenced = false;
        if self.st.done < self.st.budget {
            // SAFETY: The NAPI instance is running this poll (type invariant).
            let completed =
                unsafe { bindings::napi_complete_done(q.napi.get(), self.st.done as c_int) };
            if completed {
                // The flag cleared before the ring read (`smp_store_mb()`
                // in veth); pairs with the producer's barrier in
                // `RxQueue::flush`.
                write_once(&q.notify_masked, false);
                // Nothing is consumed from the ring after this
                // barrier (the poll ends here, `self` is consumed): the
                // adapter's read of the peer's stopped bit needs no other.
                smp_mb();
                fenced = true;
                // The ring stays initialised until the grace period after
                // the queue is unpublished, which this BH-disabled poll
                // holds off. The next poll may already consume on another
                // CPU (a producer scheduled it since the completion): a
                // racy read is what the empty test allows.
                // SAFETY: As just said.
                if !unsafe { q.ring.is_empty() } {
                    // SAFETY: Added; if it is being disabled, this does
                    // nothing.
                    unsafe { q.schedule_unmasked() };
                }
            }
        }
        // INVARIANT: Made here, after this poll's last consume (`self` is
        // consumed); `done` counts what `next` handed out, within the
        // budget; `fenced` only after the `smp_mb()` above.
        PollDone {
            done: self.st.done,
            fenced,
            _poll: PhantomData,
            _not_send: NotThreadSafe,
        }
    }
}

/// The running task's BPF redirect info (`bpf_net_ctx_get_ri()`, inline C):
/// the task's BPF net context's, zeroed up to `nh` and marked initialised
/// on first use, as there.
///
/// # Safety
///
/// Only called from a NAPI poll: its caller (net_rx_action, the threaded
/// and busy-poll loops) set the task's BPF net context up
/// (`bpf_net_ctx_set()`, which clears its flags), and it outlives the
/// poll. netpoll's `poll_one_napi()` sets none up, and never polls an
/// [`RxQueue`]'s instance (`SetupDevice::finish` sets
/// `IFF_DISABLE_NETPOLL`).
#[inline(always)]
unsafe fn redirect_info() -> *mut bindings::bpf_redirect_info {
    // `current->bpf_net_context`, at the compiler's offset: the bindings'
    // `task_struct` is laid out differently (helpers.c).
    // SAFETY: A constant defined in helpers.c.
    let off = unsafe { bindings::rveth_task_bpf_net_context_offset };
    let field = current_task().cast::<u8>().wrapping_add(off);
    // SAFETY: The running task, whose `bpf_net_context` pointer is at
    // `off`; it is set up and valid during the poll (caller), and only
    // this task uses it.
    let ri = unsafe { &raw mut (*field.cast::<*mut bindings::bpf_net_context>().read()).ri };
    // SAFETY: As above.
    if unsafe { (*ri).kern_flags } & bindings::BPF_RI_F_RI_INIT == 0 {
        // C's length, `offsetof(struct bpf_net_context, ri.nh)` from `ri`
        // (the first member: the fields before `nh`).
        let len = core::mem::offset_of!(bindings::bpf_net_context, ri)
            + core::mem::offset_of!(bindings::bpf_redirect_info, nh);
        // SAFETY: As above; zero is a valid value of each field zeroed, and
        // `len` bytes from `ri` are within the context.
        unsafe {
            ptr::write_bytes(ri.cast::<u8>(), 0, len);
            (*ri).kern_flags |= bindings::BPF_RI_F_RI_INIT;
        }
    }
    ri
}

/// An skb taken from a receive queue's ring; freed if dropped.
///
/// # Invariants
///
/// `self.0` is a valid skb owned by this value, prepared for reception by
/// the queue's device (`__dev_forward_skb`).
pub(crate) struct RxSkb(pub(super) NonNull<bindings::sk_buff>);

impl RxSkb {
    /// Data length.
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: Valid and owned (type invariant).
        unsafe { (*self.0.as_ptr()).len }
    }

    /// Gives up ownership of the skb.
    pub(super) fn into_raw(self) -> *mut bindings::sk_buff {
        let raw = self.0.as_ptr();
        core::mem::forget(self);
        raw
    }
}

impl Drop for RxSkb {
    fn drop(&mut self) {
        // SAFETY: Valid and owned (type invariant).
        unsafe { super::skb::kfree_skb(self.0.as_ptr()) }
    }
}

/// The NAPI poll adapter of a driver whose poll is `poll`: builds the
/// [`NapiPoll`], runs the driver's poll, then does the consumer half of the
/// backpressure protocol (see [`Forwarded::napi_xmit`]).
///
/// # Safety
///
/// Only called by NAPI as the poll of an [`RxQueue`]'s instance, added by
/// [`Device::napi_enable_range`] on a device whose private data is `P`,
/// from a caller that set the task's BPF net context up
/// (`bpf_net_ctx_set()`: net_rx_action, the threaded and busy-poll loops;
/// not netpoll, which the layer's devices have disabled).
pub(super) unsafe fn poll_adapter<P>(
    napi: *mut bindings::napi_struct,
    budget: c_int,
    poll: impl for<'a> FnOnce(NapiPoll<'a, P>) -> PollDone<'a>,
) -> c_int {
    // CAST: `napi` is the first field of the `#[repr(C)]` `RxQueue`.
    // SAFETY: The instance is an `RxQueue`'s (caller); the array lives until
    // the device is destroyed, after its NAPI instances are deleted.
    let q = unsafe { &*napi.cast::<RxQueue>() };
    // SAFETY: `q.dev` is the queue's registered device with private data
    // `P`; it is valid while its NAPI instances run (they are deleted in
    // `ndo_stop`, before unregistration ends).
    let dev = unsafe { Device::<P>::from_raw(q.dev) };
    // SAFETY: NAPI polls run with bottom halves disabled (net_rx_action,
    // the threaded and busy-poll loops).
    let bh = unsafe { BhDisabled::assume() };
    let budget = u32::try_from(budget).unwrap_or(0);
    // INVARIANT: Nothing taken, nothing counted yet, no redirect info
    // (the first `NapiPoll::next` within the budget sets the no-direct
    // flag).
    let mut st = PollState {
        budget,
        done: 0,
        bytes: 0,
        xdp: super::xdp::PollXdp::new(),
        ri: ptr::null_mut(),
        bq: [MaybeUninit::uninit(); super::xdp::TX_BULK],
        bq_len: 0,
        prog: ptr::null_mut(),
    };
    // INVARIANT: The queue is ON (its NAPI runs) and this is its poll.
    let ctx = NapiPoll {
        q,
        dev,
        bh,
        st: &mut st,
        _poll: PhantomData,
    };
    let done = poll(ctx);

    // Consumer half: the consumed slots before the stopped bit's read.
    // Pairs with the barrier after `stop` in `napi_xmit`. With `fenced`,
    // one ran after the last consume already (`PollDone`'s invariant).
    if !done.fenced {
        smp_mb();
    }
    if let Some(peer) = dev.peer_bh(bh) {
        peer.wake_tx_queue(q.index);
    }
    done.done.min(budget) as c_int
}

/// The parts of a [`Forwarded`] that [`Forwarded::napi_xmit`] needs to put
/// the skb into a ring or give it back to the core.
pub(super) struct ForwardedParts {
    pub(super) skb: NonNull<bindings::sk_buff>,
    pub(super) from: *mut bindings::net_device,
    pub(super) mark: u32,
    pub(super) priority: u32,
}

impl ForwardedParts {
    /// Undoes what `__dev_forward_skb` and the metadata policy changed that
    /// a retry would see: the Ethernet header pull (with the checksum), the
    /// device, the mark and the priority.
    fn restore(self) {
        let skb = self.skb.as_ptr();
        // SAFETY: The skb is valid and ours; `eth_type_trans` pulled
        // ETH_HLEN bytes, which are still in the head.
        unsafe { bindings::rveth_skb_push_rcsum(skb, ETH_HLEN) };
        super::skb::set_dev_mark_priority(self.skb, self.from, self.mark, self.priority);
    }
}
