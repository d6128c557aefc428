// SPDX-License-Identifier: GPL-2.0

//! Link kinds created through rtnetlink (`ip link add ... type KIND`).
//!
//! A driver implements [`Driver`]; [`Registration`] builds `rtnl_link_ops`,
//! `net_device_ops` and `ethtool_ops` tables whose C callbacks are the
//! generic adapters below, and registers the kind for as long as it lives.
//! Optional callbacks (`#[vtable]`) are left NULL in the tables unless the
//! driver implements them, as `kernel::net::phy` does.
//!
//! C header: [`include/net/rtnetlink.h`](srctree/include/net/rtnetlink.h)

use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use kernel::{
    error::{from_result, to_result, VTABLE_DEFAULT_ERROR},
    prelude::*,
    sync::rcu,
    types::{NotThreadSafe, Opaque},
};

use super::{
    bindings,
    device::{
        link_pair, priv_area, Device, Features, LinkStats64, PeerSlot, PrivArea, SetupDevice,
        UnregisterQueue,
    },
    ethtool,
    napi::{self, NapiPoll, PollDone, RxQueues},
    nla::{ifla, Attrs, Msg, Policy},
    percpu::{self, Counters},
    skb::SkBuff,
    xdp, BhDisabled, Rtnl,
};

/// veth's `IFLA_INFO_DATA` attribute for the peer (`VETH_INFO_PEER`): a
/// `struct ifinfomsg` followed by `IFLA_*` attributes.
pub(crate) const VETH_INFO_PEER: u16 = bindings::VETH_INFO_PEER as u16;

/// What `ndo_start_xmit` did with its packet: the value a driver's
/// [`Driver::start_xmit`] must return.
///
/// It is made only by consuming the packet ([`SkBuff::dropped`],
/// [`SkBuff::forward_to`]'s error, [`super::skb::Forwarded::netif_rx`],
/// [`super::skb::Forwarded::napi_xmit`]), so a driver cannot return from
/// `start_xmit` having leaked its skb (a leaked skb holds its socket and
/// conntrack entry, which blocks the teardown of their namespace), nor
/// say `NETDEV_TX_BUSY` about an skb that was freed or delivered: only
/// `napi_xmit` makes [`TxOutcome::Busy`], when it hands the skb back to
/// the core. Not `Send`/`Sync`: it cannot be kept for a later call.
pub(crate) struct Tx {
    outcome: TxOutcome,
    _not_send: NotThreadSafe,
}

/// The kinds of [`Tx`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TxOutcome {
    /// Delivered to the receiver's backlog (`__netif_rx`) and counted in
    /// the sender's tstats ([`super::skb::Forwarded::netif_rx`]):
    /// `NETDEV_TX_OK`.
    Delivered,
    /// Put into the receiver's NAPI ring: `NETDEV_TX_OK`; counted by the
    /// receiving queue's poll, not in the sender's tstats (as veth does).
    Queued,
    /// Dropped and freed: `NET_XMIT_DROP`.
    Dropped,
    /// Handed back to the core unchanged, the transmit queue stopped:
    /// `NETDEV_TX_BUSY` (only with a qdisc, which retries it later).
    Busy,
}

impl Tx {
    fn new(outcome: TxOutcome) -> Self {
        Self {
            outcome,
            _not_send: NotThreadSafe,
        }
    }

    /// The packet was delivered (`NETDEV_TX_OK`).
    pub(super) fn delivered() -> Self {
        Self::new(TxOutcome::Delivered)
    }

    /// The packet was queued on a NAPI ring (`NETDEV_TX_OK`).
    pub(super) fn queued() -> Self {
        Self::new(TxOutcome::Queued)
    }

    /// The packet was dropped and freed (`NET_XMIT_DROP`).
    pub(super) fn dropped() -> Self {
        Self::new(TxOutcome::Dropped)
    }

    /// The packet goes back to the core, unfreed (`NETDEV_TX_BUSY`).
    pub(super) fn busy() -> Self {
        Self::new(TxOutcome::Busy)
    }

    /// What happened to the packet.
    pub(crate) fn outcome(&self) -> TxOutcome {
        self.outcome
    }
}

