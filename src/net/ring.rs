// SPDX-License-Identifier: GPL-2.0

//! The ring of a NAPI receive queue: the kernel's `struct ptr_ring`, with
//! its inline producer and single-consumer operations written in Rust.
//!
//! `ptr_ring`'s operations are all `static inline` in C. veth inlines them;
//! reached through a C wrapper each costs an out-of-line call and its
//! return per packet, which under emulation count as much as about 20
//! instructions each (docs/performance.md, "Where the time goes: TB
//! exits"; the wrappers were 6 of rveth's 21 driver exits per packet on
//! the XDP_DROP row). So the operations the data path uses are here, line
//! for line the algorithm of include/linux/ptr_ring.h 7.3, over the
//! bindings' `struct ptr_ring` (its fields are checked against the
//! compiler's layout when the module loads, `super::layout`). What is not
//! on the data path stays the kernel's own code: `ptr_ring_init()` and
//! `ptr_ring_cleanup()` (through helpers.c, they are inline too). Both
//! sides of every ring are this module's, so the ring's state always means
//! what it means in `ptr_ring`.
//!
//! Who accesses what, which is the concurrency argument of `ptr_ring` and
//! of this port:
//! - `size`, `batch` and the `queue` pointer are written by the
//!   initialisation only, before the ring is published, and read-only
//!   afterwards.
//! - `producer` is read and written by producers only, under
//!   `producer_lock` ([`Ring::produce`], [`Ring::produce_many`]).
//! - `consumer_head` and `consumer_tail` are written by the single
//!   consumer only (the queue's NAPI poll, or the teardown once no poll or
//!   producer can run). `consumer_head` is also read by the emptiness test
//!   ([`Ring::is_empty`]), which may race with the consumer: a poll that
//!   completed its NAPI tests the ring while the next poll, scheduled by a
//!   producer meanwhile, may already consume on another CPU. So it is
//!   written and read there with `WRITE_ONCE()`/`READ_ONCE()`, as in C.
//! - A slot `queue[i]` has one writer at a time: a producer writes an
//!   entry only into a slot it read as NULL (and producers exclude each
//!   other), the consumer writes NULL only into slots it has consumed
//!   (which are not NULL until it does). The other side reads the slot
//!   concurrently. Every slot access is a volatile, word-sized access,
//!   what C's `READ_ONCE()`, `WRITE_ONCE()` and `data_race()` accesses
//!   compile to: the racing reader sees the old or the new pointer.
//! - A producer's entry is published by the slot write, after `smp_wmb()`:
//!   whatever the producer wrote to the entry before is visible to a
//!   consumer that read the pointer and dereferences it (an address
//!   dependency, as `ptr_ring`'s comment says; no architecture with Rust
//!   support needs a barrier for it).
//! - The consumer clears consumed slots in batches (`r->batch`), so that
//!   it does not write the cache line the producer is filling; a producer
//!   may therefore find the ring full while entries were already consumed.
//!
//! C header: [`include/linux/ptr_ring.h`](srctree/include/linux/ptr_ring.h)

use core::ptr::{self, NonNull};

use kernel::{error::to_result, prelude::*, types::Opaque};

use super::{
    bindings,
    once::smp_wmb,
    BhDisabled, //
};

/// A `struct ptr_ring` of non-NULL pointers.
///
/// # Invariants
///
/// The ring is either all zero (not initialised: `size == 0`, no
/// allocation) or initialised by `ptr_ring_init()` and accessed since only
/// by this type's methods, under the rules of the module documentation.
#[repr(transparent)]
pub(super) struct Ring(Opaque<bindings::ptr_ring>);

impl Ring {
    /// A ring that is not initialised.
    pub(super) fn zeroed() -> Self {
        // INVARIANT: All zero.
        Self(Opaque::zeroed())
    }

    /// Allocates `size` slots (`ptr_ring_init()`).
    ///
    /// # Safety
    ///
    /// The ring must not be initialised, and nothing else may use it
    /// during the call.
    pub(super) unsafe fn init(&self, size: c_int) -> Result {
        // SAFETY: Not initialised, not used concurrently (caller).
        to_result(unsafe { bindings::rveth_ring_init(self.0.get(), size) })
    }

    /// Frees the slots (`ptr_ring_cleanup()`); the ring is not initialised
    /// afterwards.
    ///
    /// # Safety
    ///
    /// The ring must be initialised and empty (the entries the caller
    /// owns are gone), and nothing else may use it during or after the call.
    pub(super) unsafe fn cleanup(&self) {
        // SAFETY: Initialised, empty and unused (caller).
        unsafe { bindings::rveth_ring_cleanup(self.0.get()) };
        // INVARIANT: `ptr_ring_cleanup()` freed the slots; the ring goes
        // back to all zero, as `Ring::zeroed`.
        // SAFETY: Unused (caller); any bytes are valid for the C struct.
        unsafe { ptr::write_bytes(self.0.get(), 0, 1) };
    }

