// SPDX-License-Identifier: GPL-2.0
/*
 * link_rveth.so: iproute2 link plugin for kind "rveth".
 *
 *   ip link add name ra type rveth peer name rb netns t1
 *
 * `ip` looks for $IP_LIB_DIR/link_<kind>.so (Debian: /usr/lib/x86_64-linux-gnu/ip)
 * and the symbol <kind>_link_util in it, and resolves the plugin's references
 * to its own exported functions (iplink_parse, addattr_nest, ...). This is
 * user-space glue for iproute2's plugin ABI, hence C; the driver is Rust.
 *
 * Built for iproute2 5.11 .. 6.x, whose `struct link_util` and
 * `iplink_parse(argc, argv, req, &type)` are declared below. Because
 * iproute2 installs no headers for its plugin ABI, the plugin checks at
 * load time that the layout matches the running `ip` by looking at ip's own
 * veth_link_util, and refuses to work (loudly) when it does not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/veth.h>

/* iproute2's plugin interface (ip/ip_common.h, include/libnetlink.h). */
struct link_util {
	struct link_util *next;
	const char *id;
	int maxattr;
	int (*parse_opt)(struct link_util *, int, char **, struct nlmsghdr *);
	void (*print_opt)(struct link_util *, FILE *, struct rtattr *[]);
	void (*print_xstats)(struct link_util *, FILE *, struct rtattr *);
	void (*print_help)(struct link_util *, int, char **, FILE *);
	int (*parse_ifla_xstats)(struct link_util *, int, char **);
	int (*print_ifla_xstats)(struct nlmsghdr *, void *);
};

struct iplink_req;
extern struct link_util veth_link_util;
int iplink_parse(int argc, char **argv, struct iplink_req *req, char **type);
struct rtattr *addattr_nest(struct nlmsghdr *n, int maxlen, int type);
int addattr_nest_end(struct nlmsghdr *n, struct rtattr *nest);

/* The size of iproute2's request buffer for RTM_NEWLINK (struct iplink_req). */
#define RVETH_REQ_MAXLEN 1024

static int abi_ok;

static void print_usage(FILE *f)
{
	fprintf(f,
		"Usage: ip link <options> type rveth [peer <options>]\n"
		"\n"
		"Creates a pair of rveth devices (a virtual Ethernet pair, like veth).\n"
		"<options> after \"peer\" are those of 'ip link add' (name, address,\n"
		"mtu, txqueuelen, numtxqueues, numrxqueues, netns NAME|PID, group, up...)\n"
		"and apply to the peer device.\n"
		"To get <options> type 'ip link add help'.\n");
}

/* Check that our idea of struct link_util matches this `ip`. */
static void __attribute__((constructor)) rveth_check_abi(void)
{
	abi_ok = veth_link_util.id && strcmp(veth_link_util.id, "veth") == 0 &&
		 veth_link_util.parse_opt && veth_link_util.print_help &&
		 veth_link_util.maxattr == 0;
	if (!abi_ok)
		fprintf(stderr,
			"link_rveth.so: this iproute2's plugin ABI differs from the one the plugin was built for (iproute2 5.11..6.x); rebuild it against your iproute2.\n");
}

static int rveth_parse_opt(struct link_util *lu __attribute__((unused)),
			   int argc, char **argv, struct nlmsghdr *n)
{
	struct ifinfomsg *ifm, *peer_ifm;
	unsigned int ifi_flags, ifi_change;
	struct rtattr *peer;
	char *type = NULL;
	int ifi_index, err;

	if (!abi_ok)
		return -1;
	if (strcmp(argv[0], "peer") != 0) {
		fprintf(stderr, "Error: unknown rveth option \"%s\".\n", argv[0]);
		print_usage(stderr);
		return -1;
	}
	if (argc < 2) {
		fprintf(stderr, "Error: \"peer\" needs options, e.g. \"peer name rb\".\n");
		return -1;
	}

	/*
	 * iplink_parse() fills the ifinfomsg at the head of the request and
	 * appends IFLA_* attributes: point it at a fresh ifinfomsg inside the
	 * peer attribute, saving and restoring the device's own flags (as
	 * ip/link_veth.c does).
	 */
	ifm = NLMSG_DATA(n);
	ifi_flags = ifm->ifi_flags;
	ifi_change = ifm->ifi_change;
	ifi_index = ifm->ifi_index;
	ifm->ifi_flags = 0;
	ifm->ifi_change = 0;
	ifm->ifi_index = 0;

	/* `ip` has opened the IFLA_INFO_DATA nest already. */
	peer = addattr_nest(n, RVETH_REQ_MAXLEN, VETH_INFO_PEER);
	n->nlmsg_len += sizeof(struct ifinfomsg);

	err = iplink_parse(argc - 1, argv + 1, (struct iplink_req *)n, &type);
	if (err < 0)
		return err;
	if (type) {
		fprintf(stderr, "Error: \"type\" is not allowed in the peer options.\n");
		return -1;
	}

	peer_ifm = RTA_DATA(peer);
	peer_ifm->ifi_index = ifm->ifi_index;
	peer_ifm->ifi_flags = ifm->ifi_flags;
	peer_ifm->ifi_change = ifm->ifi_change;
	ifm->ifi_flags = ifi_flags;
	ifm->ifi_change = ifi_change;
	ifm->ifi_index = ifi_index;

	addattr_nest_end(n, peer);
	return argc - 1 - err;
}

static void rveth_print_help(struct link_util *lu __attribute__((unused)),
			     int argc __attribute__((unused)),
			     char **argv __attribute__((unused)), FILE *f)
{
	print_usage(f);
}

struct link_util rveth_link_util = {
	.id = "rveth",
	.parse_opt = rveth_parse_opt,
	.print_help = rveth_print_help,
};
