// SPDX-License-Identifier: GPL-2.0
/*
 * The only C in rveth: out-of-line wrappers for static inline functions and
 * macros of the netdev headers, which Rust cannot call. Each one is a single
 * call or expression, except where a packet would otherwise cross into C
 * several times in a row for inline steps veth makes in one place (each is
 * marked, and says which steps); all logic stays in Rust. Fields that are
 * plain struct members are read in Rust through the generated bindings
 * instead, and exported functions behind an inline one (kfree_skb() ->
 * sk_skb_reason_drop()) are called from Rust directly.
 *
 * Why the per-packet count matters: under QEMU's TCG (this project's test
 * and bench machine) an out-of-line call costs about 27 ns (measured: 20
 * more per packet slowed XDP_DROP by 0.54 us a packet), and every call
 * into these wrappers or into rust/helpers (the kernel crate's atomics and
 * barriers, inlined only with CONFIG_RUST_INLINE_HELPERS) is one veth's
 * inline code does not make (docs/performance.md).
 *
 * On the default transmit path a delivered packet makes veth's two calls,
 * __dev_forward_skb() and __netif_rx(), both from Rust; the tstats update
 * after them is Rust too (src/net/percpu.rs finds this CPU's copy with the
 * one %gs load that this_cpu_ptr() is on x86-64 SMP kernels, and calls
 * rveth_this_cpu_ptr() elsewhere).
 */
#include <linux/cpumask.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/percpu.h>
#include <linux/ptr_ring.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/skbuff_ref.h>
#include <net/netdev_lock.h>
#include <net/sch_generic.h>
#include <net/rtnetlink.h>
#include <net/sock.h>
#include <net/netlink.h>
#include <net/xdp.h>
#include <net/page_pool/types.h>
#include <net/page_pool/helpers.h>
#include <linux/bpf_trace.h>
#include <linux/filter.h>

#include "helpers.h"

/*
 * rcu_dereference()/rtnl_dereference()/rcu_assign_pointer() are macros; going
 * through them keeps sparse annotations and lockdep's RCU checking
 * (CONFIG_PROVE_RCU) on the peer pointer outside the transmit path.
 */
struct net_device *rveth_peer_deref_rcu(struct net_device __rcu *const *slot)
{
	return rcu_dereference(*slot);
}

struct net_device *rveth_peer_deref_rtnl(struct net_device __rcu *const *slot)
{
	return rtnl_dereference(*slot);
}

void rveth_peer_assign(struct net_device __rcu **slot, struct net_device *dev)
{
	rcu_assign_pointer(*slot, dev);
}

/* xchg() with unrcu_pointer(), as veth_dellink() does. */
struct net_device *rveth_peer_take(struct net_device __rcu **slot)
{
	return unrcu_pointer(xchg(slot, NULL));
}

/* netdev_hold()/netdev_put() are inline (refcount + reference tracker). */
void rveth_netdev_hold(struct net_device *dev, netdevice_tracker *tracker)
{
	netdev_hold(dev, tracker, GFP_KERNEL);
}

void rveth_netdev_put(struct net_device *dev, netdevice_tracker *tracker)
{
	netdev_put(dev, tracker);
}

/* Inline or exported depending on CONFIG_DEBUG_NET_SMALL_RTNL. */
void rveth_unregister_netdevice_queue_net(struct net *net, struct net_device *dev,
					  struct list_head *head)
{
	unregister_netdevice_queue_net(net, dev, head);
}

/* unregister_netdevice() is inline (unregister_netdevice_queue(dev, NULL)). */
void rveth_unregister_netdevice(struct net_device *dev)
{
	unregister_netdevice(dev);
}

/*
 * A macro with static lock class keys (one set per call site, i.e. for all
 * devices of this module), as veth_dev_init() uses it.
 */
void rveth_netdev_lockdep_set_classes(struct net_device *dev)
{
	netdev_lockdep_set_classes(dev);
}

/* priv_flags, lltx and pcpu_stat_type are bitfields inside struct groups. */
void rveth_dev_set_priv_flags(struct net_device *dev, unsigned long set,
			      unsigned long clear)
{
	dev->priv_flags = (dev->priv_flags & ~clear) | set;
}

void rveth_dev_set_lltx(struct net_device *dev)
{
	dev->lltx = true;
}