    /// Puts `entry` into the ring (`ptr_ring_produce()`): `true` if it
    /// went in and the ring owns it, `false` if the ring was full (or has
    /// no slots, which an initialised ring of this layer never has).
    ///
    /// The producer lock is only ever taken with bottom halves disabled
    /// (`bh`), so no softirq on this CPU can spin on it while it is held.
    ///
    /// # Safety
    ///
    /// The ring must be initialised and stay so during the call. `entry`
    /// must be what the ring's consumers take it for (for a NAPI queue's
    /// ring: an owned skb, or an owned XDP frame tagged with
    /// `FRAME_TAG`, see `RxItem::from_ring`).
    #[inline(always)]
    pub(super) unsafe fn produce(&self, entry: NonNull<c_void>, bh: &BhDisabled) -> bool {
        // SAFETY: Initialised (caller).
        let _lock = unsafe { ProducerLock::lock(self, bh) };
        // SAFETY: Initialised, the producer lock is held.
        unsafe { self.produce_locked(entry) }
    }

    /// Puts the entries `entries` yields into the ring, under one hold of
    /// the producer lock, until the iterator ends or the ring is full;
    /// returns how many went in: the first `n` entries are the ring's,
    /// the one that did not fit and those after it are still the
    /// caller's.
    ///
    /// # Safety
    ///
    /// As [`Ring::produce`].
    #[inline(always)]
    pub(super) unsafe fn produce_many(
        &self,
        entries: impl Iterator<Item = NonNull<c_void>>,
        bh: &BhDisabled,
    ) -> usize {
        // SAFETY: Initialised (caller).
        let _lock = unsafe { ProducerLock::lock(self, bh) };
        let mut n = 0;
        for entry in entries {
            // SAFETY: Initialised, the producer lock is held.
            if !unsafe { self.produce_locked(entry) } {
                break;
            }
            n += 1;
        }
        n
    }

    /// `__ptr_ring_produce()`.
    ///
    /// # Safety
    ///
    /// The ring must be initialised and the caller must hold its producer
    /// lock.
    #[inline(always)]
    unsafe fn produce_locked(&self, entry: NonNull<c_void>) -> bool {
        let r = self.0.get();
        // SAFETY: Initialised (caller): `size` and `queue` are fixed,
        // `producer` is ours under the lock and in `0..size` (or 0 with
        // `size == 0`).
        let (size, queue, producer) = unsafe { ((*r).size, (*r).queue, (*r).producer) };
        // `__ptr_ring_check_produce()`: a zero-sized ring takes nothing
        // (-EINVAL), a slot the consumer has not cleared yet is a full
        // ring (-ENOSPC).
        if size <= 0 {
            return false;
        }
        // SAFETY: `producer < size`: a slot of the allocation.
        let slot = unsafe { queue.add(producer as usize) };
        // SAFETY: A valid, aligned slot, accessed only word-sized (the
        // consumer may be writing NULL into it: `data_race()` in C).
        if !unsafe { ptr::read_volatile(slot) }.is_null() {
            return false;
        }
        // The entry's contents before the pointer to them; pairs with the
        // consumer's address dependency.
        smp_wmb();
        // SAFETY: As above; the slot is NULL, so no one else writes it.
        unsafe { ptr::write_volatile(slot, entry.as_ptr()) };
        let next = producer + 1;
        // SAFETY: `producer` is ours under the lock (caller).
        unsafe { (*r).producer = if next >= size { 0 } else { next } };
        true
    }

    /// Takes the oldest entry out of the ring (`__ptr_ring_consume()`),
    /// `None` if the ring is empty. The entry is the caller's.
    ///
    /// # Safety
    ///
    /// The ring must be initialised and stay so during the call, and the
    /// caller must be its only consumer (no other `consume` runs
    /// concurrently; [`Ring::is_empty`], a reader, may).
    #[inline(always)]
    pub(super) unsafe fn consume(&self) -> Option<NonNull<c_void>> {
        let r = self.0.get();
        // SAFETY: Initialised (caller): `size`, `batch` and `queue` are
        // fixed; the consumer indices are ours (only consumer), with
        // `consumer_tail <= consumer_head < size` (or both 0).
        let (size, batch, queue, head, tail) = unsafe {
            (
                (*r).size,
                (*r).batch,
                (*r).queue,
                (*r).consumer_head,
                (*r).consumer_tail,
            )
        };
        // `__ptr_ring_peek()`.
        if size <= 0 {
            return None;
        }
        // SAFETY: `head < size`: a valid, aligned slot; a producer may be
        // writing it (`READ_ONCE()` in C).
        let entry = NonNull::new(unsafe { ptr::read_volatile(queue.add(head as usize)) })?;
        // `__ptr_ring_discard_one()`: the slots are cleared for the
        // producers once a batch of them was consumed, or at the end of
        // the array, last to first, so that the producer, which may be
        // reading the first of them, sees the line change last.
        let mut next = head + 1;
        if next - tail >= batch || next >= size {
            let mut i = next;
            while i > tail {
                i -= 1;
                // SAFETY: `tail <= i < size`: a consumed slot, which no
                // producer writes until it reads it as NULL.
                unsafe { ptr::write_volatile(queue.add(i as usize), ptr::null_mut()) };
            }
            // SAFETY: Ours (only consumer).
            unsafe { (*r).consumer_tail = next };
        }
        if next >= size {
            next = 0;
            // SAFETY: Ours (only consumer).
            unsafe { (*r).consumer_tail = 0 };
        }
        // SAFETY: Ours (only consumer); `WRITE_ONCE()` as in C.
        unsafe { ptr::write_volatile(&raw mut (*r).consumer_head, next) };
        Some(entry)
    }

