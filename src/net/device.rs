// SPDX-License-Identifier: GPL-2.0

//! Network devices (`struct net_device`) with typed private data.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use kernel::{sync::rcu, types::Opaque};

use super::{bindings, BhDisabled, Rtnl};

/// A network device whose private area (`netdev_priv()`) holds a `P`.
///
/// # Invariants
///
/// The wrapped `net_device` was allocated by a link driver whose private data
/// type is `P` (see [`super::link::Driver::Priv`]), and its private area holds
/// an initialised `P` for as long as the device exists.
#[repr(transparent)]
pub(crate) struct Device<P>(Opaque<bindings::net_device>, PhantomData<P>);

// SAFETY: A `net_device` may be used from any thread; the fields this wrapper
// reads are either immutable after registration or read with READ_ONCE
// semantics, and `P` is shared only if it is `Sync`.
unsafe impl<P: Sync> Sync for Device<P> {}
// SAFETY: See `Sync`; references are moved across threads by the core.
unsafe impl<P: Sync> Send for Device<P> {}

impl<P> Device<P> {
    /// Creates a reference to a device from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `net_device` created by a driver whose
    /// private data type is `P`, and it must stay valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // CAST: `Self` is a transparent wrapper around `bindings::net_device`.
        // SAFETY: Guaranteed by the caller; the type invariant holds because
        // the caller guarantees that the private area holds a `P`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the raw `net_device` pointer.
    pub(crate) fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// Offset of the private area: `netdev_priv()` is
    /// `(void *)dev + ALIGN(sizeof(struct net_device), NETDEV_ALIGN)`,
    /// computed here from the generated layout instead of an out-of-line call
    /// on every packet.
    const PRIV_OFFSET: usize = core::mem::size_of::<bindings::net_device>()
        .next_multiple_of(bindings::NETDEV_ALIGN as usize);

    /// The address of the private area (what `netdev_priv()` returns).
    pub(super) fn priv_ptr(&self) -> *mut P {
        // SAFETY: The private area starts `PRIV_OFFSET` bytes after the
        // `net_device`, inside the same allocation (`alloc_netdev_mqs()`).
        unsafe { self.as_raw().cast::<u8>().add(Self::PRIV_OFFSET).cast::<P>() }
    }

    /// Returns the driver's private data.
    pub(crate) fn priv_data(&self) -> &P {
        // SAFETY: By the type invariant the private area holds an initialised
        // `P` that lives as long as the device, which outlives `&self`.
        unsafe { &*self.priv_ptr() }
    }

    /// The interface index (0 before registration).
    pub(crate) fn ifindex(&self) -> i32 {
        // SAFETY: `as_raw()` is valid; the core may change the index while the
        // device moves between namespaces, hence a volatile (READ_ONCE) read.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).ifindex) }
    }

    /// Whether the administrator brought the device up (`IFF_UP`).
    pub(crate) fn is_up(&self) -> bool {
        // SAFETY: `as_raw()` is valid; `flags` is a plain field.
        let flags = unsafe { ptr::read_volatile(&raw const (*self.as_raw()).flags) };
        flags & bindings::net_device_flags_IFF_UP != 0
    }

    /// Turns the carrier on (`netif_carrier_on`).
    pub(crate) fn carrier_on(&self) {
        // SAFETY: `as_raw()` is a valid device.
        unsafe { bindings::netif_carrier_on(self.as_raw()) }
    }

    /// Turns the carrier off (`netif_carrier_off`).
    pub(crate) fn carrier_off(&self) {
        // SAFETY: `as_raw()` is a valid device.
        unsafe { bindings::netif_carrier_off(self.as_raw()) }
    }

    /// The network namespace the device lives in.
    pub(crate) fn net(&self) -> NetRef<'_> {
        // SAFETY: `as_raw()` is a valid device, which always has a namespace;
        // that namespace outlives the device's membership in it.
        NetRef(unsafe { bindings::rveth_dev_net(self.as_raw()) }, PhantomData)
    }

    /// Counts one transmitted packet of `len` bytes in the per-CPU stats.
    pub(crate) fn tstats_tx_add(&self, len: u32) {
        // SAFETY: `as_raw()` is valid and was set up with per-CPU tstats by
        // `SetupDevice::use_pcpu_tstats()` (the device core allocates them).
        unsafe { bindings::rveth_dev_tstats_tx_add(self.as_raw(), len) }
    }

    /// Sums the per-CPU tstats into `stats` (`dev_fetch_sw_netstats`).
    pub(crate) fn fetch_tstats(&self, stats: &mut LinkStats64) {
        // SAFETY: `as_raw()` is valid; `tstats` is allocated by the core for
        // devices using NETDEV_PCPU_STAT_TSTATS before they become visible.
        unsafe { bindings::rveth_dev_fetch_tstats(self.as_raw(), stats.as_raw()) }
    }
}