void rveth_dev_set_pcpu_tstats(struct net_device *dev)
{
	dev->pcpu_stat_type = NETDEV_PCPU_STAT_TSTATS;
}

void rveth_eth_hw_addr_random(struct net_device *dev)
{
	eth_hw_addr_random(dev);
}

/* The slow path of pskb_may_pull() (the fast path is decided in Rust). */
bool rveth_pskb_may_pull(struct sk_buff *skb, unsigned int len)
{
	return pskb_may_pull(skb, len);
}

/*
 * alloc_percpu_gfp() is a macro (allocation profiling hooks). Atomic and
 * quiet, as netdev_core_stats_alloc(): src/net/percpu.rs allocates a
 * device's counters on their first add, on the data path.
 */
void __percpu *rveth_alloc_percpu_atomic(size_t size, size_t align)
{
	return __alloc_percpu_gfp(size, align, GFP_ATOMIC | __GFP_NOWARN);
}

/*
 * this_cpu_ptr()/per_cpu_ptr() are macros over the arch's per-CPU offset.
 * src/net/percpu.rs computes this_cpu_ptr() inline on x86-64 SMP kernels
 * (one %gs load) and calls rveth_this_cpu_ptr() elsewhere.
 */
void *rveth_this_cpu_ptr(void __percpu *ptr)
{
	return this_cpu_ptr(ptr);
}

void *rveth_per_cpu_ptr(void __percpu *ptr, unsigned int cpu)
{
	return per_cpu_ptr(ptr, cpu);
}

/* for_each_possible_cpu() is a macro over cpumask_next(), which is inline. */
unsigned int rveth_next_possible_cpu(int cpu)
{
	return cpumask_next(cpu, cpu_possible_mask);
}

/*
 * NAPI receive queues (src/net/napi.rs). The ptr_ring API is all inline;
 * src/net/ring.rs writes the producer and consumer operations in Rust,
 * these two (allocation and freeing) are the kernel's own.
 */
int rveth_ring_init(struct ptr_ring *r, int size)
{
	return ptr_ring_init(r, size, GFP_KERNEL);
}

/*
 * The ring holds skbs and tagged xdp_frame pointers; Rust drains it (and
 * frees each entry the right way) before this frees the array.
 */
void rveth_ring_cleanup(struct ptr_ring *r)
{
	ptr_ring_cleanup(r, NULL);
}

/*
 * Add + enable and disable + delete, each in one section of the instance
 * lock (netdev_lock: inline). Done as two sections (netif_napi_add() then
 * napi_enable()), a `threaded` sysfs write in between, which takes only
 * that lock, could find the instance listed but not enabled and wait for
 * it to stop (napi_stop_kthread) while we wait for its lock under RTNL.
 */
void rveth_napi_add_enable(struct net_device *dev, struct napi_struct *napi,
			   int (*poll)(struct napi_struct *, int))
{
	netdev_lock(dev);
	netif_napi_add_locked(dev, napi, poll);
	napi_enable_locked(napi);
	netdev_unlock(dev);
}

void rveth_napi_disable_del(struct napi_struct *napi)
{
	struct net_device *dev = napi->dev;

	netdev_lock(dev);
	napi_disable_locked(napi);
	__netif_napi_del_locked(napi);
	netdev_unlock(dev);
}

/*
 * veth_xdp_rcv()'s hand-off of an skb to the stack, in one call because
 * every step is inline and it runs for each packet: orphan it unless a
 * local socket's (skb_prepare_for_gro(), which veth_xdp_rcv_skb() does
 * first; it is idempotent, an skb that ran XDP had it already), then GRO
 * (napi_gro_receive()) unless it is shared or its clone cannot be made
 * private, which go to netif_receive_skb().
 */
void rveth_napi_receive_skb(struct napi_struct *napi, struct sk_buff *skb)
{
	skb_prepare_for_gro(skb);
	if (skb_shared(skb) || skb_unclone(skb, GFP_ATOMIC))
		netif_receive_skb(skb);
	else
		napi_gro_receive(napi, skb);
}

/* Undoes eth_type_trans()'s pull with the checksum (skb_push_rcsum inline). */
void rveth_skb_push_rcsum(struct sk_buff *skb, unsigned int len)
{
	skb_push_rcsum(skb, len);
}

