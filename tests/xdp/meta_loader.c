// SPDX-License-Identifier: GPL-2.0
/*
 * Loads XDP program OBJ (tests/xdp/progs.c built with -DPROG=xdp_meta)
 * bound to device IFNAME, so that its bpf_xdp_metadata_* kfuncs resolve
 * to that driver's xdp_metadata_ops (bpftool 7.1 cannot load device-bound
 * programs), attaches it in driver mode and prints "ready"; then, for each
 * line on stdin, prints the program's `meta` array on one line; detaches at
 * the end of stdin. Built and run by tests/test_58_xdp.py in the VM.
 *
 * usage: meta_loader OBJ IFNAME
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)
#endif

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	unsigned int ifindex, i, n;
	char line[16];
	int err, fd;

	if (argc != 3)
		return 2;
	ifindex = if_nametoindex(argv[2]);
	if (!ifindex) {
		fprintf(stderr, "no device %s\n", argv[2]);
		return 1;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, "xdp_meta");
	map = bpf_object__find_map_by_name(obj, "meta");
	if (!prog || !map) {
		fprintf(stderr, "xdp_meta or meta missing\n");
		return 1;
	}
	bpf_program__set_ifindex(prog, ifindex);
	bpf_program__set_flags(prog, BPF_F_XDP_DEV_BOUND_ONLY);
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "load: %s\n", strerror(-err));
		return 1;
	}
	fd = bpf_program__fd(prog);
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
	if (err) {
		fprintf(stderr, "attach: %s\n", strerror(-err));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	n = bpf_map__max_entries(map);
	while (fgets(line, sizeof(line), stdin)) {
		for (i = 0; i < n; i++) {
			long long v = 0;

			if (bpf_map_lookup_elem(bpf_map__fd(map), &i, &v))
				return 1;
			printf("%lld%c", v, i + 1 < n ? ' ' : '\n');
		}
		fflush(stdout);
	}
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	bpf_object__close(obj);
	return 0;
}
