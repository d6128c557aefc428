// SPDX-License-Identifier: GPL-2.0

//! The `ethtool_ops` table of a link driver.
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h)

use core::marker::PhantomData;

use kernel::prelude::*;

use super::{
    bindings,
    device::{Device, Queues},
    link::{Driver, ExtAck},
    napi::RING_SIZE_MAX,
    Rtnl,
};

/// Length of one `ethtool -S` name.
const GSTRING_LEN: usize = bindings::ETH_GSTRING_LEN as usize;

/// Copies `src` into a fixed C string buffer, truncating and NUL-terminating
/// (`strscpy`).
fn copy_cstr(dst: &mut [c_char], src: &CStr) {
    let n = src.to_bytes().len().min(dst.len().saturating_sub(1));
    for (d, s) in dst.iter_mut().zip(src.to_bytes()[..n].iter()) {
        *d = *s as c_char;
    }
    if let Some(d) = dst.get_mut(n) {
        *d = 0;
    }
}

/// The per-receive-queue counters appended after the driver's, per queue
/// in use: veth's `rx_queue_%u_*` counters, in veth's order (packets and
/// bytes the queue's NAPI poll took from its ring, drops, then what the
/// XDP program redirected, dropped, sent back, and what of that the peer
/// could not take), then rveth's own `ring_full` (transmits that found the
/// ring full) and `flushed` (packets freed from the ring when it went
/// off); veth has neither.
const RXQ_STATS: [&str; 9] = [
    "xdp_packets",
    "xdp_bytes",
    "drops",
    "xdp_redirect",
    "xdp_drops",
    "xdp_tx",
    "xdp_tx_errors",
    "ring_full",
    "flushed",
];

/// veth's `tx_queue_%u_*` counters, per transmit queue in use: frames
/// redirected into this device that the peer's receive queues took and
/// could not take (counted there, shown here as veth does: the peer's
/// queue `i` on transmit queue `i % tx queues`).
const TXQ_STATS: [&str; 2] = ["xdp_xmit", "xdp_xmit_errors"];

/// Writes into a fixed `ethtool -S` name slot, truncating (as
/// `ethtool_sprintf` does) and leaving the rest zero.
struct Slot<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl core::fmt::Write for Slot<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            // Keep the last byte for the NUL.
            if self.pos + 1 < self.buf.len() {
                self.buf[self.pos] = b;
                self.pos += 1;
            }
        }
        Ok(())
    }
}

/// The number of `ethtool -S` counters of `dev`: the driver's, then
/// [`RXQ_STATS`] per receive queue in use; for a driver with a poll,
/// [`TXQ_STATS`] per transmit queue in use and the page pools' counters
/// (veth's `rx_pp_*`, with `CONFIG_PAGE_POOL_STATS`), as veth has them.
///
/// `get_sset_count` and `get_strings`/`get_ethtool_stats` must agree on the
/// count, which depends on `real_num_rx_queues`: the core calls them in one
/// RTNL section (the ioctl and the netlink string set), and the count only
/// changes under RTNL (`ethtool -L`), as veth relies on too.
fn stats_count<T: Driver>(q: Queues) -> usize {
    T::ETHTOOL_STATS.len()
        + RXQ_STATS.len() * q.rx as usize
        + if T::HAS_POLL {
            TXQ_STATS.len() * q.tx as usize + Device::<T::Priv>::page_pool_stats_count()
        } else {
            0
        }
}

struct EthtoolAdapter<T: Driver>(PhantomData<T>);

