// SPDX-License-Identifier: GPL-2.0

//! Per-CPU `u64` counters of a device (`alloc_percpu`).
//!
//! Each CPU counts in its own copy, so counters updated on the data path do
//! not bounce a cache line between CPUs; readers sum all copies. This is
//! the pattern of `u64_stats_t` on 64-bit kernels (`local64_t`): only the
//! CPU that owns a copy writes it (with bottom halves disabled), each add in
//! one instruction that nothing on that CPU can interrupt halfway
//! ([`local_add`]), word-sized READ_ONCE reads, readers that tolerate a sum
//! taken while counting goes on.
//!
//! C header: [`include/linux/percpu.h`](srctree/include/linux/percpu.h)

use core::ptr;

use kernel::sync::atomic::{Atomic, Full, Relaxed};

use super::{bindings, once, BhDisabled};

// Word-sized accesses to a `u64` are single instructions only on 64-bit
// kernels (32-bit ones need the seqcount of `u64_stats_sync`).
const _: () = assert!(usize::BITS == 64);

/// A block of per-CPU `u64` counters of a device, allocated on first use.
///
/// Creating a device allocates nothing here: the block is allocated by the
/// first [`Counters::local`], on the data path (bottom halves disabled), as
/// the core allocates a device's `core_stats` (`netdev_core_stats_inc()`):
/// `GFP_ATOMIC`, published with a cmpxchg (a CPU that loses the race frees
/// its block and counts in the winner's), and freed only with the device
/// (the `priv_destructor` adapter of [`super::link`]). A device that never
/// counts makes no per-CPU allocation beyond what the core makes for it
/// (for a device that forces tstats, as veth does, the same as veth's). If
/// the allocation fails, that add is lost and the next add tries again, as
/// with the core's `core_stats`: an atomic per-CPU allocation fails only
/// while no populated chunk has room, and the failed attempt schedules the
/// allocator's work that populates more.
///
/// `Send` and `Sync` come from the `Atomic` pointer: the block it points to
/// is only written by [`local_add`] on the CPU that owns a copy and read
/// with word-sized volatile reads, as `u64_stats_t` is.
///
/// # Invariants
///
/// - `len <= MAX_COUNTERS`.
/// - `pcpu` is NULL (not allocated yet) or a per-CPU allocation of `len`
///   `u64`s for every possible CPU, zeroed before it was published.
/// - Once non-NULL, `pcpu` does not change until [`Counters::free`], which
///   only runs when no other reference to `self` is in use.
pub(crate) struct Counters {
    pcpu: Atomic<*mut u64>,
    len: usize,
}

/// The most counters a device may have: `pcpu_alloc()` warns above
/// `PCPU_MIN_UNIT_SIZE / 2` (32 KiB) per CPU.
pub(super) const MAX_COUNTERS: usize = 1024;

impl Counters {
    /// Counters of `len` `u64`s per CPU, not allocated yet.
    ///
    /// # Panics
    ///
    /// If `len > MAX_COUNTERS` (at compile time where it is evaluated in a
    /// const context, as the link kind's registration does).
    pub(super) const fn new(len: usize) -> Self {
        assert!(len <= MAX_COUNTERS);
        // INVARIANT: NULL, and `len` is checked above.
        Self {
            pcpu: Atomic::new(ptr::null_mut()),
            len,
        }
    }

    /// The published block, NULL if none yet.
    ///
    /// A `READ_ONCE()`, inline, as the core reads `core_stats`: every
    /// access to the block goes through the pointer read here, so the
    /// address dependency orders it after the load, and the cmpxchg that
    /// published the block was fully ordered after its zeroing (see
    /// [`super::once`]).
    #[inline(always)]
    fn block(&self) -> *mut u64 {
        once::read_once(&self.pcpu)
    }

    /// Allocates and publishes the block (the first add's slow path,
    /// `netdev_core_stats_alloc()`); returns the published block: this
    /// call's, another CPU's that won the race, or NULL if none is
    /// published and the allocation failed.
    #[cold]
    #[inline(never)]
    fn alloc_block(&self) -> *mut u64 {
        // No overflow: `len <= MAX_COUNTERS` (type invariant).
        let size = self.len * core::mem::size_of::<u64>();
        let align = core::mem::align_of::<u64>();
        // SAFETY: Any size is valid; the allocation is zeroed; `GFP_ATOMIC`
        // may be used in any context but NMI, which never counts here.
        let new = unsafe { bindings::rveth_alloc_percpu_atomic(size, align) }.cast::<u64>();
        // `Full`: the zeroing of `new` happens before its publication (the
        // readers' accesses, which depend on their load of the pointer,
        // pair with it), as the core's cmpxchg().
        // INVARIANT: A zeroed allocation of `len` `u64`s replaces NULL,
        // once.
        if !new.is_null() && self.pcpu.cmpxchg(ptr::null_mut(), new, Full).is_err() {
            // SAFETY: `new` was allocated above and never published, so
            // nothing else refers to it; `free_percpu()` may be called in
            // atomic context.
            unsafe { bindings::free_percpu(new.cast()) };
        }
        // Whatever is published now, read as every reader reads it (a
        // failed cmpxchg orders nothing).
        self.block()
    }

