// SPDX-License-Identifier: GPL-2.0

//! Link kinds created through rtnetlink (`ip link add ... type KIND`).
//!
//! A driver implements [`Driver`]; [`Registration`] builds `rtnl_link_ops`,
//! `net_device_ops` and `ethtool_ops` tables whose C callbacks are the
//! generic adapters below, and registers the kind for as long as it lives.
//!
//! C header: [`include/net/rtnetlink.h`](srctree/include/net/rtnetlink.h)

use core::marker::PhantomData;
use core::ptr;

use kernel::{
    error::{from_result, to_result},
    prelude::*,
    sync::rcu,
    types::Opaque,
};

use super::{
    bindings,
    device::{Device, LinkStats64, NetRef, SetupDevice, UnregisterQueue},
    ethtool,
    nla::{ifla, Attrs, Msg, Policy},
    skb::SkBuff,
    BhDisabled, Rtnl,
};

/// What `ndo_start_xmit` did with a packet.
pub(crate) enum Tx {
    /// Delivered (`NETDEV_TX_OK`).
    Ok,
    /// Dropped and freed (`NET_XMIT_DROP`).
    Dropped,
}

/// A link driver: the callbacks of `rtnl_link_ops`, `net_device_ops` and
/// `ethtool_ops` that a pair device needs.
///
/// All callbacks are safe; the adapters in this module uphold the C contracts.
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
    /// Policy of the `IFLA_INFO_DATA` attributes; index 0 is unused.
    const INFO_POLICY: &'static [Policy];
    /// The `IFLA_INFO_DATA` attribute that describes the peer (struct
    /// ifinfomsg + IFLA_* attributes); the core parses it, resolves and
    /// permission-checks the peer namespace.
    const PEER_TYPE: u16;
    /// Names of the `ethtool -S` counters.
    const ETHTOOL_STATS: &'static [&'static CStr];

    /// Returns the initial private data of a new device.
    fn init_priv() -> Self::Priv;
    /// Sets up a freshly allocated device (`setup`).
    fn setup(dev: &mut SetupDevice<Self::Priv>);
    /// Validates a request before anything is created (`validate`).
    ///
    /// Called for the device's attributes with `data`, and for the peer's
    /// attributes with `data == None`.
    fn validate(tb: Attrs<'_>, data: Option<Attrs<'_>>, extack: &ExtAck) -> Result;
    /// Creates the device(s) (`newlink`).
    fn newlink(dev: NewDevice<'_, Self::Priv>, params: &NewLinkParams<'_>) -> Result;
    /// Queues the device(s) for deletion (`dellink`).
    fn dellink(dev: &Device<Self::Priv>, queue: &mut UnregisterQueue<'_>, rtnl: &Rtnl);
    /// The namespace of the link's other end (`get_link_net`).
    ///
    /// The core calls it under RTNL or under the RCU read lock (link dumps
    /// since 6.x), so it gets an RCU guard, not RTNL.
    fn link_net<'a>(dev: &'a Device<Self::Priv>, guard: &'a rcu::Guard) -> NetRef<'a>;
    /// Space [`Driver::fill_info`] needs at most (`get_size`).
    const INFO_SIZE: usize;
    /// Fills `IFLA_INFO_DATA` of link dumps (`fill_info`).
    fn fill_info(dev: &Device<Self::Priv>, msg: &mut Msg) -> Result;
    /// `ndo_open`.
    fn open(dev: &Device<Self::Priv>, rtnl: &Rtnl) -> Result;
    /// `ndo_stop`.
    fn stop(dev: &Device<Self::Priv>, rtnl: &Rtnl);
    /// `ndo_start_xmit`; runs with bottom halves disabled (`bh`).
    fn start_xmit(skb: SkBuff, dev: &Device<Self::Priv>, bh: &BhDisabled) -> Tx;
    /// `ndo_get_stats64`.
    fn get_stats64(dev: &Device<Self::Priv>, stats: &mut LinkStats64);
    /// `ndo_get_iflink`.
    fn get_iflink(dev: &Device<Self::Priv>) -> i32;
    /// `ndo_get_peer_dev` (used by `bpf_redirect_peer`).
    fn get_peer_dev<'a>(dev: &'a Device<Self::Priv>, guard: &'a rcu::Guard)
        -> Option<&'a Device<Self::Priv>>;
    /// Values of the `ethtool -S` counters, in [`Driver::ETHTOOL_STATS`] order.
    fn ethtool_stats(dev: &Device<Self::Priv>, values: &mut [u64]);
}

