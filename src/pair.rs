// SPDX-License-Identifier: GPL-2.0

//! The rveth link kind: setup, validation, the metadata policy of a new
//! pair, carrier handling and ethtool. Creating and deleting the pair itself
//! (`veth_newlink()`, `veth_dellink()`) is the pair layer's
//! (`crate::net::link`), which calls [`Driver::init_pair`] in between.
//!
//! Names follow `drivers/net/veth.c` so the two read side by side.

#![forbid(unsafe_code)]

use kernel::{prelude::*, sync::rcu};

use crate::net::{
    device::{
        features, is_valid_ether_addr, priv_flags, Device, Features, LinkStats64, SetupDevice,
        ETH_ALEN, ETH_MAX_MTU, ETH_MIN_MTU, GSO_MAX_SIZE,
    },
    link::{Driver, ExtAck, Tx},
    napi::{NapiPoll, PollDone},
    nla::{ifla, Attrs, Msg, Policy},
    skb::SkBuff,
    BhDisabled, Rtnl,
};
use crate::policy::{ClassidMode, Scrub, TxPolicy};
use crate::state::{self, RvethPriv};
use crate::xmit;

/// `IFLA_INFO_DATA` attributes of kind rveth: veth's ABI (attribute 1,
/// `VETH_INFO_PEER`, read by the pair layer) plus the metadata policy of
/// each direction.
pub(crate) mod info {
    /// u8 [`super::Scrub`] of the device's transmit direction (and the
    /// peer's, unless [`PEER_SCRUB`] is given).
    pub(crate) const SCRUB: u16 = 2;
    /// u8 [`super::ClassidMode`], like [`SCRUB`].
    pub(crate) const CLASSID: u16 = 3;
    /// u8 [`super::Scrub`] of the peer's transmit direction.
    pub(crate) const PEER_SCRUB: u16 = 4;
    /// u8 [`super::ClassidMode`] of the peer's transmit direction.
    pub(crate) const PEER_CLASSID: u16 = 5;
}

/// The offloads veth advertises (`VETH_FEATURES`): rveth never touches the
/// payload, so checksums and segmentation are left to whoever needs them.
const FEATURES: Features = features::HW_CSUM
    .with(features::SG)
    .with(features::FRAGLIST)
    .with(features::RXCSUM)
    .with(features::SCTP_CRC)
    .with(features::HIGHDMA)
    .with(features::GSO_SOFTWARE)
    .with(features::GSO_ENCAP_ALL)
    .with(VLAN_OFFLOADS);

const VLAN_OFFLOADS: Features = features::HW_VLAN_CTAG_TX
    .with(features::HW_VLAN_CTAG_RX)
    .with(features::HW_VLAN_STAG_TX)
    .with(features::HW_VLAN_STAG_RX);

/// The rveth link driver.
pub(crate) struct Rveth;