/*
 * The transmit-queue helpers of the backpressure protocol are inline. The
 * two every poll needs (netdev_get_tx_queue(), netif_tx_queue_stopped())
 * are done in Rust over the bindings' fields (the test_bit() is an atomic
 * read: one call into rust/helpers unless the kernel inlines those).
 */
void rveth_netif_tx_stop_queue(struct netdev_queue *txq)
{
	netif_tx_stop_queue(txq);
}

void rveth_txq_trans_cond_update(struct netdev_queue *txq)
{
	txq_trans_cond_update(txq);
}

bool rveth_qdisc_txq_has_no_queue(struct netdev_queue *txq)
{
	return qdisc_txq_has_no_queue(txq);
}

/*
 * XDP (include/net/xdp.h, include/linux/filter.h, include/linux/skbuff.h):
 * the program run (bpf_prog_run_xdp() dispatches through a static call;
 * it runs inside rveth_xdp_run_skb() and rveth_xdp_run_frame()), the
 * exception tracepoint, the rxq registration and the buff/frame
 * conversions are inline, and so are the skb accessors the XDP_PASS path
 * needs (their layout depends on NET_SKBUFF_DATA_USES_OFFSET).
 */
/*
 * veth_create_page_pool(): page_pool_params is made of struct_group_tagged()
 * unions, which a designated initializer fills in one line.
 */
struct page_pool *rveth_page_pool_create(struct net_device *dev, unsigned int size)
{
	struct page_pool_params pp_params = {
		.order = 0,
		.pool_size = size,
		.nid = NUMA_NO_NODE,
		.dev = &dev->dev,
	};

	return page_pool_create(&pp_params);
}

/*
 * The page pools' ethtool counters (veth_get_strings(),
 * veth_get_sset_count(), veth_get_page_pool_stats()). Without
 * CONFIG_PAGE_POOL_STATS the three page_pool_ethtool_stats_*() functions
 * are static inline stubs and struct page_pool_stats does not exist, so
 * Rust reaches them through here in both configurations (the module is
 * also built against distribution kernels by DKMS).
 */
int rveth_page_pool_stats_count(void)
{
	return page_pool_ethtool_stats_get_count();
}

void rveth_page_pool_stats_strings(u8 *data)
{
	page_pool_ethtool_stats_get_strings(data);
}

/*
 * Adds `pool`'s counters to data[0..rveth_page_pool_stats_count()), in the
 * order of the strings. page_pool_get_stats() adds a pool's counters to a
 * struct page_pool_stats; veth sums its pools in one and writes it once,
 * rveth writes each pool's into a copy and adds: the same sums.
 */
void rveth_page_pool_stats_add(u64 *data, const struct page_pool *pool)
{
#ifdef CONFIG_PAGE_POOL_STATS
	struct page_pool_stats stats = {};
	u64 v[sizeof(stats) / sizeof(u64)];
	int i, n = page_pool_ethtool_stats_get_count();

	/* page_pool_ethtool_stats_get() writes one u64 per counter of the struct. */
	if (WARN_ON_ONCE(n > ARRAY_SIZE(v)))
		return;
	page_pool_get_stats(pool, &stats);
	page_pool_ethtool_stats_get(v, &stats);
	for (i = 0; i < n; i++)
		data[i] += v[i];
#endif
}

void rveth_trace_xdp_exception(const struct net_device *dev,
			       const struct bpf_prog *prog, u32 act)
{
	trace_xdp_exception(dev, prog, act);
}

void rveth_trace_xdp_bulk_tx(const struct net_device *dev, int sent, int drops, int err)
{
	trace_xdp_bulk_tx(dev, sent, drops, err);
}

int rveth_xdp_rxq_info_reg(struct xdp_rxq_info *rxq, struct net_device *dev,
			   u32 index, unsigned int napi_id)
{
	return xdp_rxq_info_reg(rxq, dev, index, napi_id);
}

/*
 * veth_xdp_rcv_skb() up to the verdict, for each packet, in one call: every
 * step is inline in C but the copy, and under emulation an out-of-line
 * call and its return together cost about as much as 20 instructions
 * (docs/performance.md, "Where the time goes: TB exits"). Orphan the skb unless a local socket's
 * (skb_prepare_for_gro()), give the program the frame from its Ethernet
 * header (eth_type_trans() pulled it), copy the head into a page_pool page
 * when it cannot be handed to XDP as is (veth_convert_skb_to_xdp_buff(),
 * skb_pp_cow_data()), set the buffer up over the head (xdp_init_buff(),
 * xdp_prepare_buff(); the skb_shared_info tailroom is always there) and run
 * the program (bpf_prog_run_xdp()). *pskb is the skb the buffer is over
 * (the copy replaces it). Returns 0 with the verdict in *act, or the copy's
 * error (*pskb then is the original skb, untouched). The rxq's memory type
 * is the buffer's (below).
 */
