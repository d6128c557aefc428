// SPDX-License-Identifier: GPL-2.0
/*
 * XDP test programs, built at test time with clang's BPF target
 * (tests/test_58_xdp.py), one object per program: -DPROG=<name> puts that
 * one in section "xdp" (what `ip link set ... xdp obj F` loads) and leaves
 * the others out. xdp_tx swaps the Ethernet addresses so that the frame
 * sent back is addressed to the sender.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

#define P_xdp_pass 1
#define P_xdp_drop 2
#define P_xdp_aborted 3
#define P_xdp_tx 4
#define P_xdp_adjust 5
#define P_xdp_trim 6
#define P_xdp_redirect_devmap 7
#define P_xdp_redirect_cpumap 8
#define P_xdp_meta 9
#define P_xdp_pass_frags 10
#define P_xdp_redirect_xsk 11
#define P_xdp_head_grow 12
#define P_xdp_frags_shrink 13
#define P_xdp_frags_cut1 14
#define P_xdp_tx_frags 15
#define CAT(a, b) a##b
#define ID(p) CAT(P_, p)
#define WANT(p) (ID(PROG) == P_##p)

#if WANT(xdp_pass)
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
#endif

#if WANT(xdp_drop)
SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}
#endif

#if WANT(xdp_aborted)
SEC("xdp")
int xdp_aborted(struct xdp_md *ctx)
{
	return XDP_ABORTED;
}
#endif

/* xdp_tx_frags: the same in a multi-buffer program (section xdp.frags). */
#if WANT(xdp_tx) || WANT(xdp_tx_frags)
#if WANT(xdp_tx)
SEC("xdp")
#else
SEC("xdp.frags")
#endif
int PROG(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}
#endif

/* Moves the packet start by 14 bytes and back: data must survive. */
#if WANT(xdp_adjust)
SEC("xdp")
int xdp_adjust(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_head(ctx, -14))
		return XDP_ABORTED;
	if (bpf_xdp_adjust_head(ctx, 14))
		return XDP_ABORTED;
	return XDP_PASS;
}
#endif

/*
 * Cuts 4 bytes off the end: the IP header's length no longer fits, so the
 * receiver's IP layer drops the packet as truncated (IpExtInTruncatedPkts),
 * which it can only do if the program ran and XDP_PASS carried the new
 * tail into the skb.
 */
#if WANT(xdp_trim)
SEC("xdp")
int xdp_trim(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_tail(ctx, -4))
		return XDP_ABORTED;
	return XDP_PASS;
}
#endif

/*
 * Grows the packet at the front by 14 bytes and writes the Ethernet header
 * there; the old header's first byte (now where the IP header is read) is
 * set to 0. The receiver's IP layer then finds IP version 0 and counts the
 * packet in IpInHdrErrors, which it can only do if XDP_PASS carried the
 * new start into the skb (with the old start, the frame's destination MAC
 * starts with 0: not the receiver's, dropped before IP's header check).
 */
#if WANT(xdp_head_grow)
SEC("xdp")
int xdp_head_grow(struct xdp_md *ctx)
{
	struct ethhdr *eth, *old;
	void *end;

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct ethhdr)))
		return XDP_ABORTED;
	eth = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	old = (void *)(eth + 1);
	if ((void *)(old + 1) > end)
		return XDP_ABORTED;
	__builtin_memcpy(eth, old, sizeof(*eth));
	old->h_dest[0] = 0;
	return XDP_PASS;
}
#endif

/*
 * Redirects everything through a device map (slot 0, set by the test with
 * bpftool to the target device's ifindex) or a CPU map (slot 0: CPU 0,
 * whose kthread turns the frames into skbs of the receiving device).
 */
#if WANT(xdp_redirect_devmap)
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

SEC("xdp")
int xdp_redirect_devmap(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_port, 0, 0);
}
#endif

#if WANT(xdp_redirect_cpumap)
struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpu_map SEC(".maps");

SEC("xdp")
int xdp_redirect_cpumap(struct xdp_md *ctx)
{
	return bpf_redirect_map(&cpu_map, 0, 0);
}
#endif

/*
 * Records what the XDP metadata kfuncs return for each packet (the last
 * one's values stay) and passes it: meta[0..2] rx_hash's return, hash and
 * RSS type; meta[3..4] rx_timestamp's return and timestamp; meta[5..7]
 * rx_vlan_tag's return, protocol (network order) and TCI; meta[8] the
 * number of packets. Only IPv4 UDP datagrams to port 7000 are recorded. Loaded bound to the device by tests/xdp/meta_loader.c.
 */
