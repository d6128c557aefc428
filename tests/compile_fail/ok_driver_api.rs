// expect: (positive control: this file must compile)
//! What a driver may do, with the same calls the misuse cases get wrong:
//! if this stops compiling, the misuse cases prove nothing.
use kernel::sync::rcu;

use crate::net::device::{features, priv_flags, Device, SetupDevice};
use crate::net::{BhDisabled, Rtnl};
use crate::state::RvethPriv;

fn setup(dev: &mut SetupDevice<RvethPriv>) {
    dev.set_priv_flags(priv_flags::NO_QUEUE.with(priv_flags::LIVE_ADDR_CHANGE));
    let f = features::SG.with(features::HW_CSUM);
    dev.set_features(f, f.without(features::SG), f);
}

fn uses(dev: &Device<RvethPriv>, rtnl: &Rtnl, bh: &BhDisabled) -> i32 {
    dev.counters().local(bh).add(0, 1);
    let guard = rcu::read_lock();
    let a = dev.peer(&guard).map_or(0, |p| p.ifindex());
    let b = dev.peer_rtnl(rtnl).map_or(0, |p| p.ifindex());
    let c = dev.peer_bh(bh).map_or(0, |p| p.ifindex());
    a + b + c
}