/// The link driver of a pair device kind: the callbacks of `rtnl_link_ops`,
/// `net_device_ops` and `ethtool_ops` that differ between pair devices.
///
/// What makes a pair, and what the core's contracts depend on, is done by
/// the adapters of this module and cannot be changed by a driver: creating
/// the peer and both registrations (`newlink`, as `veth_newlink()`: peer
/// first, every error unwound), tying and untying the ends (`dellink`, as
/// `veth_dellink()`), the peer-derived callbacks (`get_link_net`,
/// `ndo_get_iflink`, `ndo_get_peer_dev`), the peer attribute of
/// `IFLA_INFO_DATA` ([`VETH_INFO_PEER`]), and the device state the data
/// path relies on ([`SetupDevice::finish`]).
///
/// All callbacks are safe; callbacks with a default body are optional.
#[vtable]
pub(crate) trait Driver: Sized + 'static {
    /// Per-device private data, stored in `netdev_priv()`.
    ///
    /// It must not need dropping: the core frees the private area without
    /// telling the driver on some error paths.
    type Priv: Sync;
    /// The link kind (`ip link add ... type KIND`).
    const KIND: &'static CStr;
    /// Driver name and version reported by `ethtool -i`.
    const DRIVER_VERSION: &'static CStr;
    /// Policy of the `IFLA_INFO_DATA` attributes; index 0 is unused and
    /// index [`VETH_INFO_PEER`] must be [`Policy::ifinfomsg`] (checked when
    /// the kind is registered, at compile time).
    const INFO_POLICY: &'static [Policy];
    /// Names of the `ethtool -S` counters.
    const ETHTOOL_STATS: &'static [&'static CStr] = &[];
    /// Number of per-CPU `u64` counters of each device ([`Device::counters`],
    /// allocated on their first add).
    const PCPU_COUNTERS: usize = 0;
    /// Space [`Driver::fill_info`] needs at most (`get_size`).
    const INFO_SIZE: usize = 0;
    /// With a [`Driver::poll`]: whether frames redirected into a device
    /// (`ndo_xdp_xmit`) are delivered while the peer's receive queue has
    /// NAPI off (no XDP program and no GRO there). veth drops them (its
    /// devices advertise `NDO_XMIT` only while the peer has NAPI on, so
    /// the redirect fails); with this set, the devices always advertise
    /// `NDO_XMIT` and `NDO_XMIT_SG`, and such frames become skbs handed to
    /// the peer's stack (`netif_rx()`, as `cpumap` does) instead of going
    /// through the peer's ring.
    const XDP_XMIT_TO_STACK: bool = false;

    /// Returns the initial private data of a new device.
    fn init_priv() -> Self::Priv;
    /// Sets up a freshly allocated device (`setup`).
    fn setup(dev: &mut SetupDevice<Self::Priv>);
    /// Validates a request before anything is created (`validate`).
    ///
    /// Called for the device's attributes with `data`, and for the peer's
    /// attributes with `data == None`.
    fn validate(_tb: Attrs<'_>, _data: Option<Attrs<'_>>, _extack: &ExtAck) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// Configures the private data of both ends of a new pair from the
    /// request's `IFLA_INFO_DATA`, after both were created and before
    /// either is registered (part of `newlink`). An error deletes both.
    fn init_pair(
        _dev: &mut Self::Priv,
        _peer: &mut Self::Priv,
        _data: Option<Attrs<'_>>,
        _extack: &ExtAck,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// Fills `IFLA_INFO_DATA` of link dumps (`fill_info`).
    fn fill_info(_dev: &Device<Self::Priv>, _msg: &mut Msg) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// `ndo_open`. With a [`Driver::poll`], NAPI is already on if GRO is
    /// wanted; an error turns it off again.
    fn open(_dev: &Device<Self::Priv>, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// `ndo_stop`. With a [`Driver::poll`], the layer turns NAPI off on
    /// every receive queue after it.
    fn stop(_dev: &Device<Self::Priv>, _rtnl: &Rtnl) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// `ndo_start_xmit`; runs with bottom halves disabled (`bh`).
    fn start_xmit(skb: SkBuff, dev: &Device<Self::Priv>, bh: &BhDisabled) -> Tx;
    /// `ndo_get_stats64`.
    fn get_stats64(_dev: &Device<Self::Priv>, _stats: &mut LinkStats64) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// `ndo_set_features`: the core is about to make `features` the active
    /// features (the old ones are still [`Device::features`]); an error
    /// keeps the old ones. Runs under RTNL. With a [`Driver::poll`], the
    /// layer then turns NAPI on or off if GRO changes while the device runs.
    fn set_features(_dev: &Device<Self::Priv>, _features: Features, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// The NAPI poll of a receive queue: takes skbs with [`NapiPoll::next`],
    /// hands them to [`NapiPoll::gro_receive`] and returns what
    /// [`NapiPoll::complete`] gives.
    ///
    /// A driver with a poll has veth's GRO mode, which the layer runs (the
    /// driver never turns NAPI on or off, so it cannot do so at the wrong
    /// time or while sleeping is not allowed): the receive queues in use
    /// have NAPI on while the device runs with GRO on (unless memory for
    /// the rings ran out: then the change that needed it failed, or, for
    /// `ethtool -G`, NAPI stays off with a warning), and never while the
    /// device is down. On in
    /// `ndo_open` (before [`Driver::open`]) if GRO is wanted, on or off in
    /// `ndo_set_features` when GRO changes, kept across `ethtool -L` and
    /// `ethtool -G`, off in `ndo_stop` (after [`Driver::stop`]). The peer's
    /// transmit reaches a queue with NAPI on through
    /// [`Forwarded::napi_xmit`](super::skb::Forwarded::napi_xmit).
    fn poll<'a>(_ctx: NapiPoll<'a, Self::Priv>) -> PollDone<'a> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// Checks an `ethtool -L` request to use `rx` receive and `tx`
    /// transmit queues before the layer applies it (the core refused 0 and
    /// counts above the maxima already). An error refuses the request;
    /// without this callback every such request is applied.
    fn check_channels(_dev: &Device<Self::Priv>, _rx: u32, _tx: u32, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// Values of the `ethtool -S` counters, in [`Driver::ETHTOOL_STATS`] order.
    fn ethtool_stats(_dev: &Device<Self::Priv>, _values: &mut [u64]) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// `RTNL_MAX_TYPE` of net/core/rtnetlink.c (not in a header): the largest
/// `maxtype` `rtnl_link_register()` accepts (it warns above it).
const RTNL_MAX_TYPE: usize = 50;

/// Whether `policy` can be a pair kind's `IFLA_INFO_DATA` policy: it has
/// [`VETH_INFO_PEER`], described as a `struct ifinfomsg` payload (the
/// adapters read it as one), and no more entries than rtnetlink accepts.
const fn info_policy_ok(policy: &[Policy]) -> bool {
    let peer = VETH_INFO_PEER as usize;
    policy.len() > peer && policy.len() - 1 <= RTNL_MAX_TYPE && policy[peer].is_ifinfomsg()
}

/// The netlink extended ack of a request (error messages for the user).
///
/// # Invariants
///
/// `self.0` is NULL or the request's valid extack, for as long as the
/// request runs (values of this type do not leave the callback).
pub(crate) struct ExtAck(*mut bindings::netlink_ext_ack);

impl ExtAck {
    /// Wraps the extack of a request.
    ///
    /// # Safety
    ///
    /// `raw` must be NULL or a valid extack for as long as the value is used.
    pub(super) unsafe fn from_raw(raw: *mut bindings::netlink_ext_ack) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self(raw)
    }

    /// Sets the error message returned with the request's error code, and
    /// fires the `netlink:netlink_extack` tracepoint with it, as
    /// `NL_SET_ERR_MSG()` does (also when there is no extack).
    pub(crate) fn set_msg(&self, msg: &'static CStr) {
        // SAFETY: The message is a static NUL-terminated string; the
        // function only passes it to the tracepoint.
        unsafe { bindings::do_trace_netlink_extack(msg.as_char_ptr()) };
        if !self.0.is_null() {
            // SAFETY: A non-NULL extack is valid during the request (type
            // invariant); the message is static.
            unsafe { (*self.0)._msg = msg.as_char_ptr() };
        }
    }
}

/// The parameters of a `newlink` request.
struct NewLinkParams<'a> {
    raw: &'a bindings::rtnl_newlink_params,
    extack: ExtAck,
    rtnl: &'a Rtnl,
    maxtype: usize,
}

impl<'a> NewLinkParams<'a> {
    /// The request's `IFLA_*` attributes.
    fn tb(&self) -> Attrs<'a> {
        // SAFETY: The core passes a table of IFLA_MAX + 1 entries.
        unsafe { Attrs::from_raw(self.raw.tb, ifla::MAX + 1) }
    }

    /// The request's `IFLA_INFO_DATA` attributes, if any.
    fn data(&self) -> Option<Attrs<'a>> {
        let d = self.raw.data;
        // SAFETY: When present, the table has `maxtype + 1` entries.
        (!d.is_null()).then(|| unsafe { Attrs::from_raw(d, self.maxtype + 1) })
    }

    /// RTNL, held for the whole request.
    fn rtnl(&self) -> &'a Rtnl {
        self.rtnl
    }

    fn peer_net(&self) -> *mut bindings::net {
        let p = self.raw;
        if !p.peer_net.is_null() {
            p.peer_net
        } else if !p.link_net.is_null() {
            p.link_net
        } else {
            p.src_net
        }
    }
}

