// SPDX-License-Identifier: GPL-2.0

//! Network devices (`struct net_device`) with typed private data.
//!
//! A driver sees a device in two forms, each with what is sound in its
//! state: [`SetupDevice`] while `alloc_netdev_mqs()` sets it up (`setup`),
//! and [`Device`] once registered. In between (allocation to registration,
//! in `newlink`) only the pair layer of [`super::link`] holds it, and the
//! driver gets its private data (`Driver::init_pair`).
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use kernel::{error::to_result, prelude::*, sync::rcu, types::Opaque};

use super::{
    bindings,
    napi::RxQueues,
    percpu::{self, Counters},
    BhDisabled, Rtnl,
};

/// The private area of a device of a [`super::link::Driver`]: what
/// `netdev_priv()` points to.
///
/// The adapters of [`super::link`] own its layout: the per-CPU counters
/// (allocated on their first add, freed in `priv_destructor`), the receive
/// queues they allocate in `ndo_init`, the peer slot they
/// fill in `newlink` and empty in `dellink`, then the driver's data. The
/// driver reaches only `data` (and reads the peer through [`Device::peer`]).
#[repr(C)]
pub(super) struct PrivArea<P> {
    /// Not allocated until their first add, freed by `priv_destructor`.
    pub(super) counters: Counters,
    /// The receive queues (NAPI, rings): none until `ndo_init`, none again
    /// after `priv_destructor`.
    pub(super) rxq: RxQueues,
    /// The other end of the pair.
    pub(super) peer: PeerSlot<P>,
    /// The driver's data, written by the `setup` adapter.
    pub(super) data: P,
}

/// The private area of `dev`, computed from the raw pointer (no reference
/// to the device or its data is created).
///
/// This is what `netdev_priv()` returns: since 6.11 the core keeps it in
/// `dev->priv` (`struct net_device` ends with a flexible array that holds it),
/// which is read here instead of calling the inline function.
///
/// # Safety
///
/// `dev` must point to a valid `net_device` allocated with a private area of
/// `size_of::<PrivArea<P>>()` bytes.
pub(super) unsafe fn priv_area<P>(dev: *mut bindings::net_device) -> *mut PrivArea<P> {
    // SAFETY: `dev` is valid (caller); `priv_` is the address of the
    // trailing flexible array, the private area (`netdev_priv()`).
    unsafe { ptr::addr_of_mut!((*dev).priv_).cast::<PrivArea<P>>() }
}

/// `dev_net()`: the namespace of a device (`possible_net_t`, read with
/// READ_ONCE as `read_pnet()`).
///
/// # Safety
///
/// `dev` must point to a valid `net_device`.
pub(super) unsafe fn dev_net(dev: *const bindings::net_device) -> *mut bindings::net {
    #[cfg(CONFIG_NET_NS)]
    // SAFETY: `dev` is valid (caller).
    return unsafe { ptr::read_volatile(&raw const (*dev).nd_net.net) };
    #[cfg(not(CONFIG_NET_NS))]
    // SAFETY: Without namespaces every device lives in `init_net`.
    return unsafe { &raw mut bindings::init_net };
}