    /// Frees the counters; they are not allocated afterwards.
    ///
    /// # Safety
    ///
    /// No other reference to `self` may be in use (the device is being
    /// destroyed).
    pub(super) unsafe fn free(&mut self) {
        // A later `local` (which the contract above rules out) would then
        // allocate nothing.
        self.len = 0;
        let pcpu = self.pcpu.xchg(ptr::null_mut(), Relaxed);
        if !pcpu.is_null() {
            // SAFETY: Allocated by `alloc_block` (type invariant) and not
            // in use (see above).
            unsafe { bindings::free_percpu(pcpu.cast()) };
        }
    }

    /// This CPU's copy, to count in while `bh` shows that bottom halves are
    /// disabled (so the task cannot migrate; only tasks on this CPU write
    /// the copy, each add with [`local_add`]). Allocates the counters the
    /// first time (see [`Counters`]); if that fails, the adds made through
    /// this copy are lost.
    pub(crate) fn local<'a>(&'a self, bh: &'a BhDisabled) -> Local<'a> {
        let mut pcpu = self.block();
        if pcpu.is_null() && self.len != 0 {
            pcpu = self.alloc_block();
        }
        let base = if pcpu.is_null() {
            ptr::null_mut()
        } else {
            this_cpu_ptr(pcpu, bh)
        };
        // INVARIANT: NULL, or this CPU's copy of the published block, which
        // stays allocated while `self` is referenced.
        Local {
            base,
            len: self.len,
            _c: core::marker::PhantomData,
        }
    }

