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
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

#define P_xdp_pass 1
#define P_xdp_drop 2
#define P_xdp_aborted 3
#define P_xdp_tx 4
#define P_xdp_adjust 5
#define P_xdp_trim 6
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

#if WANT(xdp_tx)
SEC("xdp")
int xdp_tx(struct xdp_md *ctx)
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