/// A registered network device whose private area holds a `P`.
///
/// Only the adapters of [`super::link`] create references to it, for devices
/// of their driver that are registered (or being unregistered: the core
/// still calls some callbacks then), so a `&Device` can never be a device
/// whose registration has not happened.
///
/// # Invariants
///
/// - The wrapped `net_device` was allocated by a link driver whose private
///   data type is `P` (see [`super::link::Driver::Priv`]); its private area is
///   a [`PrivArea<P>`] whose data is initialised for as long as the device
///   exists.
/// - It has been registered: its per-CPU tstats (`pcpu_stat_type ==
///   NETDEV_PCPU_STAT_TSTATS`, forced by the `setup` adapter) are allocated,
///   and the counters of its [`PrivArea`] are not freed, for as long as a
///   reference to it exists.
/// - Netpoll is off for it (`IFF_DISABLE_NETPOLL`, forced by the `setup`
///   adapter), so its transmit never runs in hard-IRQ context and nothing
///   there writes its per-CPU tstats.
/// - It is never ops-locked (`netdev_need_ops_lock()` is false): the layer
///   sets neither `request_ops_lock`, `queue_mgmt_ops` nor
///   `net_shaper_ops`, so the core calls its ops under RTNL and the
///   RTNL-asserting paths (`netif_set_real_num_*_queues()`) need RTNL only.
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
    /// `ptr` must point to a registered (or unregistering) `net_device` of a
    /// driver whose private data type is `P`, which stays valid and keeps its
    /// per-CPU statistics for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // CAST: `Self` is a transparent wrapper around `bindings::net_device`.
        // SAFETY: Guaranteed by the caller; the type invariants hold because
        // the caller guarantees them.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the raw `net_device` pointer.
    pub(super) fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    fn area(&self) -> &PrivArea<P> {
        // SAFETY: By the type invariant the private area is a `PrivArea<P>`
        // with initialised data that lives as long as the device.
        unsafe { &*priv_area::<P>(self.as_raw()) }
    }

    /// Returns the driver's private data.
    pub(crate) fn priv_data(&self) -> &P {
        &self.area().data
    }

    /// The device's per-CPU counters ([`super::link::Driver::PCPU_COUNTERS`],
    /// allocated on their first add).
    pub(crate) fn counters(&self) -> &Counters {
        &self.area().counters
    }

    /// The peer slot (owned by the adapters of [`super::link`]).
    pub(super) fn peer_slot(&self) -> &PeerSlot<P> {
        &self.area().peer
    }

    /// The other end of the pair, valid while the RCU read lock `guard` is
    /// held; `None` once the pair is being deleted.
    pub(crate) fn peer<'a>(&'a self, guard: &'a rcu::Guard) -> Option<&'a Device<P>> {
        self.peer_slot().get(guard)
    }

    /// The other end, on the transmit path (BH disabled: an RCU read
    /// section, `rcu_dereference_bh`).
    pub(crate) fn peer_bh<'a>(&'a self, bh: &'a BhDisabled) -> Option<&'a Device<P>> {
        self.peer_slot().get_bh(bh)
    }

    /// The other end, valid while RTNL is held.
    pub(crate) fn peer_rtnl<'a>(&'a self, rtnl: &'a Rtnl) -> Option<&'a Device<P>> {
        self.peer_slot().get_rtnl(rtnl)
    }

    /// The interface index.
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

    /// Whether the device is running (`netif_running()`:
    /// `__LINK_STATE_START`, set before `ndo_open` runs and cleared before
    /// `ndo_stop` runs, so already true in the one, false in the other).
    pub(super) fn is_running(&self) -> bool {
        // SAFETY: `as_raw()` is valid; `state` is changed with atomic bit
        // operations, which a plain word read may race with (`test_bit`).
        let state = unsafe { ptr::read_volatile(&raw const (*self.as_raw()).state) };
        state & (1 << bindings::netdev_state_t___LINK_STATE_START) != 0
    }

    /// Whether the device is registered (`NETREG_REGISTERED`), not being
    /// unregistered. The answer is stable while RTNL is held: the
    /// transitions to and from `NETREG_REGISTERED` happen under RTNL (the
    /// later ones, in `netdev_run_todo()`, after it is released, hence the
    /// READ_ONCE).
    pub(super) fn is_registered(&self, _rtnl: &Rtnl) -> bool {
        // SAFETY: `as_raw()` is valid; `reg_state` is a `u8`.
        let state = unsafe { ptr::read_volatile(&raw const (*self.as_raw()).reg_state) };
        u32::from(state) == bindings::netdev_reg_state_NETREG_REGISTERED
    }

    /// The active features (`dev->features`; changed under RTNL, hence the
    /// READ_ONCE for the transmit path).
    pub(crate) fn features(&self) -> Features {
        // SAFETY: `as_raw()` is valid; a word-sized field.
        Features(unsafe { ptr::read_volatile(&raw const (*self.as_raw()).features) })
    }

    /// Whether the administrator asked for GRO (`veth_gro_requested()`:
    /// `NETIF_F_GRO` in `wanted_features`).
    pub(super) fn gro_requested(&self, _rtnl: &Rtnl) -> bool {
        // SAFETY: `as_raw()` is valid; `wanted_features` changes under RTNL,
        // which is held.
        let wanted = unsafe { (*self.as_raw()).wanted_features };
        wanted & bindings::NETIF_F_GRO != 0
    }

    /// Turns the carrier on (`netif_carrier_on`).
    pub(crate) fn carrier_on(&self) {
        // SAFETY: `as_raw()` is a valid, registered device.
        unsafe { bindings::netif_carrier_on(self.as_raw()) }
    }

    /// Turns the carrier off (`netif_carrier_off`).
    pub(crate) fn carrier_off(&self) {
        // SAFETY: `as_raw()` is a valid, registered device.
        unsafe { bindings::netif_carrier_off(self.as_raw()) }
    }

    /// The device's queues: how many exist and how many are in use.
    pub(crate) fn queues(&self) -> Queues {
        let d = self.as_raw();
        // SAFETY: `as_raw()` is valid. The counts in use change under RTNL
        // only, hence the READ_ONCE for readers without it (the data path,
        // `get_stats64`); the maxima are fixed at allocation.
        unsafe {
            Queues {
                rx: ptr::read_volatile(&raw const (*d).real_num_rx_queues),
                tx: ptr::read_volatile(&raw const (*d).real_num_tx_queues),
                max_rx: (*d).num_rx_queues,
                max_tx: (*d).num_tx_queues,
            }
        }
    }

    /// Sets the number of receive and transmit queues in use, as
    /// `veth_set_channels()` does: receive first, then transmit; if the
    /// transmit change fails the receive change is undone (the core cannot
    /// always undo it: then the error is returned with a warning and the
    /// new receive count stays, as with veth). Counts out of
    /// `1..=max` are refused with `EINVAL` by the core.
    ///
    /// Sleeps (`synchronize_net()`, sysfs objects), so only the layer's
    /// `ethtool -L` adapter calls it, never driver code (which could call
    /// it inside an RCU read-side section).
    pub(super) fn set_queues(&self, rx: u32, tx: u32, rtnl: &Rtnl) -> Result {
        if !self.is_registered(rtnl) {
            return Err(ENODEV);
        }
        let d = self.as_raw();
        let old_rx = self.queues().rx;
        // SAFETY: `d` is registered (checked above); RTNL is held
        // (`rtnl`), which is the lock the core asserts for devices that are
        // not ops-locked, as ours never are (`Device`).
        to_result(unsafe { bindings::netif_set_real_num_rx_queues(d, rx) })?;
        // SAFETY: As above.
        if let Err(e) = to_result(unsafe { bindings::netif_set_real_num_tx_queues(d, tx) }) {
            // SAFETY: As above.
            if let Err(e2) = to_result(unsafe { bindings::netif_set_real_num_rx_queues(d, old_rx) })
            {
                pr_warn!(
                    "can't restore rx queues config {} -> {} {}\n",
                    rx,
                    old_rx,
                    e2.to_errno()
                );
            }
            return Err(e);
        }
        Ok(())
    }

    /// The network namespace the device lives in.
    pub(crate) fn net(&self) -> NetRef<'_> {
        // SAFETY: `as_raw()` is valid. A device always has a namespace, which
        // outlives the device's membership in it.
        NetRef(unsafe { dev_net(self.as_raw()) }, PhantomData)
    }

    /// Counts one transmitted packet of `len` bytes in the per-CPU stats
    /// (`dev_sw_netstats_tx_add`), inline.
    #[inline(always)]
    pub(crate) fn tstats_tx_add(&self, len: u32, bh: &BhDisabled) {
        // SAFETY: `as_raw()` is a registered device of this layer (type
        // invariant).
        unsafe { tstats_tx_add(self.as_raw(), len, bh) }
    }

    /// Sums the per-CPU tstats into `stats` (`dev_fetch_sw_netstats`).
    pub(crate) fn fetch_tstats(&self, stats: &mut LinkStats64) {
        // SAFETY: `as_raw()` is valid; `tstats` is the union member the
        // adapters select, a plain pointer read (layout checked).
        let tstats = unsafe { (*self.as_raw()).__bindgen_anon_2.tstats };
        // SAFETY: `as_raw()` is registered, so its per-CPU tstats exist (type
        // invariant).
        unsafe { bindings::dev_fetch_sw_netstats(stats.as_raw(), tstats) }
    }
}

