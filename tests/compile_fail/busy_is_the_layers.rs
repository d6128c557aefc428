// expect: error\[E0624\]: associated function `busy` is private
//! `NETDEV_TX_BUSY` gives the skb back to the core, which will send it
//! again: only the layer's `Forwarded::napi_xmit` says it, when it has
//! stopped the queue and kept the skb unfreed. A driver that freed or
//! delivered the skb cannot claim it is busy (the core would reuse a
//! freed skb).
use crate::net::device::Device;
use crate::net::link::Tx;
use crate::net::skb::SkBuff;
use crate::net::BhDisabled;
use crate::state::RvethPriv;

fn start_xmit(skb: SkBuff, _dev: &Device<RvethPriv>, _bh: &BhDisabled) -> Tx {
    drop(skb);
    Tx::busy()
}
