// SPDX-License-Identifier: GPL-2.0

//! The rveth link kind: setup, validation, creation and deletion of pairs,
//! carrier handling and ethtool.
//!
//! Names follow `drivers/net/veth.c` so the two read side by side.

use kernel::{
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        rcu,
    },
};

use crate::net::{
    bindings,
    device::{priv_flags, Device, Features, LinkStats64, NetRef, PeerSlot, SetupDevice, UnregisterQueue},
    link::{Driver, ExtAck, NewDevice, NewLinkParams, PeerRequest, Tx},
    nla::{ifla, Attrs, Msg, Policy},
    skb::SkBuff,
    BhDisabled, Rtnl,
};
use crate::xmit::{self, Counters};

/// `IFLA_INFO_DATA` attributes of kind rveth: veth's ABI (attribute 1,
/// the peer) plus the metadata policy of each direction.
pub(crate) mod info {
    use crate::net::bindings;
    /// The peer: struct ifinfomsg followed by IFLA_* attributes (veth's).
    pub(crate) const PEER: u16 = bindings::VETH_INFO_PEER as u16;
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

/// What the crossing does with `skb->mark` and `skb->priority` (as netkit's
/// scrub modes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scrub {
    /// Like veth: the mark is cleared across namespaces, the priority always.
    Default = 0,
    /// Mark and priority are kept.
    None = 1,
}

/// Where the sending socket's net_cls classid is carried across the pair.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClassidMode {
    /// Not carried (veth's behaviour).
    Off = 0,
    /// Written into `skb->mark` (classify on the host with `tc filter ... fw`).
    Mark = 1,
    /// Written into `skb->priority`.
    Priority = 2,
}

/// The metadata policy of one transmit direction.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct TxPolicy {
    pub(crate) scrub: Scrub,
    pub(crate) classid: ClassidMode,
}

impl TxPolicy {
    /// veth's behaviour.
    pub(crate) const DEFAULT: Self = Self {
        scrub: Scrub::Default,
        classid: ClassidMode::Off,
    };

    fn encode(self) -> u32 {
        self.scrub as u32 | (self.classid as u32) << 8
    }

    fn decode(v: u32) -> Self {
        Self {
            scrub: if v & 0xff == Scrub::None as u32 { Scrub::None } else { Scrub::Default },
            classid: match v >> 8 {
                1 => ClassidMode::Mark,
                2 => ClassidMode::Priority,
                _ => ClassidMode::Off,
            },
        }
    }

    /// Overrides the fields given as attributes `scrub` and `classid`.
    fn with(mut self, data: Option<Attrs<'_>>, scrub: u16, classid: u16) -> Self {
        let get = |ty: u16| data.and_then(|d| d.get(ty.into())).and_then(|a| a.get_u8());
        if let Some(v) = get(scrub) {
            self.scrub = if v == Scrub::None as u8 { Scrub::None } else { Scrub::Default };
        }
        if let Some(v) = get(classid) {
            self.classid = match v {
                1 => ClassidMode::Mark,
                2 => ClassidMode::Priority,
                _ => ClassidMode::Off,
            };
        }
        self
    }
}

/// A [`TxPolicy`] readable from the data path without locks: written once
/// in `newlink` before the device is registered, then only read.
pub(crate) struct PolicyCell(Atomic<u32>);

impl PolicyCell {
    fn new() -> Self {
        Self(Atomic::new(TxPolicy::DEFAULT.encode()))
    }
    /// The current policy.
    pub(crate) fn get(&self) -> TxPolicy {
        TxPolicy::decode(self.0.load(Relaxed))
    }
    fn set(&self, p: TxPolicy) {
        self.0.store(p.encode(), Relaxed)
    }
}

/// Smallest MTU accepted (`ETH_MIN_MTU`).
const MIN_MTU: u32 = bindings::ETH_MIN_MTU;
/// Largest MTU accepted (`ETH_MAX_MTU`).
const MAX_MTU: u32 = bindings::ETH_MAX_MTU;

/// The offloads veth advertises (`VETH_FEATURES`): rveth never touches the
/// payload, so checksums and segmentation are left to whoever needs them.
const FEATURES: Features = bindings::NETIF_F_HW_CSUM
    | bindings::NETIF_F_SG
    | bindings::NETIF_F_FRAGLIST
    | bindings::NETIF_F_RXCSUM
    | bindings::NETIF_F_SCTP_CRC
    | bindings::NETIF_F_HIGHDMA
    | bindings::NETIF_F_GSO_SOFTWARE
    | bindings::NETIF_F_GSO_ENCAP_ALL
    | VLAN_OFFLOADS;

const VLAN_OFFLOADS: Features = bindings::NETIF_F_HW_VLAN_CTAG_TX
    | bindings::NETIF_F_HW_VLAN_CTAG_RX
    | bindings::NETIF_F_HW_VLAN_STAG_TX
    | bindings::NETIF_F_HW_VLAN_STAG_RX;

/// Per-device state of an rveth end.
pub(crate) struct RvethPriv {
    /// The other end; cleared before either end is unregistered.
    pub(crate) peer: PeerSlot<RvethPriv>,
    /// Transmit-side counters of this end.
    pub(crate) counters: Counters,
    /// Metadata policy of this end's transmit direction.
    pub(crate) policy: PolicyCell,
}

/// The rveth link driver.
pub(crate) struct Rveth;

