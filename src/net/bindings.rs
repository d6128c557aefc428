// SPDX-License-Identifier: GPL-2.0

//! Bindings for the netdev headers, generated at build time.
//!
//! `scripts/gen-bindings.sh` runs bindgen on `src/net/bindings_helper.h` with
//! the exact command line Kbuild used for the kernel crate's own bindings, so
//! every struct here has the layout of the kernel the module is built for.
//! Nothing in this file is written by hand except the handful of type aliases
//! that the kernel's bindgen parameters blocklist (as `rust/bindings` does).

#![allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::as_underscore,
    clippy::cast_lossless,
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    unnecessary_transmutes,
    unknown_lints
)]

use kernel::ffi;
use pin_init::MaybeZeroable;

// Blocklisted by the kernel's bindgen parameters and defined by hand in
// `rust/bindings/lib.rs` too.
type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;

include!("bindings_generated.rs");
