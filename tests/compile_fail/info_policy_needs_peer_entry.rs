// expect: error\[E0080\]: evaluation panicked: assertion failed: info_policy_ok
// at: src/net/link.rs
//! The layer reads IFLA_INFO_DATA attribute VETH_INFO_PEER as a struct
//! ifinfomsg: a driver whose policy lets it be a u8 is refused when the
//! kind is registered, at compile time.
use kernel::prelude::*;

use crate::net::device::{Device, SetupDevice};
use crate::net::link::{Driver, PairModule, Tx};
use crate::net::nla::Policy;
use crate::net::skb::SkBuff;
use crate::net::BhDisabled;

struct Bad;

#[vtable]
impl Driver for Bad {
    type Priv = ();
    const KIND: &'static CStr = c"bad";
    const DRIVER_VERSION: &'static CStr = c"0";
    const INFO_POLICY: &'static [Policy] = &[Policy::UNSPEC, Policy::u8_range(0, 1)];

    fn init_priv() {}
    fn setup(_dev: &mut SetupDevice<()>) {}
    fn start_xmit(skb: SkBuff, _dev: &Device<()>, _bh: &BhDisabled) -> Tx {
        skb.dropped()
    }
}

// Reachable (a symbol of the module), as a driver's module init is: the
// check is evaluated when `PairModule::<Bad>::init` is instantiated.
#[no_mangle]
extern "C" fn rveth_compile_fail_register(m: &'static kernel::ThisModule) -> bool {
    <PairModule<Bad> as kernel::Module>::init(m).is_ok()
}