/// The netlink extended ack of a request (error messages for the user).
pub(crate) struct ExtAck(*mut bindings::netlink_ext_ack);

impl ExtAck {
    /// Sets the error message returned with the request's error code.
    pub(crate) fn set_msg(&self, msg: &'static CStr) {
        if !self.0.is_null() {
            // SAFETY: A non-NULL extack is valid during the request; the
            // message is static.
            unsafe { (*self.0)._msg = msg.as_char_ptr() };
        }
    }
}

/// The parameters of a `newlink` request.
pub(crate) struct NewLinkParams<'a> {
    raw: &'a bindings::rtnl_newlink_params,
    extack: ExtAck,
    rtnl: &'a Rtnl,
    maxtype: usize,
}

impl<'a> NewLinkParams<'a> {
    /// The request's `IFLA_*` attributes.
    pub(crate) fn tb(&self) -> Attrs<'a> {
        // SAFETY: The core passes a table of IFLA_MAX + 1 entries.
        unsafe { Attrs::from_raw(self.raw.tb, ifla::MAX + 1) }
    }

    /// The request's `IFLA_INFO_DATA` attributes, if any.
    pub(crate) fn data(&self) -> Option<Attrs<'a>> {
        let d = self.raw.data;
        // SAFETY: When present, the table has `maxtype + 1` entries.
        (!d.is_null()).then(|| unsafe { Attrs::from_raw(d, self.maxtype + 1) })
    }

    /// RTNL, held for the whole request.
    pub(crate) fn rtnl(&self) -> &'a Rtnl {
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
/// attributes nested in [`Driver::PEER_TYPE`], or the request's own
/// attributes when there is no peer part (as veth does).
pub(crate) struct PeerRequest<'a> {
    ifm: Option<&'a bindings::ifinfomsg>,
    tb: KBox<[*mut bindings::nlattr; ifla::MAX + 1]>,
}

