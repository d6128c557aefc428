// expect: error\[E0599\]: no method named `counters` found for struct `NewDevice
//! An unregistered device has no per-CPU statistics: using it where a
//! registered `Device` is needed (here: counting in its counters, which
//! would write through `this_cpu_ptr(NULL)`) must not compile.
use crate::net::link::NewDevice;
use crate::net::BhDisabled;
use crate::state::RvethPriv;

fn count_before_register(dev: NewDevice<'_, RvethPriv>, bh: &BhDisabled) {
    dev.counters().local(bh).add(0, 1);
}
