// SPDX-License-Identifier: GPL-2.0

//! Per-CPU `u64` counters of a device (`alloc_percpu`).
//!
//! Each CPU counts in its own copy, so counters updated on the data path do
//! not bounce a cache line between CPUs; readers sum all copies. This is
//! the pattern of `u64_stats_t` on 64-bit kernels (`local64_t`): one writer
//! per copy (the CPU that owns it, with bottom halves disabled), word-sized
//! READ_ONCE/WRITE_ONCE accesses, readers that tolerate a sum taken while
//! counting goes on.
//!
//! C header: [`include/linux/percpu.h`](srctree/include/linux/percpu.h)

use core::ptr;

use kernel::prelude::*;

use super::{bindings, BhDisabled};

// Word-sized accesses to a `u64` are single instructions only on 64-bit
// kernels (32-bit ones need the seqcount of `u64_stats_sync`).
const _: () = assert!(usize::BITS == 64);

/// A block of per-CPU `u64` counters, allocated by the adapters of
/// [`super::link`] in `ndo_init` and freed in `priv_destructor`.
///
/// # Invariants
///
/// `pcpu` is NULL (not allocated: `len == 0`) or a per-CPU allocation of
/// `len` zero-initialised `u64`s for every possible CPU.
pub(crate) struct Counters {
    pcpu: *mut u64,
    len: usize,
}

// SAFETY: The counters are only accessed through volatile word-sized
// accesses from any CPU, as `u64_stats_t` is.
unsafe impl Sync for Counters {}
// SAFETY: See `Sync`.
unsafe impl Send for Counters {}

impl Counters {
    /// No counters (before `ndo_init`).
    pub(super) const fn none() -> Self {
        // INVARIANT: NULL with `len == 0`.
        Self {
            pcpu: ptr::null_mut(),
            len: 0,
        }
    }

    /// Allocates `len` zeroed counters per possible CPU.
    pub(super) fn alloc(len: usize) -> Result<Self> {
        if len == 0 {
            return Ok(Self::none());
        }
        let size = len.checked_mul(core::mem::size_of::<u64>()).ok_or(ENOMEM)?;
        // SAFETY: Any size is valid; the allocation is zeroed.
        let pcpu = unsafe { bindings::rveth_alloc_percpu(size, core::mem::align_of::<u64>()) };
        if pcpu.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: A zeroed per-CPU allocation of `len` `u64`s.
        Ok(Self {
            pcpu: pcpu.cast(),
            len,
        })
    }

    /// Frees the counters; they are [`Counters::none`] afterwards.
    ///
    /// # Safety
    ///
    /// No other reference to `self` may be in use (the device is being
    /// destroyed).
    pub(super) unsafe fn free(&mut self) {
        if !self.pcpu.is_null() {
            // SAFETY: Allocated by `alloc` (type invariant) and not in use.
            unsafe { bindings::free_percpu(self.pcpu.cast()) };
        }
        *self = Self::none();
    }

    /// This CPU's copy, to count in while `bh` shows that bottom halves are
    /// disabled (so the task cannot migrate and nothing else on this CPU
    /// writes the copy).
    pub(crate) fn local<'a>(&'a self, bh: &'a BhDisabled) -> Local<'a> {
        let base = if self.pcpu.is_null() {
            ptr::null_mut()
        } else {
            this_cpu_ptr(self.pcpu, bh)
        };
        Local {
            base,
            len: self.len,
            _c: core::marker::PhantomData,
        }
    }

    /// Sums every CPU's copy into `out` (counter `i` into `out[i]`).
    pub(crate) fn sum(&self, out: &mut [u64]) {
        if self.pcpu.is_null() {
            return;
        }
        let n = out.len().min(self.len);
        let mut cpu: i32 = -1;
        loop {
            // SAFETY: Any CPU number is a valid argument.
            let next = unsafe { bindings::rveth_next_possible_cpu(cpu) };
            if next >= kernel::cpu::nr_cpu_ids() {
                break;
            }
            // SAFETY: `next` is a possible CPU, so its copy exists.
            let base = unsafe { bindings::rveth_per_cpu_ptr(self.pcpu.cast(), next).cast::<u64>() };
            for (i, o) in out[..n].iter_mut().enumerate() {
                // SAFETY: `i < len`: inside this CPU's copy; a word-sized
                // volatile read (READ_ONCE) of a counter its CPU may be
                // updating.
                *o = o.wrapping_add(unsafe { ptr::read_volatile(base.add(i)) });
            }
            cpu = next as i32;
        }
    }
}

/// The current CPU's copy of a device's [`Counters`].
///
/// # Invariants
///
/// `base` is NULL (no counters) or this CPU's copy of `len` counters, which
/// nothing else writes while `'a` lasts (bottom halves are disabled).
pub(crate) struct Local<'a> {
    base: *mut u64,
    len: usize,
    _c: core::marker::PhantomData<&'a BhDisabled>,
}