/// Counts one transmitted packet of `len` bytes in `dev`'s per-CPU stats
/// (`dev_sw_netstats_tx_add()`, inline: this CPU's copy is found without a
/// call, see [`percpu::this_cpu_ptr`]).
///
/// # Safety
///
/// `dev` is a registered device of a driver of this layer (so its per-CPU
/// tstats exist and netpoll is off: the adapters force
/// `NETDEV_PCPU_STAT_TSTATS` and `IFF_DISABLE_NETPOLL`), valid for the
/// call.
#[inline(always)]
pub(super) unsafe fn tstats_tx_add(dev: *mut bindings::net_device, len: u32, bh: &BhDisabled) {
    // SAFETY: `dev` is valid (see above); `tstats` is the union member the
    // adapters select, a plain pointer read (its offset is checked by
    // `super::layout`).
    let tstats = unsafe { (*dev).__bindgen_anon_2.tstats };
    let s = percpu::this_cpu_ptr(tstats, bh);
    // `dev_sw_netstats_tx_add()`'s conditions: netpoll is off (no hard-IRQ
    // transmit) and BH is disabled (the task stays on this CPU).
    // SAFETY: `s` is this CPU's copy of `dev`'s existing tstats, which only
    // tasks on this CPU write, and the task stays here (see above).
    unsafe {
        percpu::u64_stats_add(&raw mut (*s).tx_packets, 1);
        percpu::u64_stats_add(&raw mut (*s).tx_bytes, u64::from(len));
    }
}

/// A device's queue counts (`ethtool -l`): in use and allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Queues {
    /// Receive queues in use (`real_num_rx_queues`).
    pub(crate) rx: u32,
    /// Transmit queues in use (`real_num_tx_queues`).
    pub(crate) tx: u32,
    /// Receive queues allocated (`num_rx_queues`).
    pub(crate) max_rx: u32,
    /// Transmit queues allocated (`num_tx_queues`).
    pub(crate) max_tx: u32,
}