/// The peer part of a request: the `struct ifinfomsg` and `IFLA_*`
/// attributes nested in [`VETH_INFO_PEER`], or the request's own
/// attributes when there is no peer part (as veth does).
struct PeerRequest<'a> {
    ifm: Option<&'a bindings::ifinfomsg>,
    tb: KBox<[*mut bindings::nlattr; ifla::MAX + 1]>,
}

impl<'a> PeerRequest<'a> {
    /// Parses the peer part of `params`.
    fn parse(params: &NewLinkParams<'a>) -> Result<Self> {
        let mut tb = KBox::new([ptr::null_mut(); ifla::MAX + 1], GFP_KERNEL)?;
        let peer = params.data().and_then(|d| d.get(VETH_INFO_PEER.into()));
        let ifm = match peer {
            Some(attr) => {
                // SAFETY: `tb` has IFLA_MAX + 1 entries; `attr` is valid and
                // at least sizeof(ifinfomsg) long (checked by the policy,
                // whose entry is asserted by `Registration::new`).
                to_result(unsafe {
                    bindings::rtnl_nla_parse_ifinfomsg(
                        tb.as_mut_ptr(),
                        attr.as_raw(),
                        params.extack.0,
                    )
                })?;
                // SAFETY: The payload starts with a `struct ifinfomsg`
                // (length checked by the policy); it lives as long as the
                // request. nlattr payloads are 4-byte aligned, as is ifinfomsg.
                Some(unsafe { &*attr.data().as_ptr().cast::<bindings::ifinfomsg>() })
            }
            None => {
                tb.copy_from_slice(params.tb().as_slice());
                None
            }
        };
        Ok(Self { ifm, tb })
    }

    /// The peer's `IFLA_*` attributes.
    fn tb(&self) -> Attrs<'_> {
        // SAFETY: `tb` has IFLA_MAX + 1 entries, NULL or valid attributes.
        unsafe { Attrs::from_raw(self.tb.as_ptr(), ifla::MAX + 1) }
    }

    /// Whether the request had a peer part.
    fn has_peer_part(&self) -> bool {
        self.ifm.is_some()
    }
}

/// The device a `newlink` request creates, not yet registered.
///
/// It does not give a [`Device`]: nothing that needs a registered device
/// can be done with it. If `newlink` fails before [`NewDevice::register`],
/// the core frees it.
///
/// # Invariants
///
/// `dev` is an unregistered device of a driver with private data `P`,
/// allocated by the core for this request and exclusively ours until
/// registered; RTNL is held for `'a`.
struct NewDevice<'a, P> {
    dev: NonNull<bindings::net_device>,
    _p: PhantomData<(&'a Rtnl, P)>,
}

impl<'a, P> NewDevice<'a, P> {
    /// The private data, writable until the device is registered.
    fn priv_mut(&mut self) -> &mut P {
        // SAFETY: The private data was initialised by the `setup` adapter
        // and the device is exclusively ours (type invariant).
        unsafe { &mut (*priv_area::<P>(self.dev.as_ptr())).data }
    }

    /// [`init_queues`] with the request's attributes.
    fn init_queues(&mut self, params: &NewLinkParams<'a>) -> Result {
        // SAFETY: Unregistered and ours (type invariant).
        unsafe { init_queues(self.dev.as_ptr(), params.tb()) }
    }

