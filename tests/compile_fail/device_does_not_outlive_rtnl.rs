// expect: error: lifetime may not live long enough|borrowed data escapes
//! A device kept at the end of `newlink` is borrowed for the RTNL section:
//! it cannot be stored where it would outlive it.
use crate::net::device::Device;
use crate::net::link::Registered;
use crate::state::RvethPriv;

static mut KEPT: Option<&'static Device<RvethPriv>> = None;

fn keep_forever(peer: Registered<'_, RvethPriv>) {
    let dev = peer.keep();
    // SAFETY: (not the point of this case)
    unsafe { KEPT = Some(dev) };
}
