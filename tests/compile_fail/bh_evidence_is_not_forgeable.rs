// expect: error\[E0624\]: associated function `assume` is private
//! "Bottom halves are disabled" is only asserted by the transmit adapter:
//! a driver cannot make the evidence to count per CPU or read the peer
//! outside the transmit path.
use crate::net::BhDisabled;

fn forge() {
    // SAFETY: (not the point of this case)
    let _ = unsafe { BhDisabled::assume() };
}