impl<T: Driver> EthtoolAdapter<T> {
    /// # Safety
    ///
    /// `dev` must be a registered device of driver `T`, valid for `'a`.
    unsafe fn dev<'a>(dev: *mut bindings::net_device) -> &'a Device<T::Priv> {
        // SAFETY: Guaranteed by the caller.
        unsafe { Device::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ethtool_ops.get_drvinfo` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn get_drvinfo(
        _dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: `info` is valid and exclusively ours during the call.
        let info = unsafe { &mut *info };
        copy_cstr(&mut info.driver, T::KIND);
        copy_cstr(&mut info.version, T::DRIVER_VERSION);
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ethtool_ops.get_link_ksettings` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn get_link_ksettings(
        _dev: *mut bindings::net_device,
        cmd: *mut bindings::ethtool_link_ksettings,
    ) -> c_int {
        // SAFETY: `cmd` is valid and exclusively ours during the call.
        let base = unsafe { &mut (*cmd).base };
        base.speed = bindings::SPEED_10000;
        base.duplex = bindings::DUPLEX_FULL as u8;
        base.port = bindings::PORT_TP as u8;
        base.autoneg = bindings::AUTONEG_DISABLE as u8;
        0
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ethtool_ops.get_sset_count` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn get_sset_count(dev: *mut bindings::net_device, sset: c_int) -> c_int {
        if sset == bindings::ethtool_stringset_ETH_SS_STATS as c_int {
            // SAFETY: `dev` is a registered device of ours.
            stats_count::<T>(unsafe { Self::dev(dev) }.queues()) as c_int
        } else {
            EOPNOTSUPP.to_errno()
        }
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ethtool_ops.get_strings` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn get_strings(dev: *mut bindings::net_device, sset: u32, buf: *mut u8) {
        if sset != bindings::ethtool_stringset_ETH_SS_STATS {
            return;
        }
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        // One snapshot: the counts below and the split agree.
        let q = dev.queues();
        let n = stats_count::<T>(q);
        // SAFETY: The core sized `buf` from `get_sset_count` (same count,
        // see `stats_count`): one GSTRING_LEN slot per name.
        let buf = unsafe { core::slice::from_raw_parts_mut(buf, n * GSTRING_LEN) };
        let (own, queues) = buf.split_at_mut(T::ETHTOOL_STATS.len() * GSTRING_LEN);
        for (slot, name) in own.chunks_exact_mut(GSTRING_LEN).zip(T::ETHTOOL_STATS) {
            slot.fill(0);
            let b = name.to_bytes();
            let n = b.len().min(GSTRING_LEN - 1);
            slot[..n].copy_from_slice(&b[..n]);
        }
        let (rxqs, txqs) = queues.split_at_mut(RXQ_STATS.len() * q.rx as usize * GSTRING_LEN);
        for (i, slot) in rxqs.chunks_exact_mut(GSTRING_LEN).enumerate() {
            slot.fill(0);
            let (q, name) = (i / RXQ_STATS.len(), RXQ_STATS[i % RXQ_STATS.len()]);
            let mut w = Slot { buf: slot, pos: 0 };
            let _ = core::fmt::Write::write_fmt(&mut w, format_args!("rx_queue_{q}_{name}"));
        }
        let (txqs, pools) = if T::HAS_POLL {
            txqs.split_at_mut(TXQ_STATS.len() * q.tx as usize * GSTRING_LEN)
        } else {
            (txqs, &mut [][..])
        };
        for (i, slot) in txqs.chunks_exact_mut(GSTRING_LEN).enumerate() {
            slot.fill(0);
            let (q, name) = (i / TXQ_STATS.len(), TXQ_STATS[i % TXQ_STATS.len()]);
            let mut w = Slot { buf: slot, pos: 0 };
            let _ = core::fmt::Write::write_fmt(&mut w, format_args!("tx_queue_{q}_{name}"));
        }
        if !pools.is_empty() {
            pools.fill(0);
            // SAFETY: `pools` has one GSTRING_LEN slot per page-pool
            // counter (`stats_count`), which is what the helper writes.
            unsafe { bindings::rveth_page_pool_stats_strings(pools.as_mut_ptr()) };
        }
    }

    /// `veth_get_channels()`: the queues in use and allocated; no combined
    /// channels.
    ///
    /// # Safety
    ///
    /// Only called by the networking core as the `ethtool_ops.get_channels` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn get_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) {
        // SAFETY: `dev` is a registered device of ours.
        let q = unsafe { Self::dev(dev) }.queues();
        // SAFETY: `ch` is valid and exclusively ours during the call.
        let ch = unsafe { &mut *ch };
        ch.rx_count = q.rx;
        ch.tx_count = q.tx;
        ch.max_rx = q.max_rx;
        ch.max_tx = q.max_tx;
    }

    /// `veth_set_channels()`: veth's refusals that protect an XDP program
    /// (`EINVAL`: fewer receive queues than the peer's transmit queues
    /// with a program here, more transmit queues than the peer's receive
    /// queues with one there), the driver's
    /// [`Driver::check_channels`], then, while the device is up, the
    /// carrier of both ends off during the change; receive queues first,
    /// then transmit, the receive change undone if the transmit change
    /// fails ([`Device::set_queues`]). A device in NAPI mode (receive queue
    /// 0 on) keeps it: receive queues coming into use are turned on before
    /// the change, those going out of use off after it
    /// (`veth_enable_range_safe()`/`veth_disable_range_safe()`). The layer
    /// does this itself: the change sleeps (`synchronize_net()`), so driver
    /// code never calls it.
    ///
    /// Unlike veth, the carrier comes back only if both ends are up, as
    /// after `ndo_open`: veth turns both carriers on whenever this end is
    /// up, so after `ethtool -L` with the peer down this end shows
    /// LOWER_UP while the peer drops everything it is sent.
    ///
    /// # Safety
    ///
    /// Only called by the networking core as the `ethtool_ops.set_channels` callback of a
    /// device of driver `T`, under RTNL, with the arguments that callback gets (the
    /// counts checked against the maxima).
    unsafe extern "C" fn set_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) -> c_int {
        // SAFETY: Our devices are never ops-locked (see `Device`), so both
        // callers, ethnl_default_set_doit() and dev_ethtool(), hold RTNL.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `ch` is valid during the call.
        let (rx, tx) = unsafe { ((*ch).rx_count, (*ch).tx_count) };
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        kernel::error::from_result(|| {
            if rx == 0 || tx == 0 {
                // Refused by both callers in 7.3 already; veth checks too.
                return Err(EINVAL);
            }
            let peer = dev.peer_rtnl(rtnl);
            // `veth_set_channels()`: what an XDP program at either end
            // relies on (every queue the peer transmits on has a receive
            // queue here that runs this end's program, and the other way).
            if let Some(peer) = peer {
                if dev.has_xdp_prog(rtnl) && rx < peer.queues().tx {
                    return Err(EINVAL);
                }
                if peer.has_xdp_prog(rtnl) && tx > peer.queues().rx {
                    return Err(EINVAL);
                }
            }
            if T::HAS_CHECK_CHANNELS {
                T::check_channels(dev, rx, tx, rtnl)?;
            }
            let running = dev.is_up();
            let napi = running && dev.napi_mode(rtnl);
            if running {
                dev.carrier_off();
                if let Some(peer) = peer {
                    peer.carrier_off();
                }
            }
            let old_rx = dev.queues().rx;
            let res = if napi {
                dev.napi_enable_range(old_rx..rx, rtnl)
            } else {
                Ok(())
            };
            let res = res.and_then(|()| dev.set_queues(rx, tx, rtnl));
            if napi {
                // Queues no longer in use (or not taken into use after a
                // failure) leave NAPI mode.
                let q = dev.queues();
                dev.napi_disable_range(q.rx..q.max_rx, rtnl);
            }
            if running {
                if let Some(peer) = peer.filter(|p| p.is_up()) {
                    dev.carrier_on();
                    peer.carrier_on();
                }
            }
            if T::HAS_POLL {
                dev.update_xdp_features(rtnl);
                if let Some(peer) = peer {
                    peer.update_xdp_features(rtnl);
                }
            }
            res.map(|()| 0)
        })
    }

    /// `ethtool -g`: the ring of each NAPI receive queue (rveth only: veth
    /// has no ring parameters). Nothing else has a ring.
    ///
    /// # Safety
    ///
    /// Only called by the networking core as the `ethtool_ops.get_ringparam` callback of a
    /// device of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn get_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kring: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) {
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        // SAFETY: `ring` is valid and exclusively ours during the call; the
        // core zeroed it.
        let ring = unsafe { &mut *ring };
        ring.rx_max_pending = RING_SIZE_MAX;
        ring.rx_pending = dev.ring_size();
    }