impl Local<'_> {
    /// Adds `v` to counter `idx` (ignored if there is no such counter).
    pub(crate) fn add(&self, idx: usize, v: u64) {
        if idx < self.len && !self.base.is_null() {
            // SAFETY: `idx < len` is inside this CPU's copy, which only this
            // context writes (type invariant): a READ_ONCE/WRITE_ONCE pair
            // as `local64_add` on an interrupt-free path.
            unsafe {
                let p = self.base.add(idx);
                ptr::write_volatile(p, ptr::read_volatile(p).wrapping_add(v));
            }
        }
    }
}

/// The address of this CPU's copy of the per-CPU object `pcpu`
/// (`this_cpu_ptr()`), valid to use as long as `_bh` keeps the task on
/// this CPU.
///
/// Computing the address is safe for any pointer (nothing is accessed);
/// using it needs `pcpu` to be a per-CPU allocation or variable. On x86-64
/// SMP kernels this is what `arch_raw_cpu_ptr()` compiles to, inline: one
/// load of this CPU's `this_cpu_off` through the `%gs` segment, added to
/// `pcpu`. Elsewhere it is a call into helpers.c.
#[inline(always)]
pub(super) fn this_cpu_ptr<T>(pcpu: *mut T, _bh: &BhDisabled) -> *mut T {
    pcpu.wrapping_byte_add(this_cpu_offset())
}

/// This CPU's per-CPU offset (`this_cpu_off`, x86-64).
#[cfg(all(target_arch = "x86_64", CONFIG_SMP))]
#[inline(always)]
fn this_cpu_offset() -> usize {
    let off: usize;
    // SAFETY: In kernel context `%gs` is this CPU's per-CPU base, and
    // `this_cpu_off` (an exported per-CPU variable) holds that base; the
    // load is `raw_cpu_read_long(this_cpu_off)` as arch/x86's percpu.h
    // emits it (`%gs:sym(%rip)`). It reads one word, writes nothing but
    // `off` and leaves the flags alone. Not `pure`: the value depends on
    // the CPU the task runs on, so two reads must not be merged across a
    // point where the task may migrate.
    unsafe {
        kernel::asm!(
            "movq %gs:{this_cpu_off}(%rip), {off}";
            this_cpu_off = sym bindings::this_cpu_off,
            off = out(reg) off,
            options(nostack, readonly, preserves_flags),
        );
    }
    off
}

/// This CPU's per-CPU offset, from C where the load above does not apply.
#[cfg(not(all(target_arch = "x86_64", CONFIG_SMP)))]
#[inline(always)]
fn this_cpu_offset() -> usize {
    // SAFETY: `this_cpu_ptr()` of a NULL per-CPU pointer only computes
    // this CPU's offset; nothing is accessed.
    unsafe { bindings::rveth_this_cpu_ptr(ptr::null_mut()) as usize }
}

/// Adds `v` to a `u64_stats_t` of this CPU's copy of per-CPU stats
/// (`u64_stats_add()` on a 64-bit kernel: `local64_add()`).
///
/// # Safety
///
/// `stat` points to a live `u64_stats_t` in this CPU's copy of per-CPU
/// stats that nothing else writes while this runs: bottom halves are
/// disabled and no hard-IRQ context updates it (a driver of this layer has
/// netpoll disabled, see [`super::device`]). Readers on other CPUs may read
/// it concurrently (`u64_stats_read()`: a word-sized READ_ONCE).
#[inline(always)]
pub(super) unsafe fn u64_stats_add(stat: *mut bindings::u64_stats_t, v: u64) {
    // `u64_stats_t` is `local64_t`, an `atomic_long_t` word, on 64-bit.
    const _: () = assert!(core::mem::size_of::<bindings::u64_stats_t>() == 8);
    // SAFETY: `stat` is valid and has no other writer (see above); a
    // word-sized volatile read and write (READ_ONCE/WRITE_ONCE), so a
    // concurrent reader sees the old or the new value, never a torn one.
    unsafe {
        let p = ptr::addr_of_mut!((*stat).v.a.a.counter);
        ptr::write_volatile(p, ptr::read_volatile(p).wrapping_add(v as i64));
    }
}

/// The number of possible CPUs (`num_possible_cpus()`, a macro).
pub(super) fn possible_cpus() -> u32 {
    let mut n = 0;
    let mut cpu: i32 = -1;
    loop {
        // SAFETY: Any CPU number is a valid argument.
        let next = unsafe { bindings::rveth_next_possible_cpu(cpu) };
        if next >= kernel::cpu::nr_cpu_ids() {
            return n;
        }
        n += 1;
        cpu = next as i32;
    }
}
