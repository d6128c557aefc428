// expect: error\[E0423\]: cannot initialize a tuple struct which contains private fields
//! Feature flags the device cannot honour (NETIF_F_HW_L2FW_DOFFLOAD makes
//! macvlan call a NULL ndo_dfwd_add_station) cannot be built.
use crate::net::device::{Features, SetupDevice};
use crate::state::RvethPriv;

fn all_features(dev: &mut SetupDevice<RvethPriv>) {
    let all = Features(u64::MAX);
    dev.set_features(all, all, all);
}
