// expect: error\[E0603\]: constant `DISABLE_NETPOLL` is private
//! The transmit adapter relies on IFF_DISABLE_NETPOLL (netpoll calls
//! ndo_start_xmit without disabling BH); a driver cannot clear it.
use crate::net::device::{priv_flags, SetupDevice};
use crate::state::RvethPriv;

fn enable_netpoll(dev: &mut SetupDevice<RvethPriv>) {
    dev.update_priv_flags(0, priv_flags::DISABLE_NETPOLL);
}
