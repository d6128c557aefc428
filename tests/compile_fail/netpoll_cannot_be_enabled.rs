// expect: error\[E0603\]: constant `DISABLE_NETPOLL` is private
//! The transmit adapter relies on IFF_DISABLE_NETPOLL (netpoll calls
//! ndo_start_xmit without disabling BH); a driver cannot name the flag, and
//! the setup adapter sets it after the driver's `setup` in any case.
use crate::net::device::{priv_flags, SetupDevice};
use crate::state::RvethPriv;

fn enable_netpoll(dev: &mut SetupDevice<RvethPriv>) {
    let _ = priv_flags::DISABLE_NETPOLL;
    dev.set_priv_flags(priv_flags::NO_QUEUE);
}