#if WANT(xdp_meta)
enum xdp_rss_hash_type { XDP_RSS_TYPE_NONE = 0 };

extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym;
extern int bpf_xdp_metadata_rx_hash(const struct xdp_md *ctx, __u32 *hash,
				    enum xdp_rss_hash_type *rss_type) __ksym;
extern int bpf_xdp_metadata_rx_vlan_tag(const struct xdp_md *ctx, __be16 *vlan_proto,
					__u16 *vlan_tci) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 9);
	__type(key, __u32);
	__type(value, __s64);
} meta SEC(".maps");

static void put(__u32 k, __s64 v)
{
	__s64 *p = bpf_map_lookup_elem(&meta, &k);

	if (p)
		*p = v;
}

SEC("xdp")
int xdp_meta(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	enum xdp_rss_hash_type type = XDP_RSS_TYPE_NONE;
	__u64 ts = 0;
	__u32 hash = 0, k = 8;
	__be16 proto = 0;
	__u16 tci = 0;
	__s64 *n;

	/* Only the test's datagrams (IPv4 without options, UDP to 7000;
	 * a VLAN tag is offloaded, not in the data). */
	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->ihl != 5 || ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(7000))
		return XDP_PASS;
	put(0, bpf_xdp_metadata_rx_hash(ctx, &hash, &type));
	put(1, hash);
	put(2, type);
	put(3, bpf_xdp_metadata_rx_timestamp(ctx, &ts));
	put(4, ts);
	put(5, bpf_xdp_metadata_rx_vlan_tag(ctx, &proto, &tci));
	put(6, proto);
	put(7, tci);
	n = bpf_map_lookup_elem(&meta, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	return XDP_PASS;
}
#endif

/*
 * A multi-buffer program (section xdp.frags): passes everything and counts
 * in frags[0] the packets that came in more than one buffer.
 */
#if WANT(xdp_pass_frags)
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} frags SEC(".maps");

SEC("xdp.frags")
int xdp_pass_frags(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *n;

	if (bpf_xdp_get_buff_len(ctx) > ctx->data_end - ctx->data) {
		n = bpf_map_lookup_elem(&frags, &k);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	return XDP_PASS;
}
#endif

/*
 * Multi-buffer programs that cut the tail of every frame that came in more
 * than one buffer (bpf_xdp_frags_shrink_tail()); single-buffer frames pass
 * untouched. xdp_frags_cut1 cuts 1 byte, which frees no fragment (the last
 * one holds at least 2 bytes: test_58). xdp_frags_shrink cuts the whole
 * fragment part (all fragments freed, the frame left in one buffer) or,
 * when bit 3 of the frame's length is set, half of it rounded up (the last
 * fragments freed or shortened). shrink[0] counts the frames cut,
 * shrink[1] the bytes cut, shrink[2] the frames left in one buffer and
 * shrink[3] the bytes left.
 */
#if WANT(xdp_frags_shrink) || WANT(xdp_frags_cut1)
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} shrink SEC(".maps");

static __always_inline void shrink_add(__u32 k, __u64 v)
{
	__u64 *n = bpf_map_lookup_elem(&shrink, &k);

	if (n)
		__sync_fetch_and_add(n, v);
}

SEC("xdp.frags")
int PROG(struct xdp_md *ctx)
{
	__u32 head = ctx->data_end - ctx->data;
	__u32 len = bpf_xdp_get_buff_len(ctx);
	__u32 cut, left;

	if (len <= head)
		return XDP_PASS;
	cut = len - head;
	if (WANT(xdp_frags_cut1))
		cut = 1;
	else if (len & 8)
		cut = (cut + 1) / 2;
	if (bpf_xdp_adjust_tail(ctx, -(int)cut))
		return XDP_ABORTED;
	left = bpf_xdp_get_buff_len(ctx);
	shrink_add(0, 1);
	shrink_add(1, cut);
	if (left == (__u32)(ctx->data_end - ctx->data))
		shrink_add(2, 1);
	shrink_add(3, left);
	return XDP_PASS;
}
#endif

/*
 * IPv4 UDP datagrams to port 9997 go to the AF_XDP socket of the receive
 * queue they arrived on (slot rx_queue_index of `xsks`, set by
 * tests/xdp/xsk_copy.c); everything else, and everything arriving while no
 * socket is there, passes.
 */
#if WANT(xdp_redirect_xsk)
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

SEC("xdp")
int xdp_redirect_xsk(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->ihl != 5 || ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(9997))
		return XDP_PASS;
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}
#endif