impl Driver for Rveth {
    type Priv = RvethPriv;
    const KIND: &'static CStr = c"rveth";
    const DRIVER_VERSION: &'static CStr = c"1.0";
    const PEER_TYPE: u16 = info::PEER;
    const INFO_POLICY: &'static [Policy] = &[
        Policy::UNSPEC,
        // info::PEER: struct ifinfomsg followed by IFLA_* attributes.
        Policy::min_len(core::mem::size_of::<bindings::ifinfomsg>()),
        // info::SCRUB, info::CLASSID, info::PEER_SCRUB, info::PEER_CLASSID
        Policy::u8_range(Scrub::Default as u8, Scrub::None as u8),
        Policy::u8_range(ClassidMode::Off as u8, ClassidMode::Priority as u8),
        Policy::u8_range(Scrub::Default as u8, Scrub::None as u8),
        Policy::u8_range(ClassidMode::Off as u8, ClassidMode::Priority as u8),
    ];
    const INFO_SIZE: usize = 4 * Msg::U8_SIZE;
    const ETHTOOL_STATS: &'static [&'static CStr] = xmit::ETHTOOL_STATS;

    fn init_priv() -> RvethPriv {
        RvethPriv {
            peer: PeerSlot::new(),
            counters: Counters::new(),
            policy: PolicyCell::new(),
        }
    }

    fn setup(dev: &mut SetupDevice<RvethPriv>) {
        dev.ether_setup();
        dev.update_priv_flags(
            priv_flags::LIVE_ADDR_CHANGE
                | priv_flags::NO_QUEUE
                | priv_flags::PHONY_HEADROOM
                | priv_flags::DISABLE_NETPOLL,
            priv_flags::TX_SKB_SHARING,
        );
        dev.set_lltx();
        dev.use_pcpu_tstats();
        dev.set_features(
            FEATURES,
            FEATURES & !VLAN_OFFLOADS,
            bindings::NETIF_F_HW_CSUM | bindings::NETIF_F_GSO_SOFTWARE,
        );
        dev.set_max_mtu(MAX_MTU);
        dev.set_tso_max_size(bindings::GSO_MAX_SIZE);
    }

    fn validate(tb: Attrs<'_>, _data: Option<Attrs<'_>>, extack: &ExtAck) -> Result {
        if let Some(addr) = tb.get(ifla::ADDRESS) {
            if addr.data().len() != bindings::ETH_ALEN as usize {
                extack.set_msg(c"rveth: MAC address must be 6 bytes");
                return Err(EINVAL);
            }
            if !crate::net::device::is_valid_ether_addr(addr.data()) {
                extack.set_msg(c"rveth: MAC address must be unicast and non-zero");
                return Err(EADDRNOTAVAIL);
            }
        }
        if let Some(mtu) = tb.get(ifla::MTU) {
            match mtu.get_u32() {
                Some(m) if (MIN_MTU..=MAX_MTU).contains(&m) => {}
                _ => {
                    extack.set_msg(c"rveth: MTU must be between 68 and 65535");
                    return Err(EINVAL);
                }
            }
        }
        Ok(())
    }

    fn newlink(dev: NewDevice<'_, RvethPriv>, params: &NewLinkParams<'_>) -> Result {
        let rtnl = params.rtnl();
        let req = PeerRequest::parse::<Self>(params)?;

        // Create and register the peer first; if anything after this fails,
        // dropping `peer` unregisters it again.
        // Metadata policies: before `peer` for both directions, peer_* for
        // the peer's transmit direction.
        let data = params.data();
        let dev_policy = TxPolicy::DEFAULT.with(data, info::SCRUB, info::CLASSID);
        let peer_policy = dev_policy.with(data, info::PEER_SCRUB, info::PEER_CLASSID);

        let peer = dev.create_peer(params, &req)?;
        peer.priv_data().policy.set(peer_policy);
        dev.priv_data().policy.set(dev_policy);
        let peer = peer.register()?;
        peer.carrier_off();
        peer.configure(&req)?;

        let dev = dev.register(params)?;
        dev.carrier_off();
        let peer = peer.keep();

        // Tie the devices together.
        dev.priv_data().peer.publish(peer, rtnl);
        peer.priv_data().peer.publish(dev, rtnl);
        Ok(())
    }

    fn dellink(dev: &Device<RvethPriv>, queue: &mut UnregisterQueue<'_>, rtnl: &Rtnl) {
        // Whichever end is deleted first takes both; the second call (same
        // batch, e.g. namespace teardown) finds its slot empty.
        let Some(peer) = dev.priv_data().peer.take(rtnl) else {
            return;
        };
        queue.queue(dev);
        let back = peer.priv_data().peer.take(rtnl);
        if let Some(back) = &back {
            queue.queue_net(back.net(), &*peer);
        }
        // `peer` and `back` drop here: both references are put (netdev_put)
        // after the devices were queued, as veth_dellink() does.
    }

    fn link_net<'a>(dev: &'a Device<RvethPriv>, guard: &'a rcu::Guard) -> NetRef<'a> {
        match dev.priv_data().peer.get(guard) {
            Some(peer) => peer.net(),
            None => dev.net(),
        }
    }

    fn fill_info(dev: &Device<RvethPriv>, msg: &mut Msg) -> Result {
        let own = dev.priv_data().policy.get();
        msg.put_u8(info::SCRUB, own.scrub as u8)?;
        msg.put_u8(info::CLASSID, own.classid as u8)?;
        let guard = rcu::read_lock();
        if let Some(peer) = dev.priv_data().peer.get(&guard) {
            let p = peer.priv_data().policy.get();
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

    fn get_peer_dev<'a>(dev: &'a Device<RvethPriv>, guard: &'a rcu::Guard) -> Option<&'a Device<RvethPriv>> {
        dev.priv_data().peer.get(guard)
    }

    fn ethtool_stats(dev: &Device<RvethPriv>, values: &mut [u64]) {
        xmit::ethtool_stats(dev, values)
    }
}
