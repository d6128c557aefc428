// SPDX-License-Identifier: GPL-2.0

//! `READ_ONCE()`/`WRITE_ONCE()` on the kernel's LKMM atomics, the SMP
//! barriers and one atomic add, inline.
//!
//! [`Atomic::load`] with [`Relaxed`](kernel::sync::atomic::Relaxed) is
//! `atomic_read()`, which is `READ_ONCE()`; [`Atomic::store`] with `Relaxed`
//! is `WRITE_ONCE()`. In a kernel built with GCC both are out-of-line calls
//! into `rust_helper_*` functions (only clang kernels with
//! `CONFIG_RUST_INLINE_HELPERS` inline them), about 27 ns each under TCG,
//! several times per packet on the NAPI and XDP paths. A volatile access of
//! a naturally aligned location no wider than a machine word is what
//! `READ_ONCE()`/`WRITE_ONCE()` compile to, and is how the kernel crate
//! writes `READ_ONCE()` itself (`kernel::fs::file`, `kernel::time::hrtimer`).
//! The functions here do exactly that, with the same ordering (none) as the
//! relaxed operations they replace, on the hot paths only. A pointer read
//! with [`read_once`] and then dereferenced is ordered after the load by the
//! address dependency, as with `rcu_dereference()`; the one architecture
//! whose `READ_ONCE()` adds a barrier for that (Alpha) has no Rust support.
//!
//! Read-modify-write operations stay [`Atomic`]'s, but for the one hot
//! path's counter add ([`atomic_add`]). [`add_single_writer`] is
//! for counters that one context at a time writes (a NAPI poll's own): a
//! load and a store, what veth's plain `rq->stats.vs.xdp_packets += done`
//! between `u64_stats_update_begin()` and `_end()` is on a 64-bit kernel.
//!
//! [`smp_mb`], [`smp_wmb`] and [`atomic_add`] are, on x86-64, the
//! instructions the C macros emit, written with `asm!`; the kernel
//! crate's versions are calls into `rust_helper_*` functions. Unlike C's,
//! they carry no KASAN/KCSAN instrumentation.

use core::{mem::size_of, ptr};

use kernel::sync::atomic::{Atomic, AtomicType};

/// `READ_ONCE(*a)`: a relaxed load, inline.
#[inline(always)]
pub(super) fn read_once<T: AtomicType>(a: &Atomic<T>) -> T {
    const { assert!(size_of::<T>() <= size_of::<usize>()) };
    // `as_ptr` is valid and aligned for `T` while `a` is borrowed, and holds
    // a valid `T` (`T: AtomicType`); no wider than a word (checked above),
    // so the load is not torn. A volatile load racing with another CPU is
    // not sound per Rust's rules, but allowed per the LKMM (as `kernel::io`).
    // SAFETY: A `READ_ONCE()` of a valid, aligned `T` (above).
    unsafe { ptr::read_volatile(a.as_ptr()) }
}

/// `WRITE_ONCE(*a, v)`: a relaxed store, inline.
#[inline(always)]
pub(super) fn write_once<T: AtomicType>(a: &Atomic<T>, v: T) {
    const { assert!(size_of::<T>() <= size_of::<usize>()) };
    // `Atomic<T>` is interior-mutable (an `UnsafeCell`), so a store through
    // a shared reference is allowed; `T: AtomicType` makes every value of
    // `T` valid for it.
    // SAFETY: As in `read_once`: a `WRITE_ONCE()`, allowed per the LKMM.
    unsafe { ptr::write_volatile(a.as_ptr(), v) }
}

/// Adds `v` to a counter that only the current context writes (a load and
/// a store, no lock prefix, no call). Readers in other contexts see the old
/// or the new value, never a torn one. Two contexts adding at once would
/// lose updates (wrong counts, not undefined behaviour), so callers name
/// why they are the only writer.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
pub(super) fn add_single_writer(a: &Atomic<u64>, v: u64) {
    write_once(a, read_once(a).wrapping_add(v));
}

/// As on 64-bit, but a `u64` is wider than a word here: an atomic add, so
/// that readers never see a torn value.
#[cfg(not(target_pointer_width = "64"))]
#[inline(always)]
pub(super) fn add_single_writer(a: &Atomic<u64>, v: u64) {
    a.add(v, kernel::sync::atomic::Relaxed);
}

/// `smp_mb()`: a full memory barrier, inline.
///
/// The kernel crate's `smp_mb(Full)` is a call into `rust_helper_smp_mb`;
/// on x86-64 this is the instruction `__smp_mb()` emits
/// (arch/x86/include/asm/barrier.h), a locked add of zero to the word just
/// below the stack pointer, with the same clobbers (memory, flags: an
/// `asm!` without options). Elsewhere the kernel crate's barrier.
#[inline(always)]
pub(super) fn smp_mb() {
    #[cfg(all(target_arch = "x86_64", CONFIG_SMP, not(CONFIG_UML)))]
    // SAFETY: Adding zero atomically leaves the word below the stack
    // pointer as it was; no `nostack`, so the compiler keeps nothing there
    // that the instruction could race with.
    unsafe {
        kernel::asm!("lock; addl $0, -4(%rsp)";);
    }
    #[cfg(not(all(target_arch = "x86_64", CONFIG_SMP, not(CONFIG_UML))))]
    kernel::sync::barrier::smp_mb(kernel::sync::barrier::Full);
}

/// `smp_wmb()`: orders earlier stores before later ones, inline.
///
/// On x86-64, whose stores are not reordered with each other, it is
/// `barrier()`, a compiler barrier (an empty `asm!` that may read and
/// write any memory), as `__smp_wmb()`; elsewhere the kernel crate's
/// barrier.
#[inline(always)]
pub(super) fn smp_wmb() {
    #[cfg(all(target_arch = "x86_64", not(CONFIG_UML)))]
    // SAFETY: An empty asm block.
    unsafe {
        kernel::asm!(""; options(nostack, preserves_flags));
    }
    #[cfg(not(all(target_arch = "x86_64", not(CONFIG_UML))))]
    kernel::sync::barrier::smp_mb(kernel::sync::barrier::Write);
}

/// `atomic64_add(v, a)`: adds `v` to a counter that several contexts add
/// to, inline.
///
/// [`Atomic::add`] is a call into `rust_helper_atomic64_add`; on x86-64
/// this is the instruction `arch_atomic64_add()` emits (`lock addq`, a
/// full barrier there, more than the relaxed order asked for). Elsewhere
/// [`Atomic::add`].
#[inline(always)]
pub(super) fn atomic_add(a: &Atomic<u64>, v: u64) {
    #[cfg(all(target_arch = "x86_64", not(CONFIG_UML)))]
    // `as_ptr` is valid and aligned for a `u64` while `a` is borrowed;
    // every access to it is atomic or a word-sized volatile read, as with
    // `atomic64_t` in C. One instruction that reads and writes `*a` and
    // the flags.
    // SAFETY: As just said.
    unsafe {
        kernel::asm!(
            "lock; addq {v}, ({p})";
            p = in(reg) a.as_ptr(),
            v = in(reg) v,
            options(nostack),
        );
    }
    #[cfg(not(all(target_arch = "x86_64", not(CONFIG_UML))))]
    a.add(v, kernel::sync::atomic::Relaxed);
}