/// Whether `addr` is a valid unicast Ethernet address: six bytes, not
/// multicast, not all zeroes (`is_valid_ether_addr`).
pub(crate) fn is_valid_ether_addr(addr: &[u8]) -> bool {
    addr.len() == bindings::ETH_ALEN as usize && addr[0] & 1 == 0 && addr.iter().any(|&b| b != 0)
}

/// A borrowed network namespace (`struct net`).
#[derive(Clone, Copy)]
pub(crate) struct NetRef<'a>(*mut bindings::net, PhantomData<&'a bindings::net>);

impl NetRef<'_> {
    /// Returns the raw pointer.
    pub(crate) fn as_raw(self) -> *mut bindings::net {
        self.0
    }
}

/// `struct rtnl_link_stats64`, as filled by `ndo_get_stats64`.
#[repr(transparent)]
pub(crate) struct LinkStats64(bindings::rtnl_link_stats64);

impl LinkStats64 {
    /// Wraps a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes and exclusively borrowed for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::rtnl_link_stats64) -> &'a mut Self {
        // SAFETY: Guaranteed by the caller; `Self` is transparent.
        unsafe { &mut *ptr.cast::<Self>() }
    }

    fn as_raw(&mut self) -> *mut bindings::rtnl_link_stats64 {
        &raw mut self.0
    }

    /// A zeroed set of counters.
    pub(crate) fn zeroed() -> Self {
        // SAFETY: `rtnl_link_stats64` is a struct of integers.
        Self(unsafe { core::mem::zeroed() })
    }

    /// Transmitted packets.
    pub(crate) fn tx_packets(&self) -> u64 {
        self.0.tx_packets
    }
    /// Transmitted bytes.
    pub(crate) fn tx_bytes(&self) -> u64 {
        self.0.tx_bytes
    }
    /// Adds received packets and bytes.
    pub(crate) fn add_rx(&mut self, packets: u64, bytes: u64) {
        self.0.rx_packets += packets;
        self.0.rx_bytes += bytes;
    }
    /// Adds transmit drops.
    pub(crate) fn add_tx_dropped(&mut self, n: u64) {
        self.0.tx_dropped += n;
    }
}

/// A device between allocation and registration, as handed to `setup`.
///
/// Only the setup-time fields are writable through it.
pub(crate) struct SetupDevice<P>(NonNull<bindings::net_device>, PhantomData<P>);

/// Feature flags (`netdev_features_t`).
pub(crate) type Features = bindings::netdev_features_t;

/// `IFF_*` private flags (`enum netdev_priv_flags`).
pub(crate) mod priv_flags {
    use super::bindings;
    /// Can change its MAC address while up.
    pub(crate) const LIVE_ADDR_CHANGE: usize = bindings::netdev_priv_flags_IFF_LIVE_ADDR_CHANGE as usize;
    /// Has no queue: the noqueue qdisc is the default.
    pub(crate) const NO_QUEUE: usize = bindings::netdev_priv_flags_IFF_NO_QUEUE as usize;
    /// Headroom can be set by the peer.
    pub(crate) const PHONY_HEADROOM: usize = bindings::netdev_priv_flags_IFF_PHONY_HEADROOM as usize;
    /// Netpoll is not supported.
    pub(crate) const DISABLE_NETPOLL: usize = bindings::netdev_priv_flags_IFF_DISABLE_NETPOLL as usize;
    /// The same skb may be transmitted several times (pktgen clone_skb).
    pub(crate) const TX_SKB_SHARING: usize = bindings::netdev_priv_flags_IFF_TX_SKB_SHARING as usize;
}

impl<P> SetupDevice<P> {
    /// # Safety
    ///
    /// `ptr` must be a device being set up by `alloc_netdev_mqs()`, not yet
    /// registered nor visible to any other thread.
    pub(super) unsafe fn from_raw(ptr: *mut bindings::net_device) -> Self {
        // SAFETY: `alloc_netdev_mqs()` never passes NULL.
        Self(unsafe { NonNull::new_unchecked(ptr) }, PhantomData)
    }

