// expect: error: lifetime may not live long enough|borrowed data escapes
//! The device `Driver::open` gets is borrowed for the callback: it cannot
//! be stored where it would outlive it (and its registration).
use kernel::prelude::*;

use crate::net::device::{Device, SetupDevice};
use crate::net::link::{Driver, Tx};
use crate::net::nla::Policy;
use crate::net::skb::SkBuff;
use crate::net::{BhDisabled, Rtnl};

struct Keeper;

static mut KEPT: Option<&'static Device<()>> = None;

#[vtable]
impl Driver for Keeper {
    type Priv = ();
    const KIND: &'static CStr = c"keeper";
    const DRIVER_VERSION: &'static CStr = c"0";
    const INFO_POLICY: &'static [Policy] = &[Policy::UNSPEC, Policy::ifinfomsg()];

    fn init_priv() {}
    fn setup(_dev: &mut SetupDevice<()>) {}
    fn open(dev: &Device<()>, _rtnl: &Rtnl) -> Result {
        // SAFETY: (not the point of this case)
        unsafe { KEPT = Some(dev) };
        Ok(())
    }
    fn start_xmit(skb: SkBuff, _dev: &Device<()>, _bh: &BhDisabled) -> Tx {
        skb.dropped()
    }
}
