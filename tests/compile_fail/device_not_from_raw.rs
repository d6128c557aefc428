// expect: error\[E0624\]: associated function `from_raw` is private
//! A `Device` is made only by the adapters, for registered devices: no
//! driver code can wrap an arbitrary pointer.
use crate::net::device::Device;
use crate::state::RvethPriv;

fn forge(p: *mut u8) {
    // SAFETY: (not the point of this case)
    let _ = unsafe { Device::<RvethPriv>::from_raw(p.cast()) };
}