    fn raw(&mut self) -> &mut bindings::net_device {
        // SAFETY: By the constructor's contract the device is exclusively ours
        // during setup.
        unsafe { self.0.as_mut() }
    }

    /// Applies `ether_setup()`: Ethernet header ops, MTU, flags.
    pub(crate) fn ether_setup(&mut self) {
        // SAFETY: The device is valid and not yet registered.
        unsafe { bindings::ether_setup(self.0.as_ptr()) }
    }

    /// Sets and clears `priv_flags` bits.
    pub(crate) fn update_priv_flags(&mut self, set: usize, clear: usize) {
        // SAFETY: The device is valid and exclusively ours.
        unsafe { bindings::rveth_dev_set_priv_flags(self.0.as_ptr(), set, clear) }
    }

    /// Marks the transmit path lockless (`lltx`).
    pub(crate) fn set_lltx(&mut self) {
        // SAFETY: The device is valid and exclusively ours.
        unsafe { bindings::rveth_dev_set_lltx(self.0.as_ptr()) }
    }

    /// Asks the core to allocate and free per-CPU tstats for the device.
    pub(crate) fn use_pcpu_tstats(&mut self) {
        // SAFETY: The device is valid and exclusively ours.
        unsafe { bindings::rveth_dev_set_pcpu_tstats(self.0.as_ptr()) }
    }

    /// Sets the active, hardware and encapsulation features.
    pub(crate) fn set_features(&mut self, features: Features, vlan: Features, mpls: Features) {
        let dev = self.raw();
        dev.features |= features;
        dev.hw_features = features;
        dev.hw_enc_features = features;
        dev.vlan_features = vlan;
        dev.mpls_features = mpls;
    }

    /// Sets the maximum MTU.
    pub(crate) fn set_max_mtu(&mut self, mtu: u32) {
        self.raw().max_mtu = mtu;
    }

    /// Sets the largest TSO packet the device accepts.
    pub(crate) fn set_tso_max_size(&mut self, size: u32) {
        // SAFETY: The device is valid and exclusively ours.
        unsafe { bindings::netif_set_tso_max_size(self.0.as_ptr(), size) }
    }

    /// Lets unregistration free the device (`needs_free_netdev`).
    pub(super) fn set_needs_free_netdev(&mut self) {
        self.raw().needs_free_netdev = true;
    }

    /// Installs the ops tables.
    pub(super) fn set_ops(
        &mut self,
        ndo: &'static bindings::net_device_ops,
        ethtool: &'static bindings::ethtool_ops,
    ) {
        let dev = self.raw();
        dev.netdev_ops = ndo;
        dev.ethtool_ops = ethtool;
    }
}

/// An RCU-protected pointer to another device, holding a reference on it.
///
/// This is veth's `struct net_device __rcu *peer` plus its
/// `netdevice_tracker`: readers use [`PeerSlot::get`] under an RCU read lock,
/// writers [`PeerSlot::publish`] and [`PeerSlot::take`] under RTNL.
///
/// # Invariants
///
/// The slot is either NULL or points to a device with private data `P` on
/// which the slot holds a reference (`netdev_hold` with `tracker`).
pub(crate) struct PeerSlot<P> {
    ptr: Opaque<*mut bindings::net_device>,
    tracker: Opaque<bindings::netdevice_tracker>,
    _p: PhantomData<P>,
}

// SAFETY: All accesses go through RCU/RTNL-protected primitives.
unsafe impl<P: Sync> Sync for PeerSlot<P> {}
// SAFETY: See `Sync`.
unsafe impl<P: Sync> Send for PeerSlot<P> {}