#[vtable]
impl Driver for Rveth {
    type Priv = RvethPriv;
    const KIND: &'static CStr = c"rveth";
    const DRIVER_VERSION: &'static CStr = c"1.0";
    const INFO_POLICY: &'static [Policy] = &[
        Policy::UNSPEC,
        // VETH_INFO_PEER: struct ifinfomsg followed by IFLA_* attributes.
        Policy::ifinfomsg(),
        // info::SCRUB, info::CLASSID, info::PEER_SCRUB, info::PEER_CLASSID
        Policy::u8_range(0, Scrub::MAX),
        Policy::u8_range(0, ClassidMode::MAX),
        Policy::u8_range(0, Scrub::MAX),
        Policy::u8_range(0, ClassidMode::MAX),
    ];
    const INFO_SIZE: usize = 4 * Msg::U8_SIZE;
    const ETHTOOL_STATS: &'static [&'static CStr] = state::ETHTOOL_STATS;
    const PCPU_COUNTERS: usize = state::COUNTERS;
    // Beyond veth: a frame redirected into an end is delivered although the
    // peer has no XDP program and GRO off (veth needs a dummy program on
    // the peer for that); `ethtool -S` counts them in `xdp_xmit_to_stack`.
    const XDP_XMIT_TO_STACK: bool = true;

    fn init_priv() -> RvethPriv {
        RvethPriv::new()
    }

    fn setup(dev: &mut SetupDevice<RvethPriv>) {
        dev.ether_setup();
        dev.set_priv_flags(
            priv_flags::LIVE_ADDR_CHANGE
                .with(priv_flags::NO_QUEUE)
                .with(priv_flags::PHONY_HEADROOM),
        );
        dev.set_lltx();
        dev.set_features(
            FEATURES,
            FEATURES.without(VLAN_OFFLOADS),
            features::HW_CSUM.with(features::GSO_SOFTWARE),
        );
        dev.set_max_mtu(ETH_MAX_MTU);
        dev.set_tso_max_size(GSO_MAX_SIZE);
    }

    fn validate(tb: Attrs<'_>, _data: Option<Attrs<'_>>, extack: &ExtAck) -> Result {
        if let Some(addr) = tb.get(ifla::ADDRESS) {
            if addr.data().len() != ETH_ALEN {
                extack.set_msg(c"rveth: MAC address must be 6 bytes");
                return Err(EINVAL);
            }
            if !is_valid_ether_addr(addr.data()) {
                extack.set_msg(c"rveth: MAC address must be unicast and non-zero");
                return Err(EADDRNOTAVAIL);
            }
        }
        if let Some(mtu) = tb.get(ifla::MTU) {
            match mtu.get_u32() {
                Some(m) if (ETH_MIN_MTU..=ETH_MAX_MTU).contains(&m) => {}
                _ => {
                    extack.set_msg(c"rveth: MTU must be between 68 and 65535");
                    return Err(EINVAL);
                }
            }
        }
        Ok(())
    }

    fn init_pair(
        dev: &mut RvethPriv,
        peer: &mut RvethPriv,
        data: Option<Attrs<'_>>,
        _extack: &ExtAck,
    ) -> Result {
        // Metadata policies: before `peer` for both directions, peer_* for
        // the peer's transmit direction.
        dev.policy = TxPolicy::DEFAULT.with(data, info::SCRUB, info::CLASSID);
        peer.policy = dev.policy.with(data, info::PEER_SCRUB, info::PEER_CLASSID);
        Ok(())
    }

    fn fill_info(dev: &Device<RvethPriv>, msg: &mut Msg) -> Result {
        let own = dev.priv_data().policy;
        msg.put_u8(info::SCRUB, own.scrub as u8)?;
        msg.put_u8(info::CLASSID, own.classid as u8)?;
        let guard = rcu::read_lock();
        if let Some(peer) = dev.peer(&guard) {
            let p = peer.priv_data().policy;
            msg.put_u8(info::PEER_SCRUB, p.scrub as u8)?;
            msg.put_u8(info::PEER_CLASSID, p.classid as u8)?;
        }
        Ok(())
    }

    /// `veth_open()`: the carrier of both ends if the peer is up (the layer
    /// turned NAPI on before, if GRO is wanted).
    fn open(dev: &Device<RvethPriv>, rtnl: &Rtnl) -> Result {
        let peer = dev.peer_rtnl(rtnl).ok_or(ENOTCONN)?;
        if peer.is_up() {
            dev.carrier_on();
            peer.carrier_on();
        }
        Ok(())
    }

    /// `veth_close()`: carrier off at both ends (the layer turns NAPI off
    /// after this).
    fn stop(dev: &Device<RvethPriv>, rtnl: &Rtnl) {
        dev.carrier_off();
        if let Some(peer) = dev.peer_rtnl(rtnl) {
            peer.carrier_off();
        }
    }

    // The data path's two entry points are inlined into the layer's
    // adapters: under emulation a call and its return together cost about
    // as much as 20 instructions (docs/performance.md, "Where the time
    // goes: TB exits").
    #[inline(always)]
    fn poll<'a>(ctx: NapiPoll<'a, RvethPriv>) -> PollDone<'a> {
        xmit::poll(ctx)
    }

    #[inline(always)]
    fn start_xmit(skb: SkBuff, dev: &Device<RvethPriv>, bh: &BhDisabled) -> Tx {
        xmit::xmit(skb, dev, bh)
    }

    fn get_stats64(dev: &Device<RvethPriv>, stats: &mut LinkStats64) {
        xmit::get_stats64(dev, stats)
    }

    fn ethtool_stats(dev: &Device<RvethPriv>, values: &mut [u64]) {
        xmit::ethtool_stats(dev, values)
    }
}
