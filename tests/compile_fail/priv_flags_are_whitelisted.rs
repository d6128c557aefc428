// expect: error\[E0423\]: cannot initialize a tuple struct which contains private fields
//! Private flags that make the core treat the device as another type
//! (IFF_802_1Q_VLAN: bpf_fib_lookup() would read vlan_dev_priv() from our
//! private area) cannot be built; only those in `priv_flags` can.
use crate::net::device::{PrivFlags, SetupDevice};
use crate::state::RvethPriv;

fn pretend_vlan(dev: &mut SetupDevice<RvethPriv>) {
    dev.set_priv_flags(PrivFlags(1));
}