    /// `ethtool -G rx N`: every NAPI receive queue's ring gets `N` entries
    /// ([`Device::set_ring_size`]); the core refused sizes above the
    /// maxima (so any other ring), `0` is refused here.
    ///
    /// # Safety
    ///
    /// Only called by the networking core as the `ethtool_ops.set_ringparam` callback of a
    /// device of driver `T`, under RTNL, with the arguments that callback gets.
    unsafe extern "C" fn set_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kring: *mut bindings::kernel_ethtool_ringparam,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: Our devices are never ops-locked (see `Device`), so both
        // callers, ethnl_set_rings() and dev_ethtool(), hold RTNL.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `ring` is valid during the call.
        let size = unsafe { (*ring).rx_pending };
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        kernel::error::from_result(|| {
            // New rings mean turning the queues off and on: the program
            // would miss what crosses meanwhile.
            if dev.has_xdp_prog(rtnl) && dev.napi_mode(rtnl) && size != dev.ring_size() {
                // SAFETY: The request's extack (or NULL), valid during the call.
                let extack = unsafe { ExtAck::from_raw(extack) };
                extack.set_msg(c"rveth: Ring size cannot change while an XDP program runs");
                return Err(EBUSY);
            }
            dev.set_ring_size(size, rtnl).map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only called by the networking core as the `ethtool_ops.get_ethtool_stats` callback of a
    /// device (or request) of driver `T`, with the arguments that callback gets.
    unsafe extern "C" fn get_ethtool_stats(
        dev: *mut bindings::net_device,
        _stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // Every caller in 7.3 runs under RTNL: ethtool_get_stats(), through
        // dev_ethtool(), and DSA's conduit wrapper, called from there.
        // SAFETY: dev_ethtool() takes RTNL for a device that is not
        // ops-locked, and ours never are (see `Device`).
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: `dev` is a registered device of ours.
        let dev = unsafe { Self::dev(dev) };
        // One snapshot: the counts below and the split agree.
        let q = dev.queues();
        let n = stats_count::<T>(q);
        // SAFETY: The core sized `data` from `get_sset_count` (same count,
        // see `stats_count`).
        let values = unsafe { core::slice::from_raw_parts_mut(data, n) };
        values.fill(0);
        let (own, queues) = values.split_at_mut(T::ETHTOOL_STATS.len());
        T::ethtool_stats(dev, own);
        let (rxqs, txqs) = queues.split_at_mut(RXQ_STATS.len() * q.rx as usize);
        for (q, v) in rxqs.chunks_exact_mut(RXQ_STATS.len()).enumerate() {
            let st = dev.rx_queue_stats(q as u32);
            v.copy_from_slice(&[
                st.packets,
                st.bytes,
                st.drops,
                st.xdp_redirect,
                st.xdp_drops,
                st.xdp_tx,
                st.xdp_tx_err,
                st.ring_full,
                st.flushed,
            ]);
        }
        if !T::HAS_POLL {
            return;
        }
        let tx = q.tx as usize;
        let (txqs, pools) = txqs.split_at_mut(TXQ_STATS.len() * tx);
        dev.add_page_pool_stats(pools, rtnl);
        if tx == 0 {
            return;
        }
        let guard = kernel::sync::rcu::read_lock();
        if let Some(peer) = dev.peer(&guard) {
            for i in 0..peer.queues().rx {
                let st = peer.rx_queue_stats(i);
                let at = (i as usize % tx) * TXQ_STATS.len();
                txqs[at] += st.xdp_xmit;
                txqs[at + 1] += st.xdp_xmit_err;
            }
        }
    }
}

/// The ethtool ops of driver `T`: driver info, link state, 10000/Full link
/// settings, software timestamping info, `ethtool -S` counters and the
/// queues (`ethtool -l/-L`).
pub(super) const fn ops<T: Driver>() -> bindings::ethtool_ops {
    bindings::ethtool_ops {
        get_drvinfo: Some(EthtoolAdapter::<T>::get_drvinfo),
        get_link: Some(bindings::ethtool_op_get_link),
        get_link_ksettings: Some(EthtoolAdapter::<T>::get_link_ksettings),
        get_ts_info: Some(bindings::ethtool_op_get_ts_info),
        get_sset_count: if T::HAS_ETHTOOL_STATS {
            Some(EthtoolAdapter::<T>::get_sset_count)
        } else {
            None
        },
        get_strings: if T::HAS_ETHTOOL_STATS {
            Some(EthtoolAdapter::<T>::get_strings)
        } else {
            None
        },
        get_ethtool_stats: if T::HAS_ETHTOOL_STATS {
            Some(EthtoolAdapter::<T>::get_ethtool_stats)
        } else {
            None
        },
        get_channels: Some(EthtoolAdapter::<T>::get_channels),
        set_channels: Some(EthtoolAdapter::<T>::set_channels),
        get_ringparam: Some(EthtoolAdapter::<T>::get_ringparam),
        set_ringparam: Some(EthtoolAdapter::<T>::set_ringparam),
        // SAFETY: All-zero is a valid `ethtool_ops` (no callbacks).
        ..unsafe { core::mem::zeroed() }
    }
}
