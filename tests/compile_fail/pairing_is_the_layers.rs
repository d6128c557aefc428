// expect: error\[E0407\]: method `newlink` is not a member of trait `Driver`
//! Creating the pair is the layer's (veth_newlink): a driver implements
//! `init_pair`, not `newlink`, so it cannot register, unwind or pair
//! devices itself.
use kernel::prelude::*;

use crate::net::device::{Device, SetupDevice};
use crate::net::link::{Driver, Tx};
use crate::net::nla::Policy;
use crate::net::skb::SkBuff;
use crate::net::BhDisabled;

struct Own;

#[vtable]
impl Driver for Own {
    type Priv = ();
    const KIND: &'static CStr = c"own";
    const DRIVER_VERSION: &'static CStr = c"0";
    const INFO_POLICY: &'static [Policy] = &[Policy::UNSPEC, Policy::ifinfomsg()];

    fn init_priv() {}
    fn setup(_dev: &mut SetupDevice<()>) {}
    fn newlink() -> Result {
        Ok(())
    }
    fn start_xmit(skb: SkBuff, _dev: &Device<()>, _bh: &BhDisabled) -> Tx {
        skb.dropped()
    }
}
