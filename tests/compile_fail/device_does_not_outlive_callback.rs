// expect: error: lifetime may not live long enough|borrowed data escapes
//! A device handed to a callback is borrowed for the callback: it cannot
//! be stored where it would outlive it (and its registration).
use crate::net::device::Device;
use crate::net::Rtnl;
use crate::state::RvethPriv;

static mut KEPT: Option<&'static Device<RvethPriv>> = None;

fn open(dev: &Device<RvethPriv>, _rtnl: &Rtnl) {
    // SAFETY: (not the point of this case)
    unsafe { KEPT = Some(dev) };
}
