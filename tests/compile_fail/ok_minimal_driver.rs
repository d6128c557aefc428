// expect: (positive control: this file must compile)
//! The same driver as info_policy_needs_peer_entry.rs, with the peer
//! entry the layer needs: registering it compiles.
use kernel::prelude::*;

use crate::net::device::{Device, SetupDevice};
use crate::net::link::{Driver, PairModule, Tx};
use crate::net::nla::Policy;
use crate::net::skb::SkBuff;
use crate::net::{BhDisabled, Rtnl};

struct Bad;

#[vtable]
impl Driver for Bad {
    type Priv = ();
    const KIND: &'static CStr = c"bad";
    const DRIVER_VERSION: &'static CStr = c"0";
    const INFO_POLICY: &'static [Policy] = &[Policy::UNSPEC, Policy::ifinfomsg()];

    fn init_priv() {}
    fn setup(_dev: &mut SetupDevice<()>) {}
    fn open(dev: &Device<()>, _rtnl: &Rtnl) -> Result {
        let _ = dev.ifindex();
        Ok(())
    }
    fn start_xmit(skb: SkBuff, _dev: &Device<()>, _bh: &BhDisabled) -> Tx {
        skb.dropped()
    }
}

// Reachable (a symbol of the module), as a driver's module init is: the
// checks are evaluated when `PairModule::<Bad>::init` is instantiated.
#[no_mangle]
extern "C" fn rveth_compile_fail_register(m: &'static kernel::ThisModule) -> bool {
    <PairModule<Bad> as kernel::Module>::init(m).is_ok()
}
