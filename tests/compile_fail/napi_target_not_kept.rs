// expect: error\[E0621\]: explicit lifetime required in the type of `bh`
//! A `NapiTarget` is a receive queue seen published during one
//! BH-disabled section; its ring is only kept initialised until the grace
//! period after the queue is turned off, which that section holds off. It
//! cannot be kept past the section (here: for a later transmit), however
//! long the device outlives it.
use crate::net::device::Device;
use crate::net::napi::NapiTarget;
use crate::net::skb::SkBuff;
use crate::net::BhDisabled;
use crate::state::RvethPriv;

fn keep<'d>(
    peer: &'d Device<RvethPriv>,
    skb: &SkBuff,
    bh: &BhDisabled,
    kept: &mut Option<NapiTarget<'d>>,
) {
    *kept = peer.napi_target(skb, bh);
}
