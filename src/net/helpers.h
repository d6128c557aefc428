/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prototypes of src/net/helpers.c, also fed to bindgen so that Rust calls
 * them through generated, checked signatures.
 */
#ifndef RVETH_HELPERS_H
#define RVETH_HELPERS_H

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/netlink.h>
#include <linux/ptr_ring.h>
#include <linux/filter.h>
#include <net/xdp.h>
#include <net/page_pool/types.h>

struct net_device *rveth_peer_deref_rcu(struct net_device __rcu *const *slot);
struct net_device *rveth_peer_deref_rtnl(struct net_device __rcu *const *slot);
void rveth_peer_assign(struct net_device __rcu **slot, struct net_device *dev);
struct net_device *rveth_peer_take(struct net_device __rcu **slot);

void rveth_netdev_hold(struct net_device *dev, netdevice_tracker *tracker);
void rveth_netdev_put(struct net_device *dev, netdevice_tracker *tracker);
void rveth_unregister_netdevice_queue_net(struct net *net, struct net_device *dev,
					  struct list_head *head);
void rveth_unregister_netdevice(struct net_device *dev);

void rveth_netdev_lockdep_set_classes(struct net_device *dev);
void rveth_dev_set_priv_flags(struct net_device *dev, unsigned long set,
			      unsigned long clear);
void rveth_dev_set_lltx(struct net_device *dev);
void rveth_dev_set_pcpu_tstats(struct net_device *dev);
void rveth_eth_hw_addr_random(struct net_device *dev);

bool rveth_pskb_may_pull(struct sk_buff *skb, unsigned int len);

void __percpu *rveth_alloc_percpu_atomic(size_t size, size_t align);
void *rveth_this_cpu_ptr(void __percpu *ptr);
void *rveth_per_cpu_ptr(void __percpu *ptr, unsigned int cpu);
unsigned int rveth_next_possible_cpu(int cpu);

#define RVETH_LAYOUT_N 91
extern const unsigned long rveth_layout[RVETH_LAYOUT_N];
extern const unsigned long rveth_sock_classid_offset;
extern const unsigned long rveth_task_bpf_net_context_offset;

int rveth_ring_init(struct ptr_ring *r, int size);
void rveth_ring_cleanup(struct ptr_ring *r);
void rveth_napi_add_enable(struct net_device *dev, struct napi_struct *napi,
			   int (*poll)(struct napi_struct *, int));
void rveth_napi_disable_del(struct napi_struct *napi);
void rveth_napi_receive_skb(struct napi_struct *napi, struct sk_buff *skb);
void rveth_skb_push_rcsum(struct sk_buff *skb, unsigned int len);
void rveth_netif_tx_stop_queue(struct netdev_queue *txq);
void rveth_txq_trans_cond_update(struct netdev_queue *txq);
bool rveth_qdisc_txq_has_no_queue(struct netdev_queue *txq);

struct page_pool *rveth_page_pool_create(struct net_device *dev, unsigned int size);
int rveth_page_pool_stats_count(void);
void rveth_page_pool_stats_strings(u8 *data);
void rveth_page_pool_stats_add(u64 *data, const struct page_pool *pool);
u32 rveth_xdp_run_frame(const struct bpf_prog *prog, const struct xdp_frame *frame,
			struct xdp_buff *xdp, struct xdp_rxq_info *rxq);
void rveth_trace_xdp_exception(const struct net_device *dev,
			       const struct bpf_prog *prog, u32 act);
void rveth_trace_xdp_bulk_tx(const struct net_device *dev, int sent, int drops, int err);
int rveth_xdp_rxq_info_reg(struct xdp_rxq_info *rxq, struct net_device *dev,
			   u32 index, unsigned int napi_id);
int rveth_xdp_run_skb(struct sk_buff **pskb, struct page_pool *pool,
		      struct xdp_buff *xdp, struct xdp_rxq_info *rxq,
		      const struct bpf_prog *prog, u32 *act);
int rveth_xdp_update_frame_from_buff(const struct xdp_buff *xdp,
				     struct xdp_frame *frame);
struct xdp_frame *rveth_xdp_convert_buff_to_frame(struct xdp_buff *xdp);
unsigned int rveth_xdp_get_frame_len(const struct xdp_frame *frame);
void rveth_xdp_get(struct xdp_buff *xdp);
void rveth_skb_push(struct sk_buff *skb, unsigned int len);
void rveth_skb_pull(struct sk_buff *skb, unsigned int len);
void rveth_skb_set_tail_pointer(struct sk_buff *skb, int offset);
void rveth_skb_metadata_set(struct sk_buff *skb, u8 meta_len);
unsigned int rveth_skb_xdp_frags_size(const struct sk_buff *skb);
u64 rveth_skb_hwtstamp(const struct sk_buff *skb);
u32 rveth_skb_get_hash(struct sk_buff *skb, bool *l4);
int rveth_skb_vlan_tag(const struct sk_buff *skb, __be16 *proto, u16 *tci);

int rveth_nla_put_u8(struct sk_buff *skb, int type, u8 value);
int rveth_nla_len(const struct nlattr *nla);
void *rveth_nla_data(const struct nlattr *nla);

#endif /* RVETH_HELPERS_H */