impl<'a> PeerRequest<'a> {
    /// Parses the peer part of `params`.
    pub(crate) fn parse<T: Driver>(params: &NewLinkParams<'a>) -> Result<Self> {
        let mut tb = KBox::new([ptr::null_mut(); ifla::MAX + 1], GFP_KERNEL)?;
        let peer = params.data().and_then(|d| d.get(T::PEER_TYPE.into()));
        let ifm = match peer {
            Some(attr) => {
                // SAFETY: `tb` has IFLA_MAX + 1 entries; `attr` is valid and
                // at least sizeof(ifinfomsg) long (checked by the policy).
                to_result(unsafe {
                    bindings::rtnl_nla_parse_ifinfomsg(tb.as_mut_ptr(), attr.as_raw(), params.extack.0)
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
    pub(crate) fn tb(&self) -> Attrs<'_> {
        // SAFETY: `tb` has IFLA_MAX + 1 entries, NULL or valid attributes.
        unsafe { Attrs::from_raw(self.tb.as_ptr(), ifla::MAX + 1) }
    }

    /// Whether the request had a peer part.
    pub(crate) fn has_peer_part(&self) -> bool {
        self.ifm.is_some()
    }
}

/// The device a `newlink` request creates, not yet registered.
///
/// If `newlink` fails before [`NewDevice::register`] the core frees it.
pub(crate) struct NewDevice<'a, P> {
    dev: &'a Device<P>,
}

impl<'a, P> core::ops::Deref for NewDevice<'a, P> {
    type Target = Device<P>;
    fn deref(&self) -> &Device<P> {
        self.dev
    }
}

impl<'a, P> NewDevice<'a, P> {
    /// Creates, in the peer namespace, an unregistered device of the same
    /// kind from `req` (`rtnl_create_link`), named after `req` or
    /// `KIND%d`, with a random MAC unless `req` gives one.
    pub(crate) fn create_peer(
        &self,
        params: &NewLinkParams<'a>,
        req: &PeerRequest<'_>,
    ) -> Result<Unregistered<'a, P>> {
        let dev = self.dev.as_raw();
        let tb = req.tb();
        let mut name = [0u8; bindings::IFNAMSIZ as usize];
        let assign = match (req.has_peer_part(), tb.get(ifla::IFNAME)) {
            (true, Some(attr)) => {
                // SAFETY: `name` has IFNAMSIZ bytes; `attr` is valid.
                unsafe { bindings::nla_strscpy(name.as_mut_ptr().cast(), attr.as_raw(), name.len()) };
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
        let peer = kernel::error::from_err_ptr(peer)?;
        // SAFETY: `peer` was created with our ops, so its private data is a `P`
        // (initialised by the `setup` adapter); it is ours until registered.
        let peer = unsafe { Device::<P>::from_raw(peer) };
        if tb.get(ifla::ADDRESS).is_none() {
            // SAFETY: `peer` is valid and unregistered.
            unsafe { bindings::rveth_eth_hw_addr_random(peer.as_raw()) };
        }
        if let Some(ifm) = req.ifm {
            // SAFETY: `dev` is valid.
            if unsafe { (*dev).ifindex } != 0 {
                // SAFETY: `peer` is unregistered and ours.
                unsafe { (*peer.as_raw()).ifindex = ifm.ifi_index };
            }
        }
        // SAFETY: Both devices are valid; `peer` is unregistered.
        unsafe { bindings::netif_inherit_tso_max(peer.as_raw(), dev) };
        Ok(Unregistered { dev: peer })
    }

    /// Registers the device; a random MAC is assigned unless the request
    /// gave one. On failure the core frees the device.
    pub(crate) fn register(self, params: &NewLinkParams<'a>) -> Result<&'a Device<P>> {
        if params.tb().get(ifla::ADDRESS).is_none() {
            // SAFETY: The device is valid and unregistered.
            unsafe { bindings::rveth_eth_hw_addr_random(self.dev.as_raw()) };
        }
        // SAFETY: The device is valid and unregistered; RTNL is held.
        to_result(unsafe { bindings::register_netdevice(self.dev.as_raw()) })?;
        disable_gro(self.dev);
        Ok(self.dev)
    }
}

/// Clears GRO from the active and wanted features, as veth does for new
/// devices (GRO only matters with NAPI, which a pair device does not use).
fn disable_gro<P>(dev: &Device<P>) {
    let d = dev.as_raw();
    // SAFETY: `d` is valid and registered; RTNL is held by every caller.
    unsafe {
        (*d).features &= !bindings::NETIF_F_GRO;
        (*d).wanted_features &= !bindings::NETIF_F_GRO;
        bindings::netdev_update_features(d);
    }
}

/// A device created by [`NewDevice::create_peer`], freed if dropped.
pub(crate) struct Unregistered<'a, P> {
    dev: &'a Device<P>,
}

impl<'a, P> Unregistered<'a, P> {
    /// Registers the device.
    pub(crate) fn register(self) -> Result<Registered<'a, P>> {
        let dev = self.dev;
        core::mem::forget(self);
        // SAFETY: `dev` is valid and unregistered; RTNL is held.
        match to_result(unsafe { bindings::register_netdevice(dev.as_raw()) }) {
            Ok(()) => {
                disable_gro(dev);
                Ok(Registered { dev })
            }
            Err(e) => {
                // SAFETY: Registration failed: the device is ours to free.
                unsafe { bindings::free_netdev(dev.as_raw()) };
                Err(e)
            }
        }
    }
}

impl<P> core::ops::Deref for Unregistered<'_, P> {
    type Target = Device<P>;
    fn deref(&self) -> &Device<P> {
        self.dev
    }
}

impl<P> Drop for Unregistered<'_, P> {
    fn drop(&mut self) {
        // SAFETY: The device was never registered and is ours.
        unsafe { bindings::free_netdev(self.dev.as_raw()) };
    }
}

/// A registered device that is unregistered again if dropped, so that an
/// error later in `newlink` leaves nothing behind.
pub(crate) struct Registered<'a, P> {
    dev: &'a Device<P>,
}

impl<'a, P> Registered<'a, P> {
    /// Applies the flags of the request's `ifinfomsg` and announces the
    /// device (`rtnl_configure_link`).
    pub(crate) fn configure(&self, req: &PeerRequest<'_>) -> Result {
        let ifm = req.ifm.map_or(ptr::null(), ptr::from_ref);
        // SAFETY: The device is registered; RTNL is held; `ifm` is NULL or valid.
        to_result(unsafe { bindings::rtnl_configure_link(self.dev.as_raw(), ifm, 0, ptr::null()) })
    }

    /// Keeps the device registered.
    pub(crate) fn keep(self) -> &'a Device<P> {
        let dev = self.dev;
        core::mem::forget(self);
        dev
    }
}