impl<P> PeerSlot<P> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        // INVARIANT: NULL is allowed.
        Self {
            ptr: Opaque::new(ptr::null_mut()),
            tracker: Opaque::zeroed(),
            _p: PhantomData,
        }
    }

    /// The peer, valid while the RCU read lock `_guard` is held.
    pub(crate) fn get<'a>(&'a self, _guard: &'a rcu::Guard) -> Option<&'a Device<P>> {
        // SAFETY: The slot is valid; the RCU read lock is held (guard).
        let p = unsafe { bindings::rveth_peer_deref_rcu(self.ptr.get()) };
        // SAFETY: A non-NULL peer is a device with private data `P` (type
        // invariant); it is unpublished before unregistration, which waits
        // for RCU readers, so it outlives the guard.
        NonNull::new(p).map(|p| unsafe { Device::from_raw(p.as_ptr()) })
    }

    /// The peer, valid while bottom halves stay disabled (the transmit path:
    /// `rcu_dereference_bh`, no extra read lock needed).
    pub(crate) fn get_bh<'a>(&'a self, _bh: &'a BhDisabled) -> Option<&'a Device<P>> {
        // SAFETY: The slot is valid; BH is disabled, an RCU read section.
        let p = unsafe { bindings::rveth_peer_deref_bh(self.ptr.get()) };
        // SAFETY: As in `get`: the peer is unpublished before unregistration,
        // which waits for BH-disabled sections too (one RCU flavour).
        NonNull::new(p).map(|p| unsafe { Device::from_raw(p.as_ptr()) })
    }

    /// The peer, valid while RTNL is held.
    pub(crate) fn get_rtnl<'a>(&'a self, _rtnl: &'a Rtnl) -> Option<&'a Device<P>> {
        // SAFETY: The slot is valid; RTNL is held.
        let p = unsafe { bindings::rveth_peer_deref_rtnl(self.ptr.get()) };
        // SAFETY: The slot holds a reference on the peer (type invariant) and
        // only RTNL holders change the slot.
        NonNull::new(p).map(|p| unsafe { Device::from_raw(p.as_ptr()) })
    }

    /// Publishes `peer` in the slot and takes a reference on it.
    ///
    /// The slot must be empty.
    pub(crate) fn publish(&self, peer: &Device<P>, _rtnl: &Rtnl) {
        // SAFETY: `peer` is valid; the tracker belongs to this slot, which is
        // empty, so it is not in use.
        unsafe { bindings::rveth_netdev_hold(peer.as_raw(), self.tracker.get()) };
        // INVARIANT: The reference was taken above.
        // SAFETY: RTNL is held, so no other writer races.
        unsafe { bindings::rveth_peer_assign(self.ptr.get(), peer.as_raw()) };
    }

    /// Empties the slot, returning the reference it held.
    pub(crate) fn take<'a>(&'a self, _rtnl: &'a Rtnl) -> Option<PeerRef<'a, P>> {
        // SAFETY: The slot is valid; `xchg` makes the take atomic.
        let p = unsafe { bindings::rveth_peer_take(self.ptr.get()) };
        // INVARIANT: The reference moves from the slot to the `PeerRef`.
        NonNull::new(p).map(|dev| PeerRef { dev, slot: self })
    }
}

/// A reference on a device taken out of a [`PeerSlot`]; dropped with `netdev_put`.
///
/// # Invariants
///
/// `dev` is a device with private data `P` on which a reference is held,
/// tracked by `slot.tracker`.
pub(crate) struct PeerRef<'a, P> {
    dev: NonNull<bindings::net_device>,
    slot: &'a PeerSlot<P>,
}

impl<P> core::ops::Deref for PeerRef<'_, P> {
    type Target = Device<P>;
    fn deref(&self) -> &Device<P> {
        // SAFETY: The reference held keeps the device valid (type invariant).
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }
}

impl<P> Drop for PeerRef<'_, P> {
    fn drop(&mut self) {
        // SAFETY: The reference was taken with this tracker (type invariant).
        unsafe { bindings::rveth_netdev_put(self.dev.as_ptr(), self.slot.tracker.get()) };
    }
}

/// A list of devices to unregister in one batch (`unregister_netdevice_queue`).
pub(crate) struct UnregisterQueue<'a> {
    head: *mut bindings::list_head,
    _rtnl: &'a Rtnl,
}

impl<'a> UnregisterQueue<'a> {
    /// # Safety
    ///
    /// `head` must be NULL or a valid list head for `'a`, owned by the caller
    /// of `dellink`.
    pub(super) unsafe fn from_raw(head: *mut bindings::list_head, rtnl: &'a Rtnl) -> Self {
        Self { head, _rtnl: rtnl }
    }

    /// Queues `dev` for unregistration.
    pub(crate) fn queue<P>(&mut self, dev: &Device<P>) {
        // SAFETY: RTNL is held; `dev` is valid and registered; `head` is valid.
        unsafe { bindings::unregister_netdevice_queue(dev.as_raw(), self.head) }
    }

    /// Queues `dev`, which may live in another namespace than `net`, for
    /// unregistration (`unregister_netdevice_queue_net`).
    pub(crate) fn queue_net<P>(&mut self, net: NetRef<'_>, dev: &Device<P>) {
        // SAFETY: RTNL is held; `dev` and `net` are valid; `head` is valid.
        unsafe { bindings::rveth_unregister_netdevice_queue_net(net.as_raw(), dev.as_raw(), self.head) }
    }
}