/// Whether `addr` is a valid unicast Ethernet address: six bytes, not
/// multicast, not all zeroes (`is_valid_ether_addr`).
pub(crate) fn is_valid_ether_addr(addr: &[u8]) -> bool {
    addr.len() == ETH_ALEN && addr[0] & 1 == 0 && addr.iter().any(|&b| b != 0)
}

/// Length of an Ethernet address.
pub(crate) const ETH_ALEN: usize = bindings::ETH_ALEN as usize;
/// Smallest MTU of an Ethernet device (`ETH_MIN_MTU`).
pub(crate) const ETH_MIN_MTU: u32 = bindings::ETH_MIN_MTU;
/// Largest MTU of an Ethernet device (`ETH_MAX_MTU`).
pub(crate) const ETH_MAX_MTU: u32 = bindings::ETH_MAX_MTU;
/// Default largest GSO packet (`GSO_MAX_SIZE`).
pub(crate) const GSO_MAX_SIZE: u32 = bindings::GSO_MAX_SIZE;

/// A borrowed network namespace (`struct net`).
#[derive(Clone, Copy)]
pub(crate) struct NetRef<'a>(*mut bindings::net, PhantomData<&'a bindings::net>);

impl NetRef<'_> {
    /// Returns the raw pointer.
    pub(super) fn as_raw(self) -> *mut bindings::net {
        self.0
    }
}

impl PartialEq for NetRef<'_> {
    /// `net_eq()`.
    fn eq(&self, other: &Self) -> bool {
        ptr::eq(self.0, other.0)
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
    pub(super) unsafe fn from_raw<'a>(ptr: *mut bindings::rtnl_link_stats64) -> &'a mut Self {
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
        self.0.rx_packets = self.0.rx_packets.wrapping_add(packets);
        self.0.rx_bytes = self.0.rx_bytes.wrapping_add(bytes);
    }
    /// Adds transmitted packets and bytes.
    pub(crate) fn add_tx(&mut self, packets: u64, bytes: u64) {
        self.0.tx_packets = self.0.tx_packets.wrapping_add(packets);
        self.0.tx_bytes = self.0.tx_bytes.wrapping_add(bytes);
    }
    /// Adds receive drops.
    pub(crate) fn add_rx_dropped(&mut self, n: u64) {
        self.0.rx_dropped = self.0.rx_dropped.wrapping_add(n);
    }
    /// Adds transmit drops.
    pub(crate) fn add_tx_dropped(&mut self, n: u64) {
        self.0.tx_dropped = self.0.tx_dropped.wrapping_add(n);
    }
}

/// A set of feature flags (`netdev_features_t`) a driver may advertise.
///
/// Only the flags named in [`features`] can be built; whatever a driver
/// combines, [`SetupDevice::set_features`] keeps only those (a flag such as
/// `NETIF_F_HW_L2FW_DOFFLOAD` makes the core call ops a pair device does
/// not have).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Features(bindings::netdev_features_t);

impl Features {
    /// The flags of `self` and `o` (`|`, usable in constants).
    pub(crate) const fn with(self, o: Self) -> Self {
        Self(self.0 | o.0)
    }

    /// The flags of `self` that are not in `o`.
    pub(crate) const fn without(self, o: Self) -> Self {
        Self(self.0 & !o.0)
    }

    /// Wraps a raw feature set handed in by the core.
    pub(super) const fn from_raw(f: bindings::netdev_features_t) -> Self {
        Self(f)
    }

    /// The raw flags.
    pub(super) const fn raw(self) -> bindings::netdev_features_t {
        self.0
    }

    /// Whether `self` has any flag of `o`.
    pub(crate) const fn intersects(self, o: Self) -> bool {
        self.0 & o.0 != 0
    }

    /// Every TSO flag (`NETIF_F_ALL_TSO`), to test a device's features.
    pub(crate) const ALL_TSO: Features = Features(bindings::NETIF_F_ALL_TSO);
    /// The receive features that aggregate forwarded UDP
    /// (`NETIF_F_GRO_FRAGLIST | NETIF_F_GRO_UDP_FWD`), to test a device's
    /// features.
    pub(crate) const GRO_UDP_TARGET: Features =
        Features(bindings::NETIF_F_GRO_FRAGLIST | bindings::NETIF_F_GRO_UDP_FWD);
    /// Generic receive offload (`NETIF_F_GRO`), to test a device's features
    /// (a software feature the core manages: not settable in `setup`).
    pub(crate) const GRO: Features = Features(bindings::NETIF_F_GRO);
}

