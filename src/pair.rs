// SPDX-License-Identifier: GPL-2.0

//! The rveth link kind: setup, validation, creation and deletion of pairs,
//! carrier handling and ethtool.
//!
//! Names follow `drivers/net/veth.c` so the two read side by side.

#![forbid(unsafe_code)]

use kernel::{prelude::*, sync::rcu};

use crate::net::{
    device::{
        features, is_valid_ether_addr, link_pair, priv_flags, Device, Features, LinkStats64,
        NetRef, SetupDevice, UnregisterQueue, ETH_ALEN, ETH_MAX_MTU, ETH_MIN_MTU, GSO_MAX_SIZE,
    },
    link::{Driver, ExtAck, NewDevice, NewLink, NewLinkParams, PeerRequest, Tx, VETH_INFO_PEER},
    nla::{ifla, Attrs, Msg, Policy},
    skb::SkBuff,
    BhDisabled, Rtnl,
};
use crate::policy::{ClassidMode, Scrub, TxPolicy};
use crate::state::{self, RvethPriv};
use crate::xmit;

/// `IFLA_INFO_DATA` attributes of kind rveth: veth's ABI (attribute 1,
/// the peer) plus the metadata policy of each direction.
pub(crate) mod info {
    /// The peer: struct ifinfomsg followed by IFLA_* attributes (veth's).
    pub(crate) const PEER: u16 = super::VETH_INFO_PEER;
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
    | features::SG
    | features::FRAGLIST
    | features::RXCSUM
    | features::SCTP_CRC
    | features::HIGHDMA
    | features::GSO_SOFTWARE
    | features::GSO_ENCAP_ALL
    | VLAN_OFFLOADS;

const VLAN_OFFLOADS: Features = features::HW_VLAN_CTAG_TX
    | features::HW_VLAN_CTAG_RX
    | features::HW_VLAN_STAG_TX
    | features::HW_VLAN_STAG_RX;

/// The rveth link driver.
pub(crate) struct Rveth;

#[vtable]
impl Driver for Rveth {
    type Priv = RvethPriv;
    const KIND: &'static CStr = c"rveth";
    const DRIVER_VERSION: &'static CStr = c"1.0";
    const PEER_TYPE: u16 = info::PEER;
    const INFO_POLICY: &'static [Policy] = &[
        Policy::UNSPEC,
        // info::PEER: struct ifinfomsg followed by IFLA_* attributes.
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

    fn init_priv() -> RvethPriv {
        RvethPriv::new()
    }

    fn setup(dev: &mut SetupDevice<RvethPriv>) {
        dev.ether_setup();
        dev.update_priv_flags(
            priv_flags::LIVE_ADDR_CHANGE | priv_flags::NO_QUEUE | priv_flags::PHONY_HEADROOM,
            priv_flags::TX_SKB_SHARING,
        );
        dev.set_lltx();
        dev.set_features(
            FEATURES,
            FEATURES & !VLAN_OFFLOADS,
            features::HW_CSUM | features::GSO_SOFTWARE,
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

    fn newlink<'a>(
        mut dev: NewDevice<'a, RvethPriv>,
        params: &NewLinkParams<'a>,
    ) -> Result<NewLink<'a, RvethPriv>> {
        let req = PeerRequest::parse::<Self>(params)?;

        // Metadata policies: before `peer` for both directions, peer_* for
        // the peer's transmit direction.
        let data = params.data();
        let dev_policy = TxPolicy::DEFAULT.with(data, info::SCRUB, info::CLASSID);
        let peer_policy = dev_policy.with(data, info::PEER_SCRUB, info::PEER_CLASSID);

        // Create and register the peer first; if anything after this fails,
        // dropping `peer` unregisters it again (and dropping `dev` after its
        // registration unregisters it).
        let mut peer = dev.create_peer(params, &req)?;
        peer.priv_mut().policy = peer_policy;
        dev.priv_mut().policy = dev_policy;
        let peer = peer.register()?;
        peer.carrier_off();
        peer.configure(&req)?;

        let dev = dev.register(params)?;
        dev.carrier_off();

        // Tie the devices together: the last step that can fail.
        link_pair(&dev, &peer, RvethPriv::peer_slot, params.rtnl())?;
        peer.keep();
        Ok(dev)
    }

    fn dellink(dev: &Device<RvethPriv>, queue: &mut UnregisterQueue<'_>) {
        queue.queue_pair(dev, RvethPriv::peer_slot);
    }

    fn link_net<'a>(dev: &'a Device<RvethPriv>, guard: &'a rcu::Guard) -> NetRef<'a> {
        match dev.priv_data().peer.get(guard) {
            Some(peer) => peer.net(),
            None => dev.net(),
        }
    }

    fn fill_info(dev: &Device<RvethPriv>, msg: &mut Msg) -> Result {
        let own = dev.priv_data().policy;
        msg.put_u8(info::SCRUB, own.scrub as u8)?;
        msg.put_u8(info::CLASSID, own.classid as u8)?;
        let guard = rcu::read_lock();
        if let Some(peer) = dev.priv_data().peer.get(&guard) {
            let p = peer.priv_data().policy;
            msg.put_u8(info::PEER_SCRUB, p.scrub as u8)?;
            msg.put_u8(info::PEER_CLASSID, p.classid as u8)?;
        }
        Ok(())
    }

    fn open(dev: &Device<RvethPriv>, rtnl: &Rtnl) -> Result {
        let peer = dev.priv_data().peer.get_rtnl(rtnl).ok_or(ENOTCONN)?;
        if peer.is_up() {
            dev.carrier_on();
            peer.carrier_on();
        }
        Ok(())
    }

    fn stop(dev: &Device<RvethPriv>, rtnl: &Rtnl) {
        dev.carrier_off();
        if let Some(peer) = dev.priv_data().peer.get_rtnl(rtnl) {
            peer.carrier_off();
        }
    }

    fn start_xmit(skb: SkBuff, dev: &Device<RvethPriv>, bh: &BhDisabled) -> Tx {
        xmit::xmit(skb, dev, bh)
    }

    fn get_stats64(dev: &Device<RvethPriv>, stats: &mut LinkStats64) {
        xmit::get_stats64(dev, stats)
    }

    fn get_iflink(dev: &Device<RvethPriv>) -> i32 {
        let guard = rcu::read_lock();
        dev.priv_data().peer.get(&guard).map_or(0, |p| p.ifindex())
    }

    fn get_peer_dev<'a>(
        dev: &'a Device<RvethPriv>,
        guard: &'a rcu::Guard,
    ) -> Option<&'a Device<RvethPriv>> {
        dev.priv_data().peer.get(guard)
    }

    fn ethtool_stats(dev: &Device<RvethPriv>, values: &mut [u64]) {
        xmit::ethtool_stats(dev, values)
    }
}
