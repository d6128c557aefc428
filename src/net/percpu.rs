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
    pub(crate) fn local<'a>(&'a self, _bh: &'a BhDisabled) -> Local<'a> {
        let base = if self.pcpu.is_null() {
            ptr::null_mut()
        } else {
            // SAFETY: A valid per-CPU pointer (type invariant); BH is
            // disabled, so the CPU does not change while `Local` lives.
            unsafe { bindings::rveth_this_cpu_ptr(self.pcpu.cast()).cast::<u64>() }
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