/// `NETIF_F_*` feature flags.
pub(crate) mod features {
    use super::{bindings, Features};
    /// Scatter/gather.
    pub(crate) const SG: Features = Features(bindings::NETIF_F_SG);
    /// Frame lists.
    pub(crate) const FRAGLIST: Features = Features(bindings::NETIF_F_FRAGLIST);
    /// Checksums any packet.
    pub(crate) const HW_CSUM: Features = Features(bindings::NETIF_F_HW_CSUM);
    /// Receive checksum.
    pub(crate) const RXCSUM: Features = Features(bindings::NETIF_F_RXCSUM);
    /// SCTP CRC32c.
    pub(crate) const SCTP_CRC: Features = Features(bindings::NETIF_F_SCTP_CRC);
    /// DMA above 4 GiB.
    pub(crate) const HIGHDMA: Features = Features(bindings::NETIF_F_HIGHDMA);
    /// All software GSO types.
    pub(crate) const GSO_SOFTWARE: Features = Features(bindings::NETIF_F_GSO_SOFTWARE);
    /// All encapsulation GSO types.
    pub(crate) const GSO_ENCAP_ALL: Features = Features(bindings::NETIF_F_GSO_ENCAP_ALL);
    /// 802.1Q tag insertion.
    pub(crate) const HW_VLAN_CTAG_TX: Features = Features(bindings::NETIF_F_HW_VLAN_CTAG_TX);
    /// 802.1Q tag stripping.
    pub(crate) const HW_VLAN_CTAG_RX: Features = Features(bindings::NETIF_F_HW_VLAN_CTAG_RX);
    /// 802.1ad tag insertion.
    pub(crate) const HW_VLAN_STAG_TX: Features = Features(bindings::NETIF_F_HW_VLAN_STAG_TX);
    /// 802.1ad tag stripping.
    pub(crate) const HW_VLAN_STAG_RX: Features = Features(bindings::NETIF_F_HW_VLAN_STAG_RX);
    /// Every flag above.
    pub(super) const ALLOWED: Features = Features(
        SG.0 | FRAGLIST.0
            | HW_CSUM.0
            | RXCSUM.0
            | SCTP_CRC.0
            | HIGHDMA.0
            | GSO_SOFTWARE.0
            | GSO_ENCAP_ALL.0
            | HW_VLAN_CTAG_TX.0
            | HW_VLAN_CTAG_RX.0
            | HW_VLAN_STAG_TX.0
            | HW_VLAN_STAG_RX.0,
    );
}

/// A set of `IFF_*` private flags (`enum netdev_priv_flags`) a driver may
/// choose: only those named in [`priv_flags`]. Flags that make the core
/// treat the device as another type (`IFF_802_1Q_VLAN`, `IFF_MACVLAN`, ...:
/// it would read their private data from ours) cannot be built, and
/// [`SetupDevice::set_priv_flags`] keeps only the allowed ones.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct PrivFlags(usize);

impl PrivFlags {
    /// The flags of `self` and `o` (`|`, usable in constants).
    pub(crate) const fn with(self, o: Self) -> Self {
        Self(self.0 | o.0)
    }
}

/// The `IFF_*` private flags a driver may set.
///
/// Two are not among them: the adapters always set `IFF_DISABLE_NETPOLL`
/// (the transmit adapter relies on BH being disabled, which netpoll does not
/// guarantee) and always clear `IFF_TX_SKB_SHARING` (pktgen's `clone_skb`
/// would hand `ndo_start_xmit` a shared skb, which [`super::skb::SkBuff`]
/// owns exclusively), as `veth_setup()` does.
pub(crate) mod priv_flags {
    use super::{bindings, PrivFlags};
    /// Can change its MAC address while up.
    pub(crate) const LIVE_ADDR_CHANGE: PrivFlags =
        PrivFlags(bindings::netdev_priv_flags_IFF_LIVE_ADDR_CHANGE as usize);
    /// Has no queue: the noqueue qdisc is the default.
    pub(crate) const NO_QUEUE: PrivFlags =
        PrivFlags(bindings::netdev_priv_flags_IFF_NO_QUEUE as usize);
    /// Stacked devices do not try to change the headroom (veth's flag; a
    /// pair device without `ndo_set_rx_headroom` has none to set).
    pub(crate) const PHONY_HEADROOM: PrivFlags =
        PrivFlags(bindings::netdev_priv_flags_IFF_PHONY_HEADROOM as usize);
    /// Every flag above.
    pub(super) const ALLOWED: PrivFlags =
        PrivFlags(LIVE_ADDR_CHANGE.0 | NO_QUEUE.0 | PHONY_HEADROOM.0);
    /// Forced on by the adapters.
    pub(super) const DISABLE_NETPOLL: usize =
        bindings::netdev_priv_flags_IFF_DISABLE_NETPOLL as usize;
    /// Forced off by the adapters.
    pub(super) const TX_SKB_SHARING: usize =
        bindings::netdev_priv_flags_IFF_TX_SKB_SHARING as usize;
}

