// expect: error: usage of an `unsafe` block
// into: src/xmit.rs
// Appended to src/xmit.rs: the driver modules forbid `unsafe` code, only
// src/net may contain it.
fn raw_read(p: *const u32) -> u32 {
    unsafe { *p }
}