int rveth_xdp_run_skb(struct sk_buff **pskb, struct page_pool *pool,
		      struct xdp_buff *xdp, struct xdp_rxq_info *rxq,
		      const struct bpf_prog *prog, u32 *act)
{
	struct sk_buff *skb = *pskb;
	bool copied = false;
	u32 frame_sz;
	int err;

	skb_prepare_for_gro(skb);
	__skb_push(skb, skb->data - skb_mac_header(skb));
	if (skb_shared(skb) || skb_head_is_locked(skb) || skb_is_nonlinear(skb) ||
	    skb_headroom(skb) < XDP_PACKET_HEADROOM) {
		err = skb_pp_cow_data(pool, pskb, XDP_PACKET_HEADROOM);
		if (err)
			return err;
		skb = *pskb;
		copied = true;
	}
	frame_sz = skb_end_pointer(skb) - skb->head +
		   SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	xdp_init_buff(xdp, frame_sz, rxq);
	xdp_prepare_buff(xdp, skb->head, skb_headroom(skb), skb_headlen(skb), true);
	if (skb_shinfo(skb)->nr_frags) {
		skb_shinfo(skb)->xdp_frags_size = skb->data_len;
		xdp_buff_set_frags_flag(xdp);
	} else {
		xdp_buff_clear_frags_flag(xdp);
	}
	/*
	 * Beyond veth: the rxq's memory type is that of this buffer's
	 * memory, which a program that frees a fragment returns it with
	 * (bpf_xdp_adjust_tail() shrinking, bpf_xdp_pull_data()). A copy is
	 * made of pages of `pool`, fragments included; an skb that is not
	 * copied is linear, over a head_frag head (a page fragment, or a page
	 * of another pool: nothing a program can free). veth leaves the type
	 * at MEM_TYPE_PAGE_SHARED (or the last frame's): page_frag_free() on
	 * a page-pool page, which breaks the pool's count (a WARN in
	 * page_pool_alloc_frag_netmem()) and keeps its pages from ever
	 * coming back (test_58, multi-buffer tail shrink). The poll puts the
	 * queue's own type back before XDP_TX/REDIRECT; a frame sets its own
	 * (rveth_xdp_run_frame()).
	 */
	rxq->mem.type = copied ? MEM_TYPE_PAGE_POOL : MEM_TYPE_PAGE_SHARED;
	*act = bpf_prog_run_xdp(prog, xdp);
	return 0;
}

unsigned int rveth_skb_xdp_frags_size(const struct sk_buff *skb)
{
	return skb_shinfo(skb)->xdp_frags_size;
}

/*
 * The XDP metadata kfuncs' driver side (xdp.rs, METADATA_OPS) reads what
 * skb_hwtstamps(), skb_get_hash() with the l4_hash bit, and
 * __vlan_hwaccel_get_tag() with vlan_proto give: inline functions over
 * skb_shinfo() and bitfields.
 */
u64 rveth_skb_hwtstamp(const struct sk_buff *skb)
{
	return skb_hwtstamps((struct sk_buff *)skb)->hwtstamp;
}

u32 rveth_skb_get_hash(struct sk_buff *skb, bool *l4)
{
	u32 hash = skb_get_hash(skb);

	*l4 = skb->l4_hash;
	return hash;
}

int rveth_skb_vlan_tag(const struct sk_buff *skb, __be16 *proto, u16 *tci)
{
	int err = __vlan_hwaccel_get_tag(skb, tci);

	if (err)
		return err;
	*proto = skb->vlan_proto;
	return 0;
}

/*
 * veth_xdp_rcv_one() up to the verdict, in one call (see
 * rveth_xdp_run_skb() for why calls count): the buffer over the frame and
 * the program run. veth sets the frame's memory type in the rxq for XDP_TX
 * and redirects, after the program ran; rveth sets it before, as
 * cpu_map_bpf_prog_run_xdp() does, so that a fragment the program frees is
 * returned as the frame's memory too (rveth_xdp_run_skb()).
 */