impl<P> core::ops::Deref for Registered<'_, P> {
    type Target = Device<P>;
    fn deref(&self) -> &Device<P> {
        self.dev
    }
}

impl<P> Drop for Registered<'_, P> {
    fn drop(&mut self) {
        // SAFETY: The device is registered; RTNL is held (we are in newlink).
        unsafe { bindings::rveth_unregister_netdevice(self.dev.as_raw()) };
    }
}

/// C entry points for driver `T`.
struct Adapter<T: Driver>(PhantomData<T>);

impl<T: Driver> Adapter<T> {
    /// # Safety
    ///
    /// `dev` must be a valid device of driver `T`.
    unsafe fn dev<'a>(dev: *const bindings::net_device) -> &'a Device<T::Priv> {
        // SAFETY: Guaranteed by the caller.
        unsafe { Device::from_raw(dev.cast_mut()) }
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.setup` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn setup(dev: *mut bindings::net_device) {
        // SAFETY: `dev` is a device of our kind being allocated; only its
        // address is used until the private data is written below.
        let p = unsafe { Self::dev(dev) }.priv_ptr();
        // The data path computes netdev_priv() itself; check it agrees.
        // SAFETY: `dev` is valid.
        kernel::warn_on!(p.cast() != unsafe { bindings::rveth_netdev_priv(dev) });
        // SAFETY: `p` is the private area of `priv_size ==
        // size_of::<T::Priv>()` bytes, aligned to NETDEV_ALIGN (at least
        // T::Priv's alignment, checked at registration), not yet initialised.
        unsafe { p.write(T::init_priv()) };
        // SAFETY: `dev` is being set up and not visible to anyone else.
        let mut sdev = unsafe { SetupDevice::<T::Priv>::from_raw(dev) };
        sdev.set_needs_free_netdev();
        sdev.set_ops(&Self::NETDEV_OPS, &Self::ETHTOOL_OPS);
        T::setup(&mut sdev);
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.validate` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
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

    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.newlink` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn newlink(
        dev: *mut bindings::net_device,
        params: *mut bindings::rtnl_newlink_params,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
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
            // SAFETY: `dev` was allocated with our ops, unregistered.
            let dev = NewDevice { dev: unsafe { Self::dev(dev) } };
            T::newlink(dev, &params).map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.dellink` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn dellink(dev: *mut bindings::net_device, head: *mut bindings::list_head) {
        // SAFETY: `dellink` runs under RTNL.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `head` is NULL or the caller's list, valid during the call.
        let mut q = unsafe { UnregisterQueue::from_raw(head, rtnl) };
        // SAFETY: `dev` is a registered device of ours.
        T::dellink(unsafe { Self::dev(dev) }, &mut q, rtnl);
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `rtnl_link_ops.get_link_net` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn get_link_net(dev: *const bindings::net_device) -> *mut bindings::net {
        let guard = rcu::read_lock();
        // SAFETY: `dev` is a registered device of ours.
        let net = T::link_net(unsafe { Self::dev(dev) }, &guard).as_raw();
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
    /// callback of a device of driver `T`, with the message being built.
    unsafe extern "C" fn fill_info(skb: *mut bindings::sk_buff, dev: *const bindings::net_device) -> c_int {
        // SAFETY: `skb` is the message being built, ours during the call.
        let mut msg = unsafe { Msg::from_raw(skb) };
        // SAFETY: `dev` is a registered device of ours.
        from_result(|| T::fill_info(unsafe { Self::dev(dev) }, &mut msg).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_open` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn open(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: `ndo_open` runs under RTNL.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `dev` is a registered device of ours.
        from_result(|| T::open(unsafe { Self::dev(dev) }, rtnl).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_stop` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn stop(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: `ndo_stop` runs under RTNL.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `dev` is a registered device of ours.
        T::stop(unsafe { Self::dev(dev) }, rtnl);
        0
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_start_xmit` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn start_xmit(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: The stack passes ownership of a valid skb.
        let skb = unsafe { SkBuff::from_raw(skb) };
        // SAFETY: The core calls ndo_start_xmit with BH disabled
        // (`__dev_queue_xmit`: rcu_read_lock_bh; pktgen: local_bh_disable).
        let bh = unsafe { BhDisabled::assume() };
        // SAFETY: `dev` is a registered device of ours.
        match T::start_xmit(skb, unsafe { Self::dev(dev) }, bh) {
            Tx::Ok => bindings::netdev_tx_NETDEV_TX_OK,
            Tx::Dropped => bindings::NET_XMIT_DROP as bindings::netdev_tx_t,
        }
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_get_stats64` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn get_stats64(dev: *mut bindings::net_device, stats: *mut bindings::rtnl_link_stats64) {
        // SAFETY: `stats` is the caller's, exclusively ours during the call.
        let stats = unsafe { LinkStats64::from_raw(stats) };
        // SAFETY: `dev` is a registered device of ours.
        T::get_stats64(unsafe { Self::dev(dev) }, stats);
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_get_iflink` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn get_iflink(dev: *const bindings::net_device) -> c_int {
        // SAFETY: `dev` is a registered device of ours.
        T::get_iflink(unsafe { Self::dev(dev) })
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_get_peer_dev` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn get_peer_dev(dev: *mut bindings::net_device) -> *mut bindings::net_device {
        let guard = rcu::read_lock();
        // SAFETY: `dev` is a registered device of ours.
        let peer = T::get_peer_dev(unsafe { Self::dev(dev) }, &guard);
        // The callers (`skb_do_redirect`, ...) run under RCU themselves, so
        // the peer stays valid after this nested read section ends.
        peer.map_or(ptr::null_mut(), |p| p.as_raw())
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ndo_set_rx_mode` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn set_rx_mode(_dev: *mut bindings::net_device) {}

    const NETDEV_OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_open: Some(Self::open),
        ndo_stop: Some(Self::stop),
        ndo_start_xmit: Some(Self::start_xmit),
        ndo_get_stats64: Some(Self::get_stats64),
        ndo_set_rx_mode: Some(Self::set_rx_mode),
        ndo_set_mac_address: Some(bindings::eth_mac_addr),
        ndo_get_iflink: Some(Self::get_iflink),
        ndo_features_check: Some(bindings::passthru_features_check),
        ndo_get_peer_dev: Some(Self::get_peer_dev),
        // SAFETY: All-zero is a valid `net_device_ops` (no callbacks).
        ..unsafe { core::mem::zeroed() }
    };

    const ETHTOOL_OPS: bindings::ethtool_ops = ethtool::ops::<T>();
}

/// A registered link kind; unregistering it (on drop) deletes every device
/// of the kind in every namespace.
///
/// # Invariants
///
/// `ops` is registered with `rtnl_link_register` while `self` lives.
pub(crate) struct Registration<T: Driver> {
    ops: Pin<KBox<Opaque<bindings::rtnl_link_ops>>>,
    _t: PhantomData<T>,
}

// SAFETY: The registration is only used to unregister, from any thread.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: No `&self` methods touch the ops.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers link kind [`Driver::KIND`].
    pub(crate) fn new() -> Result<Self> {
        build_assert!(core::mem::align_of::<T::Priv>() <= bindings::NETDEV_ALIGN as usize);
        const { assert!(!core::mem::needs_drop::<T::Priv>()) };
        const { assert!(!T::INFO_POLICY.is_empty()) };
        // SAFETY: All-zero is a valid, empty `rtnl_link_ops`.
        let mut ops: bindings::rtnl_link_ops = unsafe { core::mem::zeroed() };
        ops.kind = T::KIND.as_char_ptr();
        ops.priv_size = core::mem::size_of::<T::Priv>();
        ops.setup = Some(Adapter::<T>::setup);
        ops.validate = Some(Adapter::<T>::validate);
        ops.newlink = Some(Adapter::<T>::newlink);
        ops.dellink = Some(Adapter::<T>::dellink);
        ops.get_link_net = Some(Adapter::<T>::get_link_net);
        ops.get_size = Some(Adapter::<T>::get_size);
        ops.fill_info = Some(Adapter::<T>::fill_info);
        ops.policy = T::INFO_POLICY.as_ptr().cast();
        ops.maxtype = (T::INFO_POLICY.len() - 1) as u32;
        ops.peer_type = T::PEER_TYPE;
        let ops = KBox::pin(Opaque::new(ops), GFP_KERNEL)?;
        // SAFETY: `ops` is valid, pinned and outlives the registration (it
        // is unregistered in `drop` before it is freed).
        to_result(unsafe { bindings::rtnl_link_register(ops.get()) })?;
        // INVARIANT: Registered above.
        Ok(Self { ops, _t: PhantomData })
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant); this deletes all our devices
        // and waits until no callback runs any more.
        unsafe { bindings::rtnl_link_unregister(self.ops.get()) };
    }
}