    /// Creates, in the peer namespace, an unregistered device of the same
    /// kind from `req` (`rtnl_create_link`), as `veth_newlink()` does: named
    /// after the peer part or `KIND%d`, with a random MAC unless the peer
    /// part gives one, and the peer part's ifindex.
    fn create_peer(
        &self,
        params: &NewLinkParams<'a>,
        req: &PeerRequest<'_>,
    ) -> Result<Unregistered<'a, P>> {
        let dev = self.dev.as_ptr();
        let tb = req.tb();
        let mut name = [0u8; bindings::IFNAMSIZ as usize];
        let assign = match (req.has_peer_part(), tb.get(ifla::IFNAME)) {
            (true, Some(attr)) => {
                // SAFETY: `name` has IFNAMSIZ bytes; `attr` is valid.
                unsafe {
                    bindings::nla_strscpy(name.as_mut_ptr().cast(), attr.as_raw(), name.len())
                };
                bindings::NET_NAME_USER
            }
            _ => {
                // SAFETY: `dev` is valid and its `rtnl_link_ops` is ours.
                let kind = unsafe { CStr::from_char_ptr((*(*dev).rtnl_link_ops).kind) };
                let k = kind.to_bytes();
                let n = k.len().min(name.len() - 3);
                name[..n].copy_from_slice(&k[..n]);
                name[n..n + 2].copy_from_slice(b"%d");
                bindings::NET_NAME_ENUM
            }
        };
        // SAFETY: All pointers are valid for the call; RTNL is held.
        let peer = unsafe {
            bindings::rtnl_create_link(
                params.peer_net(),
                name.as_ptr().cast(),
                assign as u8,
                (*dev).rtnl_link_ops,
                tb.as_raw(),
                params.extack.0,
            )
        };
        let peer = NonNull::new(kernel::error::from_err_ptr(peer)?).ok_or(ENOMEM)?;
        // INVARIANT: `peer` was created with our ops, so its private data is
        // a `P` (initialised by the `setup` adapter); it is ours until
        // registered, and freed if dropped before.
        let peer = Unregistered {
            dev: peer,
            _p: PhantomData,
        };
        // veth_newlink(): `if (!ifmp || !tbp[IFLA_ADDRESS])`. Without a peer
        // part `tb` is the request's own table, whose address is the
        // device's, not the peer's.
        if !req.has_peer_part() || tb.get(ifla::ADDRESS).is_none() {
            // SAFETY: `peer` is valid and unregistered.
            unsafe { bindings::rveth_eth_hw_addr_random(peer.dev.as_ptr()) };
        }
        if let Some(ifm) = req.ifm {
            // SAFETY: `dev` is valid.
            if unsafe { (*dev).ifindex } != 0 {
                // SAFETY: `peer` is unregistered and ours.
                unsafe { (*peer.dev.as_ptr()).ifindex = ifm.ifi_index };
            }
        }
        // SAFETY: Both devices are valid; `peer` is unregistered.
        unsafe { bindings::netif_inherit_tso_max(peer.dev.as_ptr(), dev) };
        Ok(peer)
    }

    /// Registers the device; a random MAC is assigned unless the request
    /// gave one. On failure the core frees the device.
    fn register(self, params: &NewLinkParams<'a>) -> Result<NewLink<'a, P>> {
        let dev = self.dev.as_ptr();
        if params.tb().get(ifla::ADDRESS).is_none() {
            // SAFETY: The device is valid and unregistered.
            unsafe { bindings::rveth_eth_hw_addr_random(dev) };
        }
        // SAFETY: The device is valid and unregistered; RTNL is held.
        to_result(unsafe { bindings::register_netdevice(dev) })?;
        // SAFETY: Registered just now; RTNL is held.
        unsafe { disable_gro(dev) };
        // INVARIANT: Registered above, during this request.
        Ok(NewLink {
            dev: self.dev,
            _p: PhantomData,
        })
    }
}

/// The request's device, registered by [`NewDevice::register`] during
/// `newlink`.
///
/// Dropping it (an error later in `newlink`) unregisters the device again;
/// the core's `free_netdev()` then defers the free to the unregistration.
///
/// # Invariants
///
/// `dev` is the request's device, registered by [`NewDevice::register`];
/// RTNL is held for `'a`.
struct NewLink<'a, P> {
    dev: NonNull<bindings::net_device>,
    _p: PhantomData<(&'a Rtnl, P)>,
}

impl<P> core::ops::Deref for NewLink<'_, P> {
    type Target = Device<P>;
    fn deref(&self) -> &Device<P> {
        // SAFETY: Registered (type invariant) by our driver, whose private
        // data is `P`; RTNL keeps it from being freed.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }
}

impl<P> Drop for NewLink<'_, P> {
    fn drop(&mut self) {
        // SAFETY: The device is registered; RTNL is held (type invariant).
        unsafe { bindings::rveth_unregister_netdevice(self.dev.as_ptr()) };
    }
}

/// `veth_init_queues()`: a new device uses one queue each way unless the
/// request's own attributes (`tb`, also for the peer, as veth does) gave
/// the count. Done before registration, where the core only records the
/// counts (so this cannot fail once the device is visible).
///
/// # Safety
///
/// `d` must be a valid, unregistered device that is exclusively ours.
unsafe fn init_queues(d: *mut bindings::net_device, tb: Attrs<'_>) -> Result {
    // SAFETY: Guaranteed by the caller.
    unsafe {
        if tb.get(ifla::NUM_TX_QUEUES).is_none() && (*d).num_tx_queues > 1 {
            to_result(bindings::netif_set_real_num_tx_queues(d, 1))?;
        }
        if tb.get(ifla::NUM_RX_QUEUES).is_none() && (*d).num_rx_queues > 1 {
            to_result(bindings::netif_set_real_num_rx_queues(d, 1))?;
        }
    }
    Ok(())
}

/// Clears GRO from the active and wanted features, as veth does for new
/// devices (GRO only matters with NAPI, which a pair device does not use).
///
/// # Safety
///
/// `d` must be a registered device and RTNL must be held.
unsafe fn disable_gro(d: *mut bindings::net_device) {
    // SAFETY: Guaranteed by the caller.
    unsafe {
        (*d).features &= !bindings::NETIF_F_GRO;
        (*d).wanted_features &= !bindings::NETIF_F_GRO;
        bindings::netdev_update_features(d);
    }
}

/// A device created by [`NewDevice::create_peer`], freed if dropped.
///
/// # Invariants
///
/// `dev` is an unregistered device of a driver with private data `P`,
/// exclusively ours; RTNL is held for `'a`.
struct Unregistered<'a, P> {
    dev: NonNull<bindings::net_device>,
    _p: PhantomData<(&'a Rtnl, P)>,
}

impl<'a, P> Unregistered<'a, P> {
    /// The private data, writable until the device is registered.
    fn priv_mut(&mut self) -> &mut P {
        // SAFETY: The private data was initialised by the `setup` adapter
        // and the device is exclusively ours (type invariant).
        unsafe { &mut (*priv_area::<P>(self.dev.as_ptr())).data }
    }

    /// [`init_queues`] with the request's (not the peer part's)
    /// attributes, as `veth_newlink()` does.
    fn init_queues(&mut self, params: &NewLinkParams<'a>) -> Result {
        // SAFETY: Unregistered and ours (type invariant).
        unsafe { init_queues(self.dev.as_ptr(), params.tb()) }
    }

