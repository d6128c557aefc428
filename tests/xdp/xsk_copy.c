// SPDX-License-Identifier: GPL-2.0
/*
 * An AF_XDP socket in copy mode (XDP_COPY) on receive queue 0 of IFNAME,
 * fed by program xdp_redirect_xsk of OBJ (tests/xdp/progs.c) through its
 * `xsks` map. Prints "ready" once the program is attached and the socket
 * is in the map; then counts the frames the socket receives until COUNT
 * arrived or TIMEOUT seconds passed, and prints "<frames> <intact>":
 * intact frames carry a UDP payload of LEN bytes, byte i = (i * 7 + 3) &
 * 0xff. Detaches the program at the end. Built and run by
 * tests/test_58_xdp.py in the VM.
 *
 * Raw AF_XDP (linux/if_xdp.h): Debian's libbpf no longer has xsk.h and
 * libxdp's headers are not installed.
 *
 * usage: xsk_copy OBJ IFNAME COUNT LEN TIMEOUT
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define NFRAMES 64
#define FRAME 2048
#define NDESC 64 /* ring entries: a power of two, NFRAMES of them filled */

struct ring {
	__u32 *prod, *cons;
	void *desc;
};

static int map_ring(int fd, const struct xdp_ring_offset *o, size_t elem, off_t pgoff,
		    struct ring *r)
{
	char *p = mmap(NULL, o->desc + NDESC * elem, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, pgoff);

	if (p == MAP_FAILED)
		return -1;
	r->prod = (__u32 *)(p + o->producer);
	r->cons = (__u32 *)(p + o->consumer);
	r->desc = p + o->desc;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Ethernet, IPv4 without options, UDP, then the payload pattern. */
static int intact(const unsigned char *f, __u32 len, unsigned int plen)
{
	unsigned int i;

	if (len != 14 + 20 + 8 + plen || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17)
		return 0;
	for (i = 0; i < plen; i++)
		if (f[42 + i] != ((i * 7 + 3) & 0xff))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	struct xdp_mmap_offsets off;
	socklen_t olen = sizeof(off);
	struct ring fill, comp, rx;
	struct xdp_umem_reg mr;
	struct sockaddr_xdp sa;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	unsigned int ifindex, count, plen, frames = 0, good = 0, i;
	int fd, n = NDESC, key = 0, err;
	double end;
	char *umem;

	if (argc != 6)
		return 2;
	ifindex = if_nametoindex(argv[2]);
	count = atoi(argv[3]);
	plen = atoi(argv[4]);
	if (!ifindex) {
		fprintf(stderr, "no device %s\n", argv[2]);
		return 1;
	}
	umem = mmap(NULL, NFRAMES * FRAME, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	fd = socket(AF_XDP, SOCK_RAW, 0);
	if (umem == MAP_FAILED || fd < 0) {
		fprintf(stderr, "umem/socket: %s\n", strerror(errno));
		return 1;
	}
	memset(&mr, 0, sizeof(mr));
	mr.addr = (unsigned long)umem;
	mr.len = NFRAMES * FRAME;
	mr.chunk_size = FRAME;
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &n, sizeof(n)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &n, sizeof(n)) ||
	    setsockopt(fd, SOL_XDP, XDP_RX_RING, &n, sizeof(n)) ||
	    getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &olen)) {
		fprintf(stderr, "setsockopt: %s\n", strerror(errno));
		return 1;
	}
	if (map_ring(fd, &off.fr, sizeof(__u64), XDP_UMEM_PGOFF_FILL_RING, &fill) ||
	    map_ring(fd, &off.cr, sizeof(__u64), XDP_UMEM_PGOFF_COMPLETION_RING, &comp) ||
	    map_ring(fd, &off.rx, sizeof(struct xdp_desc), XDP_PGOFF_RX_RING, &rx)) {
		fprintf(stderr, "mmap rings: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < NFRAMES; i++)
		((__u64 *)fill.desc)[i] = (__u64)i * FRAME;
	__atomic_store_n(fill.prod, NFRAMES, __ATOMIC_RELEASE);
	memset(&sa, 0, sizeof(sa));
	sa.sxdp_family = AF_XDP;
	sa.sxdp_ifindex = ifindex;
	sa.sxdp_queue_id = 0;
	sa.sxdp_flags = XDP_COPY;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "bind: %s\n", strerror(errno));
		return 1;
	}

	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, "xdp_redirect_xsk");
	map = bpf_object__find_map_by_name(obj, "xsks");
	if (!prog || !map) {
		fprintf(stderr, "xdp_redirect_xsk or xsks missing\n");
		return 1;
	}
	err = bpf_object__load(obj);
	if (!err)
		err = bpf_xdp_attach(ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, NULL);
	if (!err)
		err = bpf_map_update_elem(bpf_map__fd(map), &key, &fd, 0);
	if (err) {
		fprintf(stderr, "load/attach/map: %s\n", strerror(-err));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	end = now() + atof(argv[5]);
	while (frames < count && now() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		__u32 cons, prod, fprod;

		poll(&pfd, 1, 100);
		cons = *rx.cons;
		prod = __atomic_load_n(rx.prod, __ATOMIC_ACQUIRE);
		fprod = *fill.prod;
		for (; cons != prod; cons++) {
			const struct xdp_desc *d = (struct xdp_desc *)rx.desc + (cons & (NDESC - 1));

			frames++;
			good += intact((unsigned char *)umem + d->addr, d->len, plen);
			/* The frame goes back to the fill ring (its chunk). */
			((__u64 *)fill.desc)[fprod++ & (NDESC - 1)] = d->addr & ~(__u64)(FRAME - 1);
		}
		__atomic_store_n(rx.cons, cons, __ATOMIC_RELEASE);
		__atomic_store_n(fill.prod, fprod, __ATOMIC_RELEASE);
	}
	printf("%u %u\n", frames, good);
	fflush(stdout);
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	bpf_object__close(obj);
	close(fd);
	return 0;
}
