// SPDX-License-Identifier: GPL-2.0

//! A load-time check that the generated bindings lay out the structs whose
//! fields Rust reads or writes directly exactly as the C compiler did.
//!
//! The bindings are generated with the kernel's own bindgen command line,
//! but by a libclang that is not the compiler that built the kernel; a
//! disagreement (a different libclang, a config the two read differently)
//! would turn a field access into a read of another field. `helpers.c`
//! records `offsetof()`/`sizeof()` as the compiler computed them;
//! [`check`] compares them with the bindings' and the module refuses to
//! load on any difference.
//!
//! Measured: on the debug kernel (clang-22, KASAN, lockdep) the bindings'
//! `struct sock` is 64 bytes smaller than the compiler's (`sk_cgrp_data`
//! at 1096 instead of 1160), so the classid is read at the compiler's
//! offset (`rveth_sock_classid_offset`), and `struct sock` is not used
//! through the bindings at all. Likewise `struct task_struct` on the
//! default kernel: the bindings put `bpf_net_context` at 2264, the compiler
//! at 2312, so it is read at the compiler's offset
//! (`rveth_task_bpf_net_context_offset`).

use core::mem::{align_of, offset_of, size_of};

use kernel::prelude::*;

use super::bindings::{self as b, RVETH_LAYOUT_N};