    /// Sums every CPU's copy into `out` (counter `i` into `out[i]`);
    /// nothing if the counters were never allocated (all zero).
    pub(crate) fn sum(&self, out: &mut [u64]) {
        let pcpu = self.block();
        if pcpu.is_null() {
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
            // SAFETY: `next` is a possible CPU, so its copy of the published
            // block exists (type invariant).
            let base = unsafe { bindings::rveth_per_cpu_ptr(pcpu.cast(), next).cast::<u64>() };
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
/// only tasks on this CPU write (with [`local_add`]), and the task stays on
/// this CPU while `'a` lasts (bottom halves are disabled).
pub(crate) struct Local<'a> {
    base: *mut u64,
    len: usize,
    _c: core::marker::PhantomData<&'a BhDisabled>,
}

impl Local<'_> {
    /// Adds `v` to counter `idx` (ignored if there is no such counter).
    pub(crate) fn add(&self, idx: usize, v: u64) {
        if idx < self.len && !self.base.is_null() {
            // SAFETY: `idx < len` is inside this CPU's copy, which only
            // tasks on this CPU write (type invariant).
            unsafe { local_add(self.base.add(idx), v) }
        }
    }
}

/// The address of this CPU's copy of the per-CPU object `pcpu`
/// (`this_cpu_ptr()`), valid to use as long as the bottom-half-disabled
/// section that the [`BhDisabled`] token stands for keeps the task on this
/// CPU.
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
#[cfg(all(target_arch = "x86_64", CONFIG_SMP, not(CONFIG_UML)))]
#[inline(always)]
fn this_cpu_offset() -> usize {
    // `raw_cpu_read_long(this_cpu_off)` as arch/x86's percpu.h emits it
    // (`%gs:sym(%rip)`). Not `pure`: the value depends on the CPU the task
    // runs on, so two reads must not be merged across a possible migration.
    let off: usize;
    // SAFETY: In kernel context `%gs` is this CPU's per-CPU base; the load
    // reads the exported per-CPU `this_cpu_off`, writes only `off`.
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
#[cfg(not(all(target_arch = "x86_64", CONFIG_SMP, not(CONFIG_UML))))]
#[inline(always)]
fn this_cpu_offset() -> usize {
    // SAFETY: `this_cpu_ptr()` of a NULL per-CPU pointer only computes
    // this CPU's offset; nothing is accessed.
    unsafe { bindings::rveth_this_cpu_ptr(ptr::null_mut()) as usize }
}

/// The number of the CPU the task runs on (`smp_processor_id()`), stable
/// as long as the bottom-half-disabled section that the [`BhDisabled`]
/// token stands for keeps the task on this CPU.
///
/// On x86-64 SMP kernels one load of this CPU's `cpu_number` through the
/// `%gs` segment, as `raw_smp_processor_id()` compiles; elsewhere the
/// kernel crate's `CpuId::current()` (a call).
#[inline(always)]
pub(super) fn this_cpu_id(_bh: &BhDisabled) -> u32 {
    #[cfg(all(target_arch = "x86_64", CONFIG_SMP, not(CONFIG_UML)))]
    {
        // `cpu_number` is written once at boot; as in `this_cpu_offset`,
        // not `pure`.
        let cpu: u32;
        // SAFETY: In kernel context `%gs` is this CPU's per-CPU base; the
        // load reads the exported per-CPU `int` `cpu_number`, writes `cpu`.
        unsafe {
            kernel::asm!(
                "movl %gs:{cpu_number}(%rip), {cpu:e}";
                cpu_number = sym bindings::cpu_number,
                cpu = out(reg) cpu,
                options(nostack, readonly, preserves_flags),
            );
        }
        cpu
    }
    #[cfg(not(all(target_arch = "x86_64", CONFIG_SMP, not(CONFIG_UML))))]
    {
        kernel::cpu::CpuId::current().as_u32()
    }
}

/// The running task (`current`), a pointer valid while it runs.
///
/// On x86-64 SMP kernels one load of this CPU's `current_task` through the
/// `%gs` segment, as `this_cpu_read_stable(current_task)` compiles (the
/// task that runs this code is the one this CPU runs); elsewhere the
/// kernel crate's `get_current()` (a call).
#[inline(always)]
pub(super) fn current_task() -> *mut bindings::task_struct {
    #[cfg(all(target_arch = "x86_64", CONFIG_SMP, not(CONFIG_UML)))]
    {
        let task: *mut bindings::task_struct;
        // A migration between two reads changes nothing: the task is the
        // same on every CPU it runs on.
        // SAFETY: In kernel context `%gs` is this CPU's per-CPU base; the
        // load reads the exported per-CPU pointer `current_task`, writes
        // `task`.
        unsafe {
            kernel::asm!(
                "movq %gs:{current_task}(%rip), {task}";
                current_task = sym bindings::current_task,
                task = out(reg) task,
                options(nostack, readonly, preserves_flags),
            );
        }
        task
    }
    #[cfg(not(all(target_arch = "x86_64", CONFIG_SMP, not(CONFIG_UML))))]
    {
        // SAFETY: `current` is always valid to read.
        unsafe { kernel::bindings::get_current() }.cast()
    }
}

/// Adds `v` to a `u64` in this CPU's copy of per-CPU data (`local64_add()`
/// on a 64-bit kernel).
///
/// On x86-64 one `add` with a memory operand, as arch/x86's `local_add()`:
/// nothing that runs on this CPU (an interrupt, or on PREEMPT_RT another
/// task in a bottom-half-disabled section, which there only disables
/// migration) can come between its read and its write. Elsewhere a relaxed
/// atomic add, as asm-generic's `local64_add()`.
///
/// # Safety
///
/// `p` is valid and aligned, in this CPU's copy of per-CPU data that only
/// tasks on this CPU write, each write being a `local_add` (or C's
/// `local64_add()`), and the caller stays on this CPU (bottom halves
/// disabled). Readers on other CPUs may read it concurrently, word-sized
/// (`READ_ONCE`): they see the old or the new value, never a torn one.
#[inline(always)]
pub(super) unsafe fn local_add(p: *mut u64, v: u64) {
    #[cfg(all(target_arch = "x86_64", not(CONFIG_UML)))]
    // SAFETY: `p` is valid and aligned (see above); one instruction that
    // reads and writes `*p` and the flags, nothing else.
    unsafe {
        kernel::asm!(
            "addq {v}, ({p})";
            p = in(reg) p,
            v = in(reg) v,
            options(nostack),
        );
    }
    #[cfg(not(all(target_arch = "x86_64", not(CONFIG_UML))))]
    {
        // SAFETY: `p` is valid and aligned for the call (see above) and
        // only ever accessed atomically or by word-sized reads.
        unsafe { Atomic::<u64>::from_ptr(p) }.add(v, Relaxed);
    }
}

/// Adds `v` to a `u64_stats_t` of this CPU's copy of per-CPU stats
/// (`u64_stats_add()` on a 64-bit kernel: `local64_add()`).
///
/// # Safety
///
/// As [`local_add`]: `stat` points to a live `u64_stats_t` in this CPU's
/// copy of per-CPU stats that only tasks on this CPU write (no hard-IRQ
/// writer either: a driver of this layer has netpoll disabled, see
/// [`super::device::Device`]), and the caller stays on this CPU.
#[inline(always)]
pub(super) unsafe fn u64_stats_add(stat: *mut bindings::u64_stats_t, v: u64) {
    // `u64_stats_t` is `local64_t`, an `atomic_long_t` word, on 64-bit.
    const _: () = assert!(core::mem::size_of::<bindings::u64_stats_t>() == 8);
    // SAFETY: The counter word of a valid `u64_stats_t` (see above).
    unsafe { local_add((&raw mut (*stat).v.a.a.counter).cast::<u64>(), v) }
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