    /// Registers the device; on failure it is freed.
    fn register(self) -> Result<Registered<'a, P>> {
        let dev = self.dev;
        core::mem::forget(self);
        // SAFETY: `dev` is valid and unregistered; RTNL is held.
        match to_result(unsafe { bindings::register_netdevice(dev.as_ptr()) }) {
            Ok(()) => {
                // SAFETY: Registered just now; RTNL is held.
                unsafe { disable_gro(dev.as_ptr()) };
                // INVARIANT: Registered above.
                Ok(Registered {
                    dev,
                    _p: PhantomData,
                })
            }
            Err(e) => {
                // SAFETY: Registration failed: the device is ours to free.
                unsafe { bindings::free_netdev(dev.as_ptr()) };
                Err(e)
            }
        }
    }
}

impl<P> Drop for Unregistered<'_, P> {
    fn drop(&mut self) {
        // SAFETY: The device was never registered and is ours.
        unsafe { bindings::free_netdev(self.dev.as_ptr()) };
    }
}

/// A registered device that is unregistered again if dropped, so that an
/// error later in `newlink` leaves nothing behind.
///
/// # Invariants
///
/// `dev` is a registered device of a driver with private data `P`, created
/// during this request; RTNL is held for `'a`.
struct Registered<'a, P> {
    dev: NonNull<bindings::net_device>,
    _p: PhantomData<(&'a Rtnl, P)>,
}

impl<'a, P> Registered<'a, P> {
    /// Applies the flags of the request's `ifinfomsg` and announces the
    /// device (`rtnl_configure_link`).
    fn configure(&self, req: &PeerRequest<'_>) -> Result {
        let ifm = req.ifm.map_or(ptr::null(), ptr::from_ref);
        // SAFETY: The device is registered; RTNL is held; `ifm` is NULL or valid.
        to_result(unsafe { bindings::rtnl_configure_link(self.dev.as_ptr(), ifm, 0, ptr::null()) })
    }

    /// Keeps the device registered.
    fn keep(self) -> &'a Device<P> {
        let dev = self.dev;
        core::mem::forget(self);
        // SAFETY: Registered (type invariant); RTNL, held for `'a`, keeps it
        // from being freed.
        unsafe { Device::from_raw(dev.as_ptr()) }
    }
}

impl<P> core::ops::Deref for Registered<'_, P> {
    type Target = Device<P>;
    fn deref(&self) -> &Device<P> {
        // SAFETY: Registered (type invariant).
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }
}

impl<P> Drop for Registered<'_, P> {
    fn drop(&mut self) {
        // SAFETY: The device is registered; RTNL is held (type invariant).
        unsafe { bindings::rveth_unregister_netdevice(self.dev.as_ptr()) };
    }
}

/// C entry points for driver `T`.
struct Adapter<T: Driver>(PhantomData<T>);

impl<T: Driver> Adapter<T> {
    /// # Safety
    ///
    /// `dev` must be a registered (or unregistering) device of driver `T`,
    /// valid for `'a`.
    unsafe fn dev<'a>(dev: *const bindings::net_device) -> &'a Device<T::Priv> {
        // SAFETY: Guaranteed by the caller.
        unsafe { Device::from_raw(dev.cast_mut()) }
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.setup`
    /// callback of a device of driver `T` being allocated.
    unsafe extern "C" fn setup(dev: *mut bindings::net_device) {
        // SAFETY: `dev` is being allocated with `priv_size ==
        // size_of::<PrivArea<T::Priv>>()`; no reference to it exists.
        let area = unsafe { priv_area::<T::Priv>(dev) };
        // SAFETY: `area` is the zeroed private area, aligned to
        // NETDEV_ALIGN (at least its alignment, checked at registration),
        // not yet initialised.
        unsafe {
            area.write(PrivArea {
                counters: const { Counters::new(T::PCPU_COUNTERS) },
                rxq: RxQueues::none(),
                peer: PeerSlot::new(),
                data: T::init_priv(),
            })
        };
        // SAFETY: `dev` is being set up and not visible to anyone else.
        let mut sdev = unsafe { SetupDevice::<T::Priv>::from_raw(dev) };
        T::setup(&mut sdev);
        // Native programs run only in the layer's poll, on its context.
        sdev.finish(
            &Self::NETDEV_OPS,
            &Self::ETHTOOL_OPS,
            T::HAS_POLL,
            Self::priv_destructor,
        );
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_init` callback of a
    /// device of driver `T` being registered.
    unsafe extern "C" fn init(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: `dev` is valid; its lock classes are set before anything
        // can take the locks (as `veth_dev_init()` does).
        unsafe { bindings::rveth_netdev_lockdep_set_classes(dev) };
        from_result(|| {
            let poll: Option<napi::PollFn> = if T::HAS_POLL {
                Some(Self::napi_poll)
            } else {
                None
            };
            // SAFETY: `dev` is valid; `num_rx_queues` is fixed at allocation.
            let n = unsafe { (*dev).num_rx_queues };
            let rxq = RxQueues::alloc(dev, n, poll, T::XDP_XMIT_TO_STACK)?;
            // `ndo_init` runs once per registration, and a device that failed
            // registration is freed: the queues are still `none()`. The
            // counters are allocated on their first add (see `Counters`).
            // SAFETY: The device is being registered under RTNL, not yet
            // visible to readers; its private area was initialised by `setup`.
            unsafe { (*priv_area::<T::Priv>(dev)).rxq = rxq };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `priv_destructor` of a
    /// device of driver `T`: after a failed registration or the last
    /// reference of an unregistered one, before it is freed.
    unsafe extern "C" fn priv_destructor(dev: *mut bindings::net_device) {
        // SAFETY: The device is being destroyed: nothing else uses its
        // private area any more (it was closed, so its NAPI instances are
        // off; `RxQueues::free` turns off any that is not).
        unsafe {
            let area = priv_area::<T::Priv>(dev);
            (*area).rxq.free();
            (*area).counters.free();
        }
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.validate`
    /// callback of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn validate(
        tb: *mut *mut bindings::nlattr,
        data: *mut *mut bindings::nlattr,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: The core passes IFLA_MAX + 1 entries in `tb`, and
        // `maxtype + 1` entries in `data` when it is not NULL.
        let (tb, data) = unsafe {
            (
                Attrs::from_raw(tb, ifla::MAX + 1),
                (!data.is_null()).then(|| Attrs::from_raw(data, T::INFO_POLICY.len())),
            )
        };
        from_result(|| T::validate(tb, data, &ExtAck(extack)).map(|()| 0))
    }