/// A device between allocation and registration, as handed to `setup`.
///
/// Only the setup-time fields a driver may choose are writable through it,
/// with the values above; what the adapters rely on (per-CPU tstats, no
/// netpoll, no shared skbs, freeing on unregistration, the ops tables) is
/// set by the `setup` adapter after the driver's `setup` and cannot be
/// changed from here.
///
/// # Invariants
///
/// `self.0` is a device being set up by `alloc_netdev_mqs()`, not yet
/// registered and not visible to any other thread.
pub(crate) struct SetupDevice<P>(NonNull<bindings::net_device>, PhantomData<P>);

impl<P> SetupDevice<P> {
    /// # Safety
    ///
    /// `ptr` must be a device being set up by `alloc_netdev_mqs()`, not yet
    /// registered nor visible to any other thread, for the lifetime of the
    /// new value.
    pub(super) unsafe fn from_raw(ptr: *mut bindings::net_device) -> Self {
        // SAFETY: `alloc_netdev_mqs()` never passes NULL.
        // INVARIANT: Guaranteed by the caller.
        Self(unsafe { NonNull::new_unchecked(ptr) }, PhantomData)
    }

    fn raw(&mut self) -> &mut bindings::net_device {
        // SAFETY: By the type invariant the device is exclusively ours.
        unsafe { self.0.as_mut() }
    }

    /// Applies `ether_setup()`: Ethernet header ops, MTU, flags.
    pub(crate) fn ether_setup(&mut self) {
        // SAFETY: The device is valid and not yet registered.
        unsafe { bindings::ether_setup(self.0.as_ptr()) }
    }

    /// Sets `priv_flags` bits (see [`priv_flags`]).
    pub(crate) fn set_priv_flags(&mut self, set: PrivFlags) {
        // SAFETY: The device is valid and exclusively ours.
        unsafe {
            bindings::rveth_dev_set_priv_flags(self.0.as_ptr(), set.0 & priv_flags::ALLOWED.0, 0)
        }
    }

    /// Marks the transmit path lockless (`lltx`).
    pub(crate) fn set_lltx(&mut self) {
        // SAFETY: The device is valid and exclusively ours.
        unsafe { bindings::rveth_dev_set_lltx(self.0.as_ptr()) }
    }

    /// Adds `features` to the active features and sets the hardware,
    /// encapsulation, VLAN and MPLS feature sets.
    pub(crate) fn set_features(&mut self, features: Features, vlan: Features, mpls: Features) {
        let allowed = features::ALLOWED.0;
        let dev = self.raw();
        dev.features |= features.0 & allowed;
        dev.hw_features = features.0 & allowed;
        dev.hw_enc_features = features.0 & allowed;
        dev.vlan_features = vlan.0 & allowed;
        dev.mpls_features = mpls.0 & allowed;
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

    /// Sets what the adapters rely on, after the driver's `setup`: per-CPU
    /// tstats, no netpoll, no shared skbs, freed by unregistration, and the
    /// ops tables; with `xdp_metadata`, the layer's XDP metadata ops
    /// ([`super::xdp::METADATA_OPS`], only for a device whose native
    /// programs run in the layer's poll).
    pub(super) fn finish(
        &mut self,
        ndo: &'static bindings::net_device_ops,
        ethtool: &'static bindings::ethtool_ops,
        xdp_metadata: bool,
        priv_destructor: unsafe extern "C" fn(*mut bindings::net_device),
    ) {
        let p = self.0.as_ptr();
        // SAFETY: The device is valid and exclusively ours.
        unsafe {
            bindings::rveth_dev_set_pcpu_tstats(p);
            bindings::rveth_dev_set_priv_flags(
                p,
                priv_flags::DISABLE_NETPOLL,
                priv_flags::TX_SKB_SHARING,
            );
        }
        let dev = self.raw();
        dev.needs_free_netdev = true;
        dev.priv_destructor = Some(priv_destructor);
        dev.netdev_ops = ndo;
        dev.ethtool_ops = ethtool;
        if xdp_metadata {
            dev.xdp_metadata_ops = &super::xdp::METADATA_OPS;
        }
    }
}

/// An RCU-protected pointer to another registered device, holding a tracked
/// reference on it.
///
/// This is veth's `struct net_device __rcu *peer` plus its
/// `netdevice_tracker`: readers use [`PeerSlot::get`] (RCU),
/// [`PeerSlot::get_bh`] (transmit path) or [`PeerSlot::get_rtnl`]; writers
/// [`link_pair`] and [`UnregisterQueue::queue_pair`], under RTNL. Only the
/// adapters of [`super::link`] create and write slots (one per device, in
/// its [`PrivArea`]).
///
/// # Invariants
///
/// The slot is either NULL, with an unused `tracker`, or points to a device
/// with private data `P` that was registered when it was published, on
/// which the slot holds a reference tracked by `tracker`
/// (`netdev_hold`). Only RTNL holders change it.
pub(super) struct PeerSlot<P> {
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
    pub(super) const fn new() -> Self {
        // INVARIANT: NULL with an unused (zeroed) tracker.
        Self {
            ptr: Opaque::new(ptr::null_mut()),
            tracker: Opaque::zeroed(),
            _p: PhantomData,
        }
    }