u32 rveth_xdp_run_frame(const struct bpf_prog *prog, const struct xdp_frame *frame,
			struct xdp_buff *xdp, struct xdp_rxq_info *rxq)
{
	xdp_convert_frame_to_buff(frame, xdp);
	rxq->mem.type = frame->mem_type;
	xdp->rxq = rxq;
	return bpf_prog_run_xdp(prog, xdp);
}

int rveth_xdp_update_frame_from_buff(const struct xdp_buff *xdp,
				     struct xdp_frame *frame)
{
	return xdp_update_frame_from_buff(xdp, frame);
}

struct xdp_frame *rveth_xdp_convert_buff_to_frame(struct xdp_buff *xdp)
{
	return xdp_convert_buff_to_frame(xdp);
}

unsigned int rveth_xdp_get_frame_len(const struct xdp_frame *frame)
{
	return xdp_get_frame_len(frame);
}

/*
 * veth_xdp_get(): a reference on the head page and on every fragment,
 * taken before the skb that held them is freed (get_page(), virt_to_page()
 * and __skb_frag_ref() are inline).
 */
void rveth_xdp_get(struct xdp_buff *xdp)
{
	struct skb_shared_info *sinfo = xdp_get_shared_info_from_buff(xdp);
	int i;

	get_page(virt_to_page(xdp->data));
	if (likely(!xdp_buff_has_frags(xdp)))
		return;
	for (i = 0; i < sinfo->nr_frags; i++)
		__skb_frag_ref(&sinfo->frags[i]);
}

void rveth_skb_push(struct sk_buff *skb, unsigned int len)
{
	__skb_push(skb, len);
}

void rveth_skb_pull(struct sk_buff *skb, unsigned int len)
{
	__skb_pull(skb, len);
}

void rveth_skb_set_tail_pointer(struct sk_buff *skb, int offset)
{
	skb_set_tail_pointer(skb, offset);
}

void rveth_skb_metadata_set(struct sk_buff *skb, u8 meta_len)
{
	skb_metadata_set(skb, meta_len);
}

/*
 * The offsets of the fields Rust reads or writes directly, as the C
 * compiler laid the structs out. src/net/layout.rs compares them with the
 * generated bindings when the module loads and refuses to load on any
 * difference: a bindgen/compiler disagreement must not become a read of the
 * wrong field. The order is LAYOUT_FIELDS in layout.rs.
 */
