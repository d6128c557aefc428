// expect: error: usage of an `unsafe` block
//! Driver modules forbid `unsafe` code: only src/net may contain it.
#![forbid(unsafe_code)]

fn raw(p: *const u32) -> u32 {
    unsafe { *p }
}