    /// # Safety
    ///
    /// `p` must have been read from this slot while the slot's reference
    /// protected it for `'a` (an RCU read section, BH disabled or RTNL).
    unsafe fn device<'a>(p: *mut bindings::net_device) -> Option<&'a Device<P>> {
        // A non-NULL peer was registered when published (type invariant) and
        // is unpublished before it is unregistered; unregistration waits for
        // RCU readers and needs RTNL.
        // SAFETY: So it stays registered-or-unregistering, with its
        // statistics and private data `P`, for `'a` (caller).
        NonNull::new(p).map(|p| unsafe { Device::from_raw(p.as_ptr()) })
    }

    /// The peer, valid while the RCU read lock `_guard` is held.
    pub(super) fn get<'a>(&'a self, _guard: &'a rcu::Guard) -> Option<&'a Device<P>> {
        // SAFETY: The slot is valid; the RCU read lock is held (guard).
        let p = unsafe { bindings::rveth_peer_deref_rcu(self.ptr.get()) };
        // SAFETY: Read under the RCU read lock held for `'a`.
        unsafe { Self::device(p) }
    }

    /// The peer, valid while bottom halves stay disabled (the transmit path:
    /// `rcu_dereference_bh`, no extra read lock needed).
    ///
    /// The pointer is read here, in Rust, with a volatile load: that is
    /// `READ_ONCE()`, which is all `rcu_dereference_bh()` does besides
    /// lockdep's check, and the hot path saves a call (the
    /// [`BhDisabled`] evidence is the check).
    pub(super) fn get_bh<'a>(&'a self, _bh: &'a BhDisabled) -> Option<&'a Device<P>> {
        // SAFETY: The slot is valid; writers publish with
        // `rcu_assign_pointer` (release) and readers depend on the loaded
        // address, as with `rcu_dereference`.
        let p = unsafe { ptr::read_volatile(self.ptr.get()) };
        // SAFETY: Read with BH disabled for `'a`, an RCU read section.
        unsafe { Self::device(p) }
    }

    /// The peer, valid while RTNL is held.
    pub(super) fn get_rtnl<'a>(&'a self, _rtnl: &'a Rtnl) -> Option<&'a Device<P>> {
        // SAFETY: The slot is valid; RTNL is held.
        let p = unsafe { bindings::rveth_peer_deref_rtnl(self.ptr.get()) };
        // SAFETY: Only RTNL holders empty the slot, so the slot's reference
        // keeps the peer while RTNL is held.
        unsafe { Self::device(p) }
    }

    /// Whether `peer` may be published here: the slot is empty (`EBUSY`)
    /// and `peer` registered (`ENODEV`).
    fn check_publish(&self, peer: &Device<P>, rtnl: &Rtnl) -> Result {
        if self.get_rtnl(rtnl).is_some() {
            return Err(EBUSY);
        }
        if !peer.is_registered(rtnl) {
            return Err(ENODEV);
        }
        Ok(())
    }

    /// Publishes `peer` in the slot and takes a tracked reference on it.
    ///
    /// The caller has checked [`PeerSlot::check_publish`] under the same
    /// RTNL section.
    fn publish(&self, peer: &Device<P>, rtnl: &Rtnl) {
        kernel::warn_on!(self.check_publish(peer, rtnl).is_err());
        // SAFETY: `peer` is valid; the slot is empty, so its tracker is
        // unused (type invariant, checked by the caller); RTNL is held.
        unsafe { bindings::rveth_netdev_hold(peer.as_raw(), self.tracker.get()) };
        // INVARIANT: The reference was taken above with `tracker`; `peer` is
        // registered.
        // SAFETY: RTNL is held, so no other writer races.
        unsafe { bindings::rveth_peer_assign(self.ptr.get(), peer.as_raw()) };
    }

    /// Empties the slot, returning the reference it held with its tracker.
    fn take<'a>(&self, _rtnl: &'a Rtnl) -> Option<PeerRef<'a, P>> {
        // SAFETY: The slot is valid; `xchg` makes the take atomic.
        let p = unsafe { bindings::rveth_peer_take(self.ptr.get()) };
        let dev = NonNull::new(p)?;
        // SAFETY: The slot held a reference tracked by `tracker`, which is
        // moved out and replaced by an unused one; RTNL is held, so no other
        // writer races.
        let tracker = unsafe {
            let t = ptr::read(self.tracker.get());
            ptr::write(self.tracker.get(), core::mem::zeroed());
            t
        };
        // INVARIANT: The reference and its tracker move to the `PeerRef`.
        Some(PeerRef {
            dev,
            tracker,
            _p: PhantomData,
        })
    }
}