/// The offsets and sizes Rust relies on, in the order of `rveth_layout`
/// in helpers.c, with their C names.
const LAYOUT_FIELDS: [(&str, usize); RVETH_LAYOUT_N as usize] = [
    ("sk_buff.len", offset_of!(b::sk_buff, len)),
    ("sk_buff.data_len", offset_of!(b::sk_buff, data_len)),
    ("sk_buff.head", offset_of!(b::sk_buff, head)),
    ("sk_buff.end", offset_of!(b::sk_buff, end)),
    ("sk_buff.sk", offset_of!(b::sk_buff, sk)),
    (
        "sk_buff.dev",
        offset_of!(b::sk_buff, __bindgen_anon_1)
            + offset_of!(b::sk_buff__bindgen_ty_1__bindgen_ty_1, __bindgen_anon_1)
            + offset_of!(b::sk_buff__bindgen_ty_1__bindgen_ty_1__bindgen_ty_1, dev),
    ),
    (
        "sk_buff.mark",
        offset_of!(b::sk_buff, __bindgen_anon_4)
            + offset_of!(b::sk_buff__bindgen_ty_4__bindgen_ty_1, __bindgen_anon_4)
            + offset_of!(b::sk_buff__bindgen_ty_4__bindgen_ty_1__bindgen_ty_4, mark),
    ),
    (
        "sk_buff.priority",
        offset_of!(b::sk_buff, __bindgen_anon_4)
            + offset_of!(b::sk_buff__bindgen_ty_4__bindgen_ty_1, priority),
    ),
    (
        "sk_buff.protocol",
        offset_of!(b::sk_buff, __bindgen_anon_4)
            + offset_of!(b::sk_buff__bindgen_ty_4__bindgen_ty_1, protocol),
    ),
    (
        "skb_shared_info.tx_flags",
        offset_of!(b::skb_shared_info, tx_flags),
    ),
    (
        "sock_common.skc_state",
        offset_of!(b::sock_common, skc_state),
    ),
    (
        "sock_common.skc_listener",
        offset_of!(b::sock_common, __bindgen_anon_5)
            + offset_of!(b::sock_common__bindgen_ty_5, skc_listener),
    ),
    (
        "sock_cgroup_data.classid",
        offset_of!(b::sock_cgroup_data, classid),
    ),
    ("net_device.ifindex", offset_of!(b::net_device, ifindex)),
    ("net_device.flags", offset_of!(b::net_device, flags)),
    (
        "net_device.num_tx_queues",
        offset_of!(b::net_device, num_tx_queues),
    ),
    (
        "net_device.real_num_tx_queues",
        offset_of!(b::net_device, real_num_tx_queues),
    ),
    (
        "net_device.num_rx_queues",
        offset_of!(b::net_device, num_rx_queues),
    ),
    (
        "net_device.real_num_rx_queues",
        offset_of!(b::net_device, real_num_rx_queues),
    ),
    ("net_device.reg_state", offset_of!(b::net_device, reg_state)),
    ("net_device.nd_net", offset_of!(b::net_device, nd_net)),
    ("net_device.priv", offset_of!(b::net_device, priv_)),
    ("net_device.features", offset_of!(b::net_device, features)),
    (
        "net_device.hw_features",
        offset_of!(b::net_device, hw_features),
    ),
    (
        "net_device.wanted_features",
        offset_of!(b::net_device, wanted_features),
    ),
    (
        "net_device.vlan_features",
        offset_of!(b::net_device, vlan_features),
    ),
    (
        "net_device.hw_enc_features",
        offset_of!(b::net_device, hw_enc_features),
    ),
    (
        "net_device.mpls_features",
        offset_of!(b::net_device, mpls_features),
    ),
    ("net_device.max_mtu", offset_of!(b::net_device, max_mtu)),
    (
        "net_device.netdev_ops",
        offset_of!(b::net_device, netdev_ops),
    ),
    (
        "net_device.ethtool_ops",
        offset_of!(b::net_device, ethtool_ops),
    ),
    (
        "net_device.rtnl_link_ops",
        offset_of!(b::net_device, rtnl_link_ops),
    ),
    (
        "net_device.priv_destructor",
        offset_of!(b::net_device, priv_destructor),
    ),
    (
        "sk_buff.queue_mapping",
        offset_of!(b::sk_buff, queue_mapping),
    ),
    (
        "sk_buff.destructor",
        offset_of!(b::sk_buff, __bindgen_anon_3)
            + offset_of!(b::sk_buff__bindgen_ty_3__bindgen_ty_1, destructor),
    ),
    ("sizeof(napi_struct)", size_of::<b::napi_struct>()),
    ("alignof(napi_struct)", align_of::<b::napi_struct>()),
    ("sizeof(ptr_ring)", size_of::<b::ptr_ring>()),
    ("alignof(ptr_ring)", align_of::<b::ptr_ring>()),
    ("sizeof(sk_buff)", size_of::<b::sk_buff>()),
    ("sizeof(net_device)", size_of::<b::net_device>()),
    ("sizeof(net_device_ops)", size_of::<b::net_device_ops>()),
    ("sizeof(ethtool_ops)", size_of::<b::ethtool_ops>()),
    ("sizeof(rtnl_link_ops)", size_of::<b::rtnl_link_ops>()),
    (
        "sizeof(rtnl_newlink_params)",
        size_of::<b::rtnl_newlink_params>(),
    ),
    ("sizeof(nla_policy)", size_of::<b::nla_policy>()),
    (
        "sizeof(rtnl_link_stats64)",
        size_of::<b::rtnl_link_stats64>(),
    ),
    ("sizeof(ifinfomsg)", size_of::<b::ifinfomsg>()),
    ("sizeof(ethtool_channels)", size_of::<b::ethtool_channels>()),
    ("net_device.state", offset_of!(b::net_device, state)),
    ("net_device.mtu", offset_of!(b::net_device, mtu)),
    (
        "net_device.hard_header_len",
        offset_of!(b::net_device, hard_header_len),
    ),
    ("xdp_buff.data", offset_of!(b::xdp_buff, data)),
    ("xdp_buff.data_end", offset_of!(b::xdp_buff, data_end)),
    ("xdp_buff.data_meta", offset_of!(b::xdp_buff, data_meta)),
    ("xdp_rxq_info.mem", offset_of!(b::xdp_rxq_info, mem)),
    ("bpf_prog.aux", offset_of!(b::bpf_prog, aux)),
    (
        "bpf_prog_aux.xdp_has_frags",
        offset_of!(b::bpf_prog_aux, xdp_has_frags),
    ),
    ("netdev_bpf.command", offset_of!(b::netdev_bpf, command)),
    (
        "netdev_bpf.prog",
        offset_of!(b::netdev_bpf, __bindgen_anon_1)
            + offset_of!(b::netdev_bpf__bindgen_ty_1__bindgen_ty_1, prog),
    ),
    (
        "netdev_bpf.extack",
        offset_of!(b::netdev_bpf, __bindgen_anon_1)
            + offset_of!(b::netdev_bpf__bindgen_ty_1__bindgen_ty_1, extack),
    ),
    ("sizeof(xdp_buff)", size_of::<b::xdp_buff>()),
    ("alignof(xdp_buff)", align_of::<b::xdp_buff>()),
    ("sizeof(xdp_rxq_info)", size_of::<b::xdp_rxq_info>()),
    ("alignof(xdp_rxq_info)", align_of::<b::xdp_rxq_info>()),
    ("sizeof(xdp_mem_info)", size_of::<b::xdp_mem_info>()),
    ("alignof(xdp_mem_info)", align_of::<b::xdp_mem_info>()),
    ("sizeof(xdp_frame)", size_of::<b::xdp_frame>()),
    ("alignof(xdp_frame)", align_of::<b::xdp_frame>()),
    (
        "net_device.xdp_metadata_ops",
        offset_of!(b::net_device, xdp_metadata_ops),
    ),
    ("net_device._tx", offset_of!(b::net_device, _tx)),
    ("sizeof(netdev_queue)", size_of::<b::netdev_queue>()),
    ("netdev_queue.state", offset_of!(b::netdev_queue, state)),
    ("xdp_frame.len", offset_of!(b::xdp_frame, len)),
    ("xdp_frame.flags", offset_of!(b::xdp_frame, flags)),
    (
        "bpf_redirect_info.kern_flags",
        offset_of!(b::bpf_redirect_info, kern_flags),
    ),
    (
        "xdp_buff.flags",
        offset_of!(b::xdp_buff, __bindgen_anon_1)
            + offset_of!(b::xdp_buff__bindgen_ty_1__bindgen_ty_1, flags),
    ),
    (
        "net_device.tstats",
        offset_of!(b::net_device, __bindgen_anon_2)
            + offset_of!(b::net_device__bindgen_ty_2, tstats),
    ),
    (
        "pcpu_sw_netstats.tx_packets",
        offset_of!(b::pcpu_sw_netstats, tx_packets),
    ),
    (
        "pcpu_sw_netstats.tx_bytes",
        offset_of!(b::pcpu_sw_netstats, tx_bytes),
    ),
    ("sizeof(u64_stats_t)", size_of::<b::u64_stats_t>()),
    ("ptr_ring.producer", offset_of!(b::ptr_ring, producer)),
    (
        "ptr_ring.producer_lock",
        offset_of!(b::ptr_ring, producer_lock),
    ),
    (
        "ptr_ring.consumer_head",
        offset_of!(b::ptr_ring, consumer_head),
    ),
    (
        "ptr_ring.consumer_tail",
        offset_of!(b::ptr_ring, consumer_tail),
    ),
    ("ptr_ring.size", offset_of!(b::ptr_ring, size)),
    ("ptr_ring.batch", offset_of!(b::ptr_ring, batch)),
    ("ptr_ring.queue", offset_of!(b::ptr_ring, queue)),
    ("bpf_net_context.ri", offset_of!(b::bpf_net_context, ri)),
    ("bpf_redirect_info.nh", offset_of!(b::bpf_redirect_info, nh)),
    // Not a layout: the C side's IS_ENABLED(CONFIG_TRACEPOINTS).
    ("CONFIG_TRACEPOINTS", cfg!(CONFIG_TRACEPOINTS) as usize),
];

/// Compares the bindings' layout with the compiler's; `ENOEXEC` (and a
/// message naming each difference) if they differ.
pub(super) fn check() -> Result {
    let mut ok = true;
    for (i, (name, rust)) in LAYOUT_FIELDS.iter().enumerate() {
        // SAFETY: `rveth_layout` is a constant array of `RVETH_LAYOUT_N`
        // entries defined in helpers.c.
        let c = unsafe { b::rveth_layout[i] };
        if c != *rust {
            pr_err!(
                "layout of {} differs: bindings {}, compiler {}\n",
                name,
                rust,
                c
            );
            ok = false;
        }
    }
    if ok {
        Ok(())
    } else {
        pr_err!("the generated bindings do not match the kernel; not loading\n");
        Err(ENOEXEC)
    }
}
