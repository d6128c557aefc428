// expect: error\[E0624\]: method `napi_disable_range` is private
//! Turning NAPI off waits for a grace period (`synchronize_net`): called
//! inside an RCU read section it would sleep where sleeping is not allowed
//! (and turning it on while the device is down would leave a poll running
//! for a closed device). The layer runs NAPI (open, stop, set_features,
//! ethtool -L/-G); a driver cannot call either function.
use kernel::sync::rcu;

use crate::net::device::Device;
use crate::net::Rtnl;
use crate::state::RvethPriv;

fn stop(dev: &Device<RvethPriv>, rtnl: &Rtnl) {
    let _guard = rcu::read_lock();
    dev.napi_disable_range(0..dev.queues().max_rx, rtnl);
}