const unsigned long rveth_layout[RVETH_LAYOUT_N] = {
	offsetof(struct sk_buff, len),
	offsetof(struct sk_buff, data_len),
	offsetof(struct sk_buff, head),
	offsetof(struct sk_buff, end),
	offsetof(struct sk_buff, sk),
	offsetof(struct sk_buff, dev),
	offsetof(struct sk_buff, mark),
	offsetof(struct sk_buff, priority),
	offsetof(struct sk_buff, protocol),
	offsetof(struct skb_shared_info, tx_flags),
	offsetof(struct sock_common, skc_state),
	offsetof(struct sock_common, skc_listener),
	offsetof(struct sock_cgroup_data, classid),
	offsetof(struct net_device, ifindex),
	offsetof(struct net_device, flags),
	offsetof(struct net_device, num_tx_queues),
	offsetof(struct net_device, real_num_tx_queues),
	offsetof(struct net_device, num_rx_queues),
	offsetof(struct net_device, real_num_rx_queues),
	offsetof(struct net_device, reg_state),
	offsetof(struct net_device, nd_net),
	offsetof(struct net_device, priv),
	offsetof(struct net_device, features),
	offsetof(struct net_device, hw_features),
	offsetof(struct net_device, wanted_features),
	offsetof(struct net_device, vlan_features),
	offsetof(struct net_device, hw_enc_features),
	offsetof(struct net_device, mpls_features),
	offsetof(struct net_device, max_mtu),
	offsetof(struct net_device, netdev_ops),
	offsetof(struct net_device, ethtool_ops),
	offsetof(struct net_device, rtnl_link_ops),
	offsetof(struct net_device, priv_destructor),
	offsetof(struct sk_buff, queue_mapping),
	offsetof(struct sk_buff, destructor),
	sizeof(struct napi_struct),
	__alignof__(struct napi_struct),
	sizeof(struct ptr_ring),
	__alignof__(struct ptr_ring),
	sizeof(struct sk_buff),
	sizeof(struct net_device),
	sizeof(struct net_device_ops),
	sizeof(struct ethtool_ops),
	sizeof(struct rtnl_link_ops),
	sizeof(struct rtnl_newlink_params),
	sizeof(struct nla_policy),
	sizeof(struct rtnl_link_stats64),
	sizeof(struct ifinfomsg),
	sizeof(struct ethtool_channels),
	offsetof(struct net_device, state),
	offsetof(struct net_device, mtu),
	offsetof(struct net_device, hard_header_len),
	offsetof(struct xdp_buff, data),
	offsetof(struct xdp_buff, data_end),
	offsetof(struct xdp_buff, data_meta),
	offsetof(struct xdp_rxq_info, mem),
	offsetof(struct bpf_prog, aux),
	offsetof(struct bpf_prog_aux, xdp_has_frags),
	offsetof(struct netdev_bpf, command),
	offsetof(struct netdev_bpf, prog),
	offsetof(struct netdev_bpf, extack),
	sizeof(struct xdp_buff),
	__alignof__(struct xdp_buff),
	sizeof(struct xdp_rxq_info),
	__alignof__(struct xdp_rxq_info),
	sizeof(struct xdp_mem_info),
	__alignof__(struct xdp_mem_info),
	sizeof(struct xdp_frame),
	__alignof__(struct xdp_frame),
	offsetof(struct net_device, xdp_metadata_ops),
	offsetof(struct net_device, _tx),
	sizeof(struct netdev_queue),
	offsetof(struct netdev_queue, state),
	offsetof(struct xdp_frame, len),
	offsetof(struct xdp_frame, flags),
	offsetof(struct bpf_redirect_info, kern_flags),
	offsetof(struct xdp_buff, flags),
	offsetof(struct net_device, tstats),
	offsetof(struct pcpu_sw_netstats, tx_packets),
	offsetof(struct pcpu_sw_netstats, tx_bytes),
	sizeof(u64_stats_t),
	offsetof(struct ptr_ring, producer),
	offsetof(struct ptr_ring, producer_lock),
	offsetof(struct ptr_ring, consumer_head),
	offsetof(struct ptr_ring, consumer_tail),
	offsetof(struct ptr_ring, size),
	offsetof(struct ptr_ring, batch),
	offsetof(struct ptr_ring, queue),
	offsetof(struct bpf_net_context, ri),
	offsetof(struct bpf_redirect_info, nh),
	/* Not a layout: whether the kernel has tracepoints, which the Rust
	 * side knows as cfg(CONFIG_TRACEPOINTS) (consume_skb() and the
	 * tracepoint calls depend on it), so a build without the kernel's
	 * Rust cfgs fails to load instead of silently losing trace events. */
	IS_ENABLED(CONFIG_TRACEPOINTS),
};

/*
 * Where a full socket's net_cls classid is, as the compiler laid out struct
 * sock: Rust reads it at this offset instead of through the bindings'
 * struct sock, which bindgen lays out 64 bytes smaller than clang-22 on the
 * debug kernel (sk_cgrp_data at 1096 vs 1160; measured by layout.rs).
 */
#ifdef CONFIG_CGROUP_NET_CLASSID
const unsigned long rveth_sock_classid_offset =
	offsetof(struct sock, sk_cgrp_data) + offsetof(struct sock_cgroup_data, classid);
#endif

/*
 * Where the task's BPF net context pointer is, as the compiler laid out
 * struct task_struct: the bindings' task_struct is 48 bytes off by then on
 * the default kernel (bpf_net_context at 2264 vs 2312; measured with a
 * layout.rs entry, which then refused to load the module), so the NAPI
 * poll reads it at this offset (napi.rs, redirect_info()).
 */
const unsigned long rveth_task_bpf_net_context_offset =
	offsetof(struct task_struct, bpf_net_context);

/* nla_put_u8(), nla_len() and nla_data() are inline. */
int rveth_nla_put_u8(struct sk_buff *skb, int type, u8 value)
{
	return nla_put_u8(skb, type, value);
}

int rveth_nla_len(const struct nlattr *nla)
{
	return nla_len(nla);
}

void *rveth_nla_data(const struct nlattr *nla)
{
	return nla_data(nla);
}
