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

fn poll<'a>(mut ctx: crate::net::napi::NapiPoll<'a, RvethPriv>) -> crate::net::napi::PollDone<'a> {
    while let Some(item) = ctx.next() {
        let skb = match (ctx.xdp_prog(), item) {
            (Some(prog), item) => ctx.xdp_run(item, prog),
            (None, crate::net::napi::RxItem::Skb(skb)) => Some(skb),
            (None, crate::net::napi::RxItem::Frame(frame)) => ctx.frame_to_skb(frame),
        };
        if let Some(skb) = skb {
            ctx.gro_receive(skb);
        }
    }
    ctx.complete()
}

fn xmit(skb: crate::net::skb::SkBuff, dev: &Device<RvethPriv>, bh: &BhDisabled) -> crate::net::link::Tx {
    let Some(peer) = dev.peer_bh(bh) else {
        return skb.dropped();
    };
    let napi = peer
        .napi_target(&skb, bh)
        .filter(|_| skb.gro_eligible(dev, peer));
    match (skb.forward_to(peer), napi) {
        (Ok(fwd), Some(target)) => fwd.napi_xmit(target, bh),
        (Ok(fwd), None) => fwd.netif_rx(bh),
        (Err(tx), _) => tx,
    }
}
