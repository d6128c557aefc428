/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers rveth generates Rust bindings for (see scripts/gen-bindings.sh).
 *
 * The kernel crate's own bindings do not cover the netdev headers, so the
 * module generates its own from the target kernel's headers; struct layouts
 * therefore always match the kernel the module is built against.
 *
 * Constants that are macros bindgen cannot evaluate are given here as
 * RVETH_CONST_<NAME>; the generator renames them to <NAME>.
 */
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/skbuff.h>
#include <linux/rtnetlink.h>
#include <net/rtnetlink.h>
#include <net/netlink.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/request_sock.h>
#include <net/tcp_states.h>
#include <uapi/linux/veth.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <net/xdp.h>
#include <net/page_pool/types.h>

#include "helpers.h"

const netdev_features_t RVETH_CONST_NETIF_F_SG = NETIF_F_SG;
const netdev_features_t RVETH_CONST_NETIF_F_FRAGLIST = NETIF_F_FRAGLIST;
const netdev_features_t RVETH_CONST_NETIF_F_HW_CSUM = NETIF_F_HW_CSUM;
const netdev_features_t RVETH_CONST_NETIF_F_RXCSUM = NETIF_F_RXCSUM;
const netdev_features_t RVETH_CONST_NETIF_F_SCTP_CRC = NETIF_F_SCTP_CRC;
const netdev_features_t RVETH_CONST_NETIF_F_HIGHDMA = NETIF_F_HIGHDMA;
const netdev_features_t RVETH_CONST_NETIF_F_GSO_SOFTWARE = NETIF_F_GSO_SOFTWARE;
const netdev_features_t RVETH_CONST_NETIF_F_GSO_ENCAP_ALL = NETIF_F_GSO_ENCAP_ALL;
const netdev_features_t RVETH_CONST_NETIF_F_HW_VLAN_CTAG_TX = NETIF_F_HW_VLAN_CTAG_TX;
const netdev_features_t RVETH_CONST_NETIF_F_HW_VLAN_CTAG_RX = NETIF_F_HW_VLAN_CTAG_RX;
const netdev_features_t RVETH_CONST_NETIF_F_HW_VLAN_STAG_TX = NETIF_F_HW_VLAN_STAG_TX;
const netdev_features_t RVETH_CONST_NETIF_F_HW_VLAN_STAG_RX = NETIF_F_HW_VLAN_STAG_RX;
const netdev_features_t RVETH_CONST_NETIF_F_GRO = NETIF_F_GRO;
const netdev_features_t RVETH_CONST_NETIF_F_ALL_TSO = NETIF_F_ALL_TSO;
const netdev_features_t RVETH_CONST_NETIF_F_GRO_FRAGLIST = NETIF_F_GRO_FRAGLIST;
const netdev_features_t RVETH_CONST_NETIF_F_GRO_UDP_FWD = NETIF_F_GRO_UDP_FWD;
const int RVETH_CONST_NLA_HDRLEN = NLA_HDRLEN;
/* veth_xdp_set(): the largest MTU a peer may have for a program without
 * frags (SKB_WITH_OVERHEAD(PAGE_SIZE - VETH_XDP_HEADROOM), before the peer's
 * hard_header_len), and what frags add (PAGE_SIZE * MAX_SKB_FRAGS). */
const unsigned int RVETH_CONST_XDP_MAX_LINEAR =
	SKB_WITH_OVERHEAD(PAGE_SIZE - (XDP_PACKET_HEADROOM + NET_IP_ALIGN));
const unsigned int RVETH_CONST_XDP_FRAGS_EXTRA = PAGE_SIZE * MAX_SKB_FRAGS;
const u32 RVETH_CONST_BPF_RI_F_RF_NO_DIRECT = BPF_RI_F_RF_NO_DIRECT;
const u32 RVETH_CONST_BPF_RI_F_RI_INIT = BPF_RI_F_RI_INIT;