/// Ties two registered devices together: publishes each in the other's
/// [`PeerSlot`], as the end of `veth_newlink()` does.
///
/// Both or neither: fails with `EINVAL` if `a` and `b` are the same device,
/// `EBUSY` if a slot is occupied and `ENODEV` if a device is not registered,
/// and changes nothing then.
pub(super) fn link_pair<P>(a: &Device<P>, b: &Device<P>, rtnl: &Rtnl) -> Result {
    if ptr::eq(a, b) {
        return Err(EINVAL);
    }
    let (sa, sb) = (a.peer_slot(), b.peer_slot());
    sa.check_publish(b, rtnl)?;
    sb.check_publish(a, rtnl)?;
    sa.publish(b, rtnl);
    sb.publish(a, rtnl);
    Ok(())
}

/// A reference on a device taken out of a [`PeerSlot`], with its tracker;
/// dropped with `netdev_put`.
///
/// # Invariants
///
/// `dev` is a device with private data `P` on which a reference is held,
/// tracked by `tracker`; RTNL is held for `'a`.
struct PeerRef<'a, P> {
    dev: NonNull<bindings::net_device>,
    tracker: bindings::netdevice_tracker,
    _p: PhantomData<(&'a Rtnl, P)>,
}

impl<P> PeerRef<'_, P> {
    fn device(&self) -> &Device<P> {
        // SAFETY: The reference held keeps the device allocated (type
        // invariant); it was registered when published, and its statistics
        // are only freed after the last reference is put.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }
}

impl<P> Drop for PeerRef<'_, P> {
    fn drop(&mut self) {
        // SAFETY: The reference was taken with this tracker (type invariant).
        unsafe { bindings::rveth_netdev_put(self.dev.as_ptr(), &mut self.tracker) };
    }
}

/// A list of devices to unregister in one batch (`unregister_netdevice_queue`),
/// as `dellink` gets it.
///
/// # Invariants
///
/// `head` is a valid list head owned by the caller of `dellink` for `'a`,
/// and RTNL is held for `'a`.
pub(super) struct UnregisterQueue<'a> {
    head: NonNull<bindings::list_head>,
    rtnl: &'a Rtnl,
}

impl<'a> UnregisterQueue<'a> {
    /// # Safety
    ///
    /// `head` must be a valid list head for `'a`, owned by the caller of
    /// `dellink`.
    pub(super) unsafe fn from_raw(head: NonNull<bindings::list_head>, rtnl: &'a Rtnl) -> Self {
        // INVARIANT: Guaranteed by the caller and `rtnl`.
        Self { head, rtnl }
    }

    /// Unpairs `dev` and its peer and queues both for unregistration, as
    /// `veth_dellink()` does: empties `dev`'s slot, queues `dev`, empties the
    /// peer's slot and queues the peer, then puts both references.
    ///
    /// Whichever end is deleted first takes both; for the other one (same
    /// batch, e.g. namespace teardown) its slot is already empty and this
    /// does nothing. A device is only ever unpaired here, so an empty slot
    /// means exactly that (the adapters never leave a registered device
    /// unpaired: `newlink` pairs both ends or unregisters them).
    pub(super) fn queue_pair<P>(&mut self, dev: &Device<P>) {
        let Some(peer) = dev.peer_slot().take(self.rtnl) else {
            return;
        };
        if dev.is_registered(self.rtnl) {
            // SAFETY: RTNL is held; `dev` is valid and registered; `head` is
            // valid (type invariant).
            unsafe { bindings::unregister_netdevice_queue(dev.as_raw(), self.head.as_ptr()) };
        }
        let back = peer.device().peer_slot().take(self.rtnl);
        if let Some(back) = &back {
            if peer.device().is_registered(self.rtnl) {
                // `net` is the namespace of the device being deleted (as
                // veth_dellink() passes `dev_net(dev)`): with
                // CONFIG_DEBUG_NET_SMALL_RTNL the core defers a peer in
                // another namespace to that namespace's own list.
                // SAFETY: RTNL is held; both devices are valid, the peer is
                // registered; `head` is valid (type invariant).
                unsafe {
                    bindings::rveth_unregister_netdevice_queue_net(
                        back.device().net().as_raw(),
                        peer.device().as_raw(),
                        self.head.as_ptr(),
                    )
                }
            }
        }
        // `peer` and `back` drop here: both references are put after the
        // devices were queued, as veth_dellink() does.
    }
}
