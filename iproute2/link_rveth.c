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
int addattr8(struct nlmsghdr *n, int maxlen, int type, __u8 data);
/* include/json_print.h: print_string() is an inline wrapper of this. */
enum output_type { PRINT_FP = 1, PRINT_JSON = 2, PRINT_ANY = 4 };
int print_color_string(enum output_type type, int color, const char *key,
		       const char *fmt, const char *value);

/* rveth's IFLA_INFO_DATA attributes (src/pair.rs, mod info). */
enum {
	RVETH_INFO_UNSPEC,
	RVETH_INFO_PEER,	/* = VETH_INFO_PEER */
	RVETH_INFO_SCRUB,	/* u8: 0 default, 1 none */
	RVETH_INFO_CLASSID,	/* u8: 0 off, 1 mark, 2 priority */
	RVETH_INFO_PEER_SCRUB,
	RVETH_INFO_PEER_CLASSID,
	__RVETH_INFO_MAX
};
#define RVETH_INFO_MAX (__RVETH_INFO_MAX - 1)

static const char *const scrub_names[] = { "default", "none" };
static const char *const classid_names[] = { "off", "mark", "priority" };

/* Policy given on the command line; -1: not given. */
struct rveth_policy {
	int scrub;
	int classid;
};

/* The size of iproute2's request buffer for RTM_NEWLINK (struct iplink_req). */
#define RVETH_REQ_MAXLEN 1024

static int abi_ok;

static void print_usage(FILE *f)
{
	fprintf(f,
		"Usage: ip link <options> type rveth [POLICY] [peer [POLICY] <options>]\n"
		"\n"
		"POLICY := [ scrub { default | none } ] [ classid { off | mark | priority } ]\n"
		"\n"
		"Creates a pair of rveth devices (a virtual Ethernet pair, like veth).\n"
		"<options> after \"peer\" are those of 'ip link add' (name, address,\n"
		"mtu, txqueuelen, numtxqueues, numrxqueues, netns NAME|PID, group, up...)\n"
		"and apply to the peer device.\n"
		"POLICY before \"peer\" applies to both directions; inside the peer part it\n"
		"overrides it for what the peer transmits.\n"
		"  scrub default   mark and priority are cleared as veth does\n"
		"  scrub none      mark and priority are kept across namespaces\n"
		"  classid mark    the sender's net_cls classid is written into the mark\n"
		"  classid priority  ... into skb->priority\n"
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

static int lookup(const char *key, const char *val, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(val, names[i]) == 0)
			return i;
	fprintf(stderr, "Error: argument \"%s\" is wrong: \"%s\" is not one of", key, val);
	for (int i = 0; i < n; i++)
		fprintf(stderr, " %s", names[i]);
	fprintf(stderr, ".\n");
	return -1;
}

/*
 * If argv[0] is a policy keyword, store its value in *p and return how many
 * words it took (2); 0 if it is not one; -1 on a bad value.
 */
static int parse_policy_word(int argc, char **argv, struct rveth_policy *p)
{
	int v;

	if (strcmp(argv[0], "scrub") && strcmp(argv[0], "classid"))
		return 0;
	if (argc < 2) {
		fprintf(stderr, "Error: argument of \"%s\" is missing.\n", argv[0]);
		return -1;
	}
	if (strcmp(argv[0], "scrub") == 0) {
		v = lookup("scrub", argv[1], scrub_names, 2);
		p->scrub = v;
	} else {
		v = lookup("classid", argv[1], classid_names, 3);
		p->classid = v;
	}
	return v < 0 ? -1 : 2;
}

static void put_policy(struct nlmsghdr *n, const struct rveth_policy *p,
		       int scrub_type, int classid_type)
{
	if (p->scrub >= 0)
		addattr8(n, RVETH_REQ_MAXLEN, scrub_type, p->scrub);
	if (p->classid >= 0)
		addattr8(n, RVETH_REQ_MAXLEN, classid_type, p->classid);
}

static int rveth_parse_opt(struct link_util *lu __attribute__((unused)),
			   int argc, char **argv, struct nlmsghdr *n)
{
	struct rveth_policy own = { -1, -1 }, peer_pol = { -1, -1 };
	struct ifinfomsg *ifm, *peer_ifm;
	unsigned int ifi_flags, ifi_change;
	struct rtattr *peer;
	char *type = NULL;
	char **pargv;
	int ifi_index, err, used, pargc = 0;

	if (!abi_ok)
		return -1;
	while (argc > 0 && strcmp(argv[0], "peer") != 0) {
		used = parse_policy_word(argc, argv, &own);
		if (used < 0)
			return -1;
		if (used == 0) {
			fprintf(stderr, "Error: unknown rveth option \"%s\".\n", argv[0]);
			print_usage(stderr);
			return -1;
		}
		argc -= used;
		argv += used;
	}
	put_policy(n, &own, RVETH_INFO_SCRUB, RVETH_INFO_CLASSID);
	if (argc == 0)
		return 0;
	if (argc < 2) {
		fprintf(stderr, "Error: \"peer\" needs options, e.g. \"peer name rb\".\n");
		return -1;
	}

	/* Take the policy words out of the peer part; the rest is ip's. */
	pargv = calloc(argc, sizeof(*pargv));
	if (!pargv)
		return -1;
	for (int i = 1; i < argc;) {
		used = parse_policy_word(argc - i, argv + i, &peer_pol);
		if (used < 0) {
			free(pargv);
			return -1;
		}
		if (used == 0)
			pargv[pargc++] = argv[i++];
		else
			i += used;
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

	err = pargc ? iplink_parse(pargc, pargv, (struct iplink_req *)n, &type) : 0;
	free(pargv);
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
	put_policy(n, &peer_pol, RVETH_INFO_PEER_SCRUB, RVETH_INFO_PEER_CLASSID);
	return pargc - err;
}

static void print_one(struct rtattr *tb[], int type, const char *key,
		      const char *const *names, int n)
{
	unsigned int v;
	char fmt[32];

	if (!tb[type] || RTA_PAYLOAD(tb[type]) < 1)
		return;
	v = *(__u8 *)RTA_DATA(tb[type]);
	snprintf(fmt, sizeof(fmt), "%s %%s ", key);
	print_color_string(PRINT_ANY, 0, key, fmt, v < (unsigned int)n ? names[v] : "unknown");
}

static void rveth_print_opt(struct link_util *lu __attribute__((unused)),
			    FILE *f __attribute__((unused)), struct rtattr *tb[])
{
	if (!tb)
		return;
	print_one(tb, RVETH_INFO_SCRUB, "scrub", scrub_names, 2);
	print_one(tb, RVETH_INFO_CLASSID, "classid", classid_names, 3);
	print_one(tb, RVETH_INFO_PEER_SCRUB, "peer_scrub", scrub_names, 2);
	print_one(tb, RVETH_INFO_PEER_CLASSID, "peer_classid", classid_names, 3);
}

static void rveth_print_help(struct link_util *lu __attribute__((unused)),
			     int argc __attribute__((unused)),
			     char **argv __attribute__((unused)), FILE *f)
{
	print_usage(f);
}

struct link_util rveth_link_util = {
	.id = "rveth",
	.maxattr = RVETH_INFO_MAX,
	.parse_opt = rveth_parse_opt,
	.print_opt = rveth_print_opt,
	.print_help = rveth_print_help,
};
