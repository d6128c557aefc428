// SPDX-License-Identifier: GPL-2.0
/*
 * The only C in rveth: out-of-line wrappers for static inline functions and
 * macros of the netdev headers, which Rust cannot call. Each one is a single
 * call or expression; all logic stays in Rust.
 */
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <net/cls_cgroup.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "helpers.h"

/* netdev_priv() is inline: the private area follows the aligned net_device. */
void *rveth_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

/* dev_net() is inline (read_pnet). */
struct net *rveth_dev_net(const struct net_device *dev)
{
	return dev_net(dev);
}

/*
 * rcu_dereference()/rtnl_dereference()/rcu_assign_pointer() are macros; going
 * through them keeps sparse annotations and lockdep's RCU checking
 * (CONFIG_PROVE_RCU) on the peer pointer.
 */
struct net_device *rveth_peer_deref_rcu(struct net_device __rcu *const *slot)
{
	return rcu_dereference(*slot);
}

/* The transmit path runs with BH disabled: rcu_dereference_bh() checks that. */
struct net_device *rveth_peer_deref_bh(struct net_device __rcu *const *slot)
{
	return rcu_dereference_bh(*slot);
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

void rveth_unregister_netdevice(struct net_device *dev)
{
	unregister_netdevice(dev);
}

/* Per-CPU u64_stats update, inline. */
void rveth_dev_tstats_tx_add(struct net_device *dev, unsigned int len)
{
	dev_sw_netstats_tx_add(dev, 1, len);
}

/* dev->tstats sits in an anonymous union: no stable name on the Rust side. */
void rveth_dev_fetch_tstats(const struct net_device *dev,
			    struct rtnl_link_stats64 *stats)
{
	dev_fetch_sw_netstats(stats, dev->tstats);
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

void rveth_skb_tx_timestamp(struct sk_buff *skb)
{
	skb_tx_timestamp(skb);
}

bool rveth_pskb_may_pull(struct sk_buff *skb, unsigned int len)
{
	return pskb_may_pull(skb, len);
}

void rveth_kfree_skb(struct sk_buff *skb)
{
	kfree_skb(skb);
}

/*
 * skb->mark and skb->priority sit in anonymous unions/struct groups of
 * struct sk_buff; the net_cls classid is read from the sending socket with
 * the inline skb_to_full_sk()/sock_cgroup_classid().
 */
void rveth_skb_get_meta(const struct sk_buff *skb, struct rveth_skb_meta *meta)
{
	const struct sock *sk = skb_to_full_sk(skb);

	meta->mark = skb->mark;
	meta->priority = skb->priority;
	meta->classid = sk ? sock_cgroup_classid(&sk->sk_cgrp_data) : 0;
}

void rveth_skb_set_meta(struct sk_buff *skb, u32 mark, u32 priority)
{
	skb->mark = mark;
	skb->priority = priority;
}

/* nla_put_u8() is inline. */
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