    /// Whether the ring looks empty (`__ptr_ring_empty()`): a racy test,
    /// which a producer's or the consumer's concurrent write may overtake,
    /// as in C. The caller orders it after what it must follow (a full
    /// barrier).
    ///
    /// # Safety
    ///
    /// The ring must be initialised and stay so during the call. The
    /// consumer may run concurrently.
    #[inline(always)]
    pub(super) unsafe fn is_empty(&self) -> bool {
        let r = self.0.get();
        // Initialised (caller): `size` and `queue` are fixed;
        // `consumer_head`, which the consumer may be writing, is read
        // word-sized (`READ_ONCE()`), and every value it takes is in
        // `0..size`.
        // SAFETY: As just said.
        let (size, queue, head) = unsafe {
            (
                (*r).size,
                (*r).queue,
                ptr::read_volatile(&raw const (*r).consumer_head),
            )
        };
        if size <= 0 {
            return true;
        }
        // SAFETY: A valid, aligned slot; a producer (an entry) or the
        // consumer (NULL) may be writing it.
        unsafe { ptr::read_volatile(queue.add(head as usize)) }.is_null()
    }
}

/// A held producer lock of a [`Ring`] (`spin_lock(&r->producer_lock)`),
/// released when dropped.
///
/// # Invariants
///
/// The lock of `0`'s ring is held by this task, with bottom halves
/// disabled, since this value was made; only `Drop` releases it.
struct ProducerLock<'a>(&'a Ring);

impl<'a> ProducerLock<'a> {
    /// Takes the producer lock of `ring`.
    ///
    /// # Safety
    ///
    /// `ring` must be initialised (its lock was set up by `ptr_ring_init()`)
    /// and stay so until the lock is released.
    #[inline(always)]
    unsafe fn lock(ring: &'a Ring, _bh: &'a BhDisabled) -> Self {
        // SAFETY: An initialised spinlock (caller).
        unsafe { spin_lock(&raw mut (*ring.0.get()).producer_lock) };
        // INVARIANT: Taken just now, with bottom halves disabled (`_bh`).
        Self(ring)
    }
}

impl Drop for ProducerLock<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: Held by this task (type invariant); the ring is
        // initialised until then (`lock`'s caller).
        unsafe { spin_unlock(&raw mut (*self.0 .0.get()).producer_lock) };
    }
}

// `spin_lock()` and `spin_unlock()` are inline C. Where they are plain
// calls of the out-of-line `_raw_spin_lock()`/`_raw_spin_unlock()`
// (SMP or DEBUG_SPINLOCK, which build kernel/locking/spinlock.c; no
// PREEMPT_RT, whose spinlock_t is an rtmutex; neither the arch nor the
// generic headers inline them) this calls those directly, as veth's
// inlined `ptr_ring_produce()` does; elsewhere the kernel crate's
// `spin_lock()`/`spin_unlock()` helpers.
#[cfg(all(
    any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
    not(CONFIG_PREEMPT_RT),
    not(CONFIG_INLINE_SPIN_LOCK),
    CONFIG_UNINLINE_SPIN_UNLOCK
))]
use bindings::{_raw_spin_lock as lock_fn, _raw_spin_unlock as unlock_fn};
#[cfg(not(all(
    any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
    not(CONFIG_PREEMPT_RT),
    not(CONFIG_INLINE_SPIN_LOCK),
    CONFIG_UNINLINE_SPIN_UNLOCK
)))]
use kernel::bindings::{spin_lock as lock_fn, spin_unlock as unlock_fn};

/// `spin_lock(lock)`.
///
/// # Safety
///
/// `lock` must be an initialised `spinlock_t`.
#[inline(always)]
unsafe fn spin_lock(lock: *mut bindings::spinlock_t) {
    // CAST: `_raw_spin_lock()` takes the `raw_spinlock_t` member `rlock`
    // of the `spinlock_t` union (without PREEMPT_RT), which starts at the
    // union's address; the kernel crate's `spin_lock()` takes the same C
    // type as these bindings, generated twice.
    // SAFETY: An initialised lock (caller).
    unsafe { lock_fn(lock.cast()) }
}

/// `spin_unlock(lock)`.
///
/// # Safety
///
/// `lock` must be an initialised `spinlock_t` this task holds.
#[inline(always)]
unsafe fn spin_unlock(lock: *mut bindings::spinlock_t) {
    // CAST: As in `spin_lock`.
    // SAFETY: An initialised lock this task holds (caller).
    unsafe { unlock_fn(lock.cast()) }
}