    /// `veth_newlink()`: creates and registers the peer, then registers the
    /// device, then ties them; every error unwinds what was done (dropping
    /// [`Unregistered`] frees, dropping [`Registered`] or [`NewLink`]
    /// unregisters). None of these values leaves this function.
    fn newlink_pair(dev: NewDevice<'_, T::Priv>, params: &NewLinkParams<'_>) -> Result {
        let mut dev = dev;
        let req = PeerRequest::parse(params)?;
        let mut peer = dev.create_peer(params, &req)?;
        dev.init_queues(params)?;
        peer.init_queues(params)?;
        if T::HAS_INIT_PAIR {
            T::init_pair(
                dev.priv_mut(),
                peer.priv_mut(),
                params.data(),
                &params.extack,
            )?;
        }
        let peer = peer.register()?;
        peer.carrier_off();
        peer.configure(&req)?;

        let dev = dev.register(params)?;
        dev.carrier_off();

        // Both are registered by us and their slots are new: this cannot
        // fail, but if it did, both would be unregistered unpaired.
        link_pair(&dev, &peer, params.rtnl())?;
        if T::HAS_POLL {
            dev.update_xdp_features(params.rtnl());
            peer.update_xdp_features(params.rtnl());
        }
        peer.keep();
        core::mem::forget(dev);
        Ok(())
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.newlink`
    /// callback of driver `T`, under RTNL, with an unregistered device.
    unsafe extern "C" fn newlink(
        dev: *mut bindings::net_device,
        params: *mut bindings::rtnl_newlink_params,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: `newlink` runs under RTNL.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `params` is valid during the call.
        let raw = unsafe { &*params };
        let params = NewLinkParams {
            raw,
            extack: ExtAck(extack),
            rtnl,
            maxtype: T::INFO_POLICY.len() - 1,
        };
        let Some(nn) = NonNull::new(dev) else {
            return EINVAL.to_errno();
        };
        // INVARIANT: `dev` was allocated with our ops for this request and is
        // unregistered; RTNL is held.
        let new = NewDevice {
            dev: nn,
            _p: PhantomData,
        };
        from_result(|| Self::newlink_pair(new, &params).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.dellink`
    /// callback of a registered device of driver `T`, under RTNL.
    unsafe extern "C" fn dellink(dev: *mut bindings::net_device, head: *mut bindings::list_head) {
        // SAFETY: `dellink` runs under RTNL.
        let rtnl = unsafe { Rtnl::assume_held() };
        let Some(head) = NonNull::new(head) else {
            // Every caller in 7.3 passes a list (rtnl_delete_link,
            // __rtnl_kill_links, default_device_exit_batch).
            kernel::warn_on!(true);
            return;
        };
        // SAFETY: `head` is the caller's list, valid during the call.
        let mut q = unsafe { UnregisterQueue::from_raw(head, rtnl) };
        // SAFETY: `dev` is a registered device of ours.
        q.queue_pair(unsafe { Self::dev(dev) });
    }

    /// `veth_get_num_queues()`: the queues a new device gets unless the
    /// request says (`numtxqueues`/`numrxqueues`): one per possible CPU, at
    /// most 4096 (`rtnl_create_link()`'s limit). Only the first is used
    /// until `ethtool -L` says otherwise ([`init_queues`]).
    ///
    /// # Safety
    ///
    /// None (the signature of `rtnl_link_ops.get_num_tx_queues`).
    unsafe extern "C" fn num_queues() -> c_uint {
        percpu::possible_cpus().min(4096)
    }

    /// `veth_get_link_net()`: the namespace of the other end (the own one
    /// while the pair is being deleted).
    ///
    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.get_link_net`
    /// callback of a registered device of driver `T`, under RTNL or in an RCU
    /// read section.
    unsafe extern "C" fn get_link_net(dev: *const bindings::net_device) -> *mut bindings::net {
        let guard = rcu::read_lock();
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        let net = dev.peer(&guard).map_or(dev.net(), |p| p.net()).as_raw();
        // The callers hold RTNL or the RCU read lock themselves, which keeps
        // the namespace alive after this nested read section ends.
        drop(guard);
        net
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.get_size`
    /// callback of a device of driver `T`.
    unsafe extern "C" fn get_size(_dev: *const bindings::net_device) -> usize {
        T::INFO_SIZE
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.fill_info`
    /// callback of a registered device of driver `T`, with the message being
    /// built.
    unsafe extern "C" fn fill_info(
        skb: *mut bindings::sk_buff,
        dev: *const bindings::net_device,
    ) -> c_int {
        // SAFETY: `skb` is the message being built, ours during the call.
        let mut msg = unsafe { Msg::from_raw(skb) };
        // SAFETY: `dev` is a registered device of ours.
        from_result(|| T::fill_info(unsafe { Self::dev(dev) }, &mut msg).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_open` callback of a
    /// registered device of driver `T`, under RTNL.
    unsafe extern "C" fn open(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: `ndo_open` runs under RTNL.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        from_result(|| {
            // `veth_open()`: NAPI on before the carrier can come on. GRO
            // both wanted and active: after a `gro on` that failed (only
            // ENOMEM can) the core kept GRO off but left it wanted, and a
            // later `gro off` would not reach `ndo_set_features`.
            // An XDP program needs NAPI too (`veth_enable_xdp()`).
            if T::HAS_POLL
                && (dev.has_xdp_prog(rtnl)
                    || dev.gro_requested(rtnl) && dev.features().intersects(Features::GRO))
            {
                dev.napi_enable_range(0..dev.queues().rx, rtnl)?;
            }
            if T::HAS_OPEN {
                if let Err(e) = T::open(dev, rtnl) {
                    dev.napi_disable_range(0..dev.queues().max_rx, rtnl);
                    return Err(e);
                }
            }
            if T::HAS_POLL {
                dev.update_xdp_features(rtnl);
                if let Some(peer) = dev.peer_rtnl(rtnl) {
                    peer.update_xdp_features(rtnl);
                }
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_stop` callback of a
    /// registered device of driver `T`, under RTNL.
    unsafe extern "C" fn stop(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: `ndo_stop` runs under RTNL.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        if T::HAS_STOP {
            T::stop(dev, rtnl);
        }
        // `veth_close()`: every queue off (unregistration closes a running
        // device first, so a deleted device has its rings drained here).
        if T::HAS_POLL {
            dev.napi_disable_range(0..dev.queues().max_rx, rtnl);
        }
        0
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_start_xmit` callback of
    /// a registered device of driver `T`, with an skb it passes ownership of.
    unsafe extern "C" fn start_xmit(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: The stack passes ownership of a valid skb, whose `dev` is
        // the device this `ndo_start_xmit` is called for (the core and
        // pktgen set it so): a registered device of driver `T`.
        let skb = unsafe { SkBuff::from_raw(skb) };
        // `__dev_queue_xmit` (rcu_read_lock_bh, the qdisc path under it) and
        // pktgen (local_bh_disable) disable BH; netpoll does not, and is
        // excluded: `SetupDevice::finish` sets IFF_DISABLE_NETPOLL.
        // SAFETY: So the core calls our ndo_start_xmit with BH disabled.
        let bh = unsafe { BhDisabled::assume() };
        // SAFETY: `dev` is a registered device of ours.
        match T::start_xmit(skb, unsafe { Self::dev(dev) }, bh).outcome() {
            TxOutcome::Delivered | TxOutcome::Queued => bindings::netdev_tx_NETDEV_TX_OK,
            TxOutcome::Dropped => bindings::NET_XMIT_DROP as bindings::netdev_tx_t,
            // The skb was handed back unfreed (`Tx::busy` is only made so).
            TxOutcome::Busy => bindings::netdev_tx_NETDEV_TX_BUSY,
        }
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_set_features` callback
    /// of a registered device of driver `T`, under RTNL.
    unsafe extern "C" fn set_features(
        dev: *mut bindings::net_device,
        features: bindings::netdev_features_t,
    ) -> c_int {
        // SAFETY: `ndo_set_features` runs under RTNL
        // (`__netdev_update_features()`).
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        let features = Features::from_raw(features);
        from_result(|| {
            // `veth_set_features()`: GRO while running means NAPI on the
            // receive queues, compared with the real state (not the old
            // features, which a failed change may have left behind). What
            // can fail (turning NAPI on) comes before the driver's change,
            // and is undone if the driver refuses; turning it off after.
            // With an XDP program NAPI stays on whatever GRO does
            // (`veth_set_features()` returns early).
            let gro = features.intersects(Features::GRO);
            let napi = T::HAS_POLL && dev.is_running() && !dev.has_xdp_prog(rtnl);
            let on = napi && gro && !dev.napi_mode(rtnl);
            let off = napi && !gro && dev.napi_mode(rtnl);
            if on {
                dev.napi_enable_range(0..dev.queues().rx, rtnl)?;
            }
            if T::HAS_SET_FEATURES {
                if let Err(e) = T::set_features(dev, features, rtnl) {
                    if on {
                        dev.napi_disable_range(0..dev.queues().max_rx, rtnl);
                    }
                    return Err(e);
                }
            }
            if off {
                dev.napi_disable_range(0..dev.queues().max_rx, rtnl);
            }
            // Frames may be redirected into the peer while this end has NAPI.
            if on || off {
                if let Some(peer) = dev.peer_rtnl(rtnl) {
                    peer.xdp_redirect_target(on, rtnl);
                }
            }
            Ok(0)
        })
    }

    /// `veth_fix_features()`: no software GSO towards a peer with an XDP
    /// program (its frames must fit a page).
    ///
    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_fix_features`
    /// callback of a registered device of driver `T`, under RTNL.
    unsafe extern "C" fn fix_features(
        dev: *mut bindings::net_device,
        features: bindings::netdev_features_t,
    ) -> bindings::netdev_features_t {
        // SAFETY: `ndo_fix_features` runs under RTNL.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        let f = Features::from_raw(features);
        match dev.peer_rtnl(rtnl) {
            Some(peer) if peer.has_xdp_prog(rtnl) => {
                f.without(super::device::features::GSO_SOFTWARE).raw()
            }
            _ => features,
        }
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_bpf` callback of a
    /// registered device of driver `T`, under RTNL.
    unsafe extern "C" fn bpf(
        dev: *mut bindings::net_device,
        bpf: *mut bindings::netdev_bpf,
    ) -> c_int {
        // SAFETY: `ndo_bpf` runs under RTNL (`dev_xdp_install()` asserts it
        // for devices that are not ops-locked, as ours never are).
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        // SAFETY: The core's request for `dev`, under RTNL.
        from_result(|| unsafe { xdp::ndo_bpf(dev, bpf, rtnl) }.map(|()| 0))
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_xdp_xmit` callback of
    /// a registered device of driver `T`, with `n` valid frames, BH
    /// disabled (devmap and redirect flushes run in NAPI or BH-disabled
    /// sections).
    unsafe extern "C" fn xdp_xmit(
        dev: *mut bindings::net_device,
        n: c_int,
        frames: *mut *mut bindings::xdp_frame,
        flags: u32,
    ) -> c_int {
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        // SAFETY: Guaranteed by the caller.
        unsafe { xdp::ndo_xdp_xmit(dev, n, frames, flags) }
    }

    /// # Safety
    ///
    /// Only called by NAPI as the poll of a receive queue's instance, added
    /// by `Device::napi_enable_range` with this adapter (`ndo_init` stores
    /// it for the device's queues).
    unsafe extern "C" fn napi_poll(napi: *mut bindings::napi_struct, budget: c_int) -> c_int {
        // SAFETY: Guaranteed by the caller; the device's private data is
        // `T::Priv`.
        unsafe { napi::poll_adapter::<T::Priv>(napi, budget, T::poll) }
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_get_stats64` callback
    /// of a registered device of driver `T`.
    unsafe extern "C" fn get_stats64(
        dev: *mut bindings::net_device,
        stats: *mut bindings::rtnl_link_stats64,
    ) {
        // SAFETY: `stats` is the caller's, exclusively ours during the call.
        let stats = unsafe { LinkStats64::from_raw(stats) };
        // SAFETY: `dev` is a registered device of ours.
        T::get_stats64(unsafe { Self::dev(dev) }, stats);
    }

    /// `veth_get_iflink()`: the other end's ifindex, 0 without one.
    ///
    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_get_iflink` callback
    /// of a registered device of driver `T`.
    unsafe extern "C" fn get_iflink(dev: *const bindings::net_device) -> c_int {
        let guard = rcu::read_lock();
        // SAFETY: `dev` is a registered device of ours.
        unsafe { Self::dev(dev) }
            .peer(&guard)
            .map_or(0, |p| p.ifindex())
    }

    /// `veth_peer_dev()` (used by `bpf_redirect_peer`).
    ///
    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_get_peer_dev` callback
    /// of a registered device of driver `T`, in an RCU read section.
    unsafe extern "C" fn get_peer_dev(dev: *mut bindings::net_device) -> *mut bindings::net_device {
        let guard = rcu::read_lock();
        // SAFETY: `dev` is a registered device of ours.
        let peer = unsafe { Self::dev(dev) }.peer(&guard);
        // The callers (`skb_do_redirect`, ...) run under RCU themselves, so
        // the peer stays valid after this nested read section ends.
        peer.map_or(ptr::null_mut(), |p| p.as_raw())
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_set_rx_mode` callback
    /// of a device of driver `T`.
    unsafe extern "C" fn set_rx_mode(_dev: *mut bindings::net_device) {}

    const NETDEV_OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_init: Some(Self::init),
        ndo_open: if T::HAS_OPEN || T::HAS_POLL {
            Some(Self::open)
        } else {
            None
        },
        ndo_stop: if T::HAS_STOP || T::HAS_POLL {
            Some(Self::stop)
        } else {
            None
        },
        ndo_start_xmit: Some(Self::start_xmit),
        ndo_set_features: if T::HAS_SET_FEATURES || T::HAS_POLL {
            Some(Self::set_features)
        } else {
            None
        },
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64)
        } else {
            None
        },
        ndo_set_rx_mode: Some(Self::set_rx_mode),
        ndo_set_mac_address: Some(bindings::eth_mac_addr),
        ndo_get_iflink: Some(Self::get_iflink),
        ndo_features_check: Some(bindings::passthru_features_check),
        ndo_get_peer_dev: Some(Self::get_peer_dev),
        ndo_fix_features: if T::HAS_POLL {
            Some(Self::fix_features)
        } else {
            None
        },
        ndo_bpf: if T::HAS_POLL { Some(Self::bpf) } else { None },
        ndo_xdp_xmit: if T::HAS_POLL {
            Some(Self::xdp_xmit)
        } else {
            None
        },
        // SAFETY: All-zero is a valid `net_device_ops` (no callbacks).
        ..unsafe { core::mem::zeroed() }
    };

    const ETHTOOL_OPS: bindings::ethtool_ops = ethtool::ops::<T>();
}

/// The module of a pair driver: registers link kind [`Driver::KIND`] when
/// the module is loaded and unregisters it (deleting every device of the
/// kind) when it is unloaded. Name it as the `type` of `module!`.
pub(crate) struct PairModule<T: Driver> {
    _link: Registration<T>,
}

impl<T: Driver> kernel::Module for PairModule<T> {
    fn init(_module: &'static kernel::ThisModule) -> Result<Self> {
        super::layout::check()?;
        let link = Registration::new()?;
        pr_info!("link kind {} registered\n", T::KIND.to_str().unwrap_or("?"));
        Ok(Self { _link: link })
    }
}

/// A registered link kind; unregistering it (on drop) deletes every device
/// of the kind in every namespace.
///
/// Private to the layer: only [`PairModule`] holds one, for the lifetime of
/// the module (dropping one elsewhere, e.g. under RTNL, would deadlock;
/// leaking one would leave ops that point into an unloaded module).
///
/// # Invariants
///
/// `ops` is registered with `rtnl_link_register` while `self` lives.
struct Registration<T: Driver> {
    ops: Pin<KBox<Opaque<bindings::rtnl_link_ops>>>,
    _t: PhantomData<T>,
}

// SAFETY: The registration is only used to unregister, from any thread.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: No `&self` methods touch the ops.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers link kind [`Driver::KIND`].
    fn new() -> Result<Self> {
        const {
            assert!(core::mem::align_of::<PrivArea<T::Priv>>() <= bindings::NETDEV_ALIGN as usize);
            assert!(!core::mem::needs_drop::<T::Priv>());
            assert!(info_policy_ok(T::INFO_POLICY));
            assert!(T::PCPU_COUNTERS <= percpu::MAX_COUNTERS);
        };
        // SAFETY: All-zero is a valid, empty `rtnl_link_ops`.
        let mut ops: bindings::rtnl_link_ops = unsafe { core::mem::zeroed() };
        ops.kind = T::KIND.as_char_ptr();
        ops.priv_size = core::mem::size_of::<PrivArea<T::Priv>>();
        ops.setup = Some(Adapter::<T>::setup);
        ops.validate = if T::HAS_VALIDATE {
            Some(Adapter::<T>::validate)
        } else {
            None
        };
        ops.newlink = Some(Adapter::<T>::newlink);
        ops.dellink = Some(Adapter::<T>::dellink);
        ops.get_link_net = Some(Adapter::<T>::get_link_net);
        ops.get_num_tx_queues = Some(Adapter::<T>::num_queues);
        ops.get_num_rx_queues = Some(Adapter::<T>::num_queues);
        if T::HAS_FILL_INFO {
            ops.get_size = Some(Adapter::<T>::get_size);
            ops.fill_info = Some(Adapter::<T>::fill_info);
        }
        ops.policy = T::INFO_POLICY.as_ptr().cast();
        ops.maxtype = (T::INFO_POLICY.len() - 1) as u32;
        ops.peer_type = VETH_INFO_PEER;
        let ops = KBox::pin(Opaque::new(ops), GFP_KERNEL)?;
        // SAFETY: `ops` is valid, pinned and outlives the registration (it
        // is unregistered in `drop` before it is freed).
        to_result(unsafe { bindings::rtnl_link_register(ops.get()) })?;
        // INVARIANT: Registered above.
        Ok(Self {
            ops,
            _t: PhantomData,
        })
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant); this deletes all our devices
        // and waits until no callback runs any more.
        unsafe { bindings::rtnl_link_unregister(self.ops.get()) };
    }
}
