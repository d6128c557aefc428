// SPDX-License-Identifier: GPL-2.0
/*
 * qprof: a QEMU TCG plugin (plugin API version 1, QEMU 7.2) that counts, for
 * every translation block (TB) of the guest kernel, how often it ran. With
 * each TB's instruction bytes that gives instructions and TB exits per
 * symbol; under TCG a TB exit that is a return, an indirect jump or a call
 * to another page is not chained and costs a lookup, so their count is what
 * makes one data path slower than another with the same instruction count.
 *
 * Control: a thread polls the file named by ctl=PATH every 20 ms; when it
 * holds "SEQ OUT" with a SEQ not seen before, the plugin writes a snapshot
 * "vaddr n_insns execs insn-bytes-hex" per TB to OUT. The guest writes that
 * file through a shared directory (vng --rwdir) before and after what it
 * measures; bench/qprof/report.py diffs the snapshots.
 *
 * Counts use the plugin's inline add (not atomic: two vCPUs running the
 * same TB at once can lose an increment; the measured path runs on one).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The calls of QEMU's plugin API (include/qemu/qemu-plugin.h, version 1)
 * this plugin uses; QEMU's packages do not ship the header. */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   qemu_plugin_vcpu_tb_trans_cb_t cb);
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
					      void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One TB: start address and instruction count (a TB is retranslated with
 * the same key), how often it ran, its instruction bytes in hex. */
struct tb_rec {
	uint64_t vaddr;
	uint64_t n;
	uint64_t execs;
	char *hex;
	struct tb_rec *next;
};

#define NBUCKETS (1u << 20)
#define KERNEL_START 0xffff800000000000ull

static struct tb_rec **buckets;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *ctl_path;

static char *tb_hex(const struct qemu_plugin_tb *tb, size_t n)
{
	char buf[8192];
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const unsigned char *d = qemu_plugin_insn_data(insn);
		size_t sz = qemu_plugin_insn_size(insn);

		for (size_t j = 0; j < sz && o + 3 < sizeof(buf); j++)
			o += snprintf(buf + o, sizeof(buf) - o, "%02x", d[j]);
	}
	buf[o] = 0;
	return strdup(buf);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t va = qemu_plugin_tb_vaddr(tb), n = qemu_plugin_tb_n_insns(tb);
	size_t h = (size_t)(((va ^ (n << 48)) * 0x9E3779B97F4A7C15ull) >> 44) & (NBUCKETS - 1);
	struct tb_rec *r;

	(void)id;
	if (va < KERNEL_START)
		return;
	pthread_mutex_lock(&lock);
	for (r = buckets[h]; r; r = r->next)
		if (r->vaddr == va && r->n == n)
			break;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r) {
			pthread_mutex_unlock(&lock);
			return;
		}
		r->vaddr = va;
		r->n = n;
		r->hex = tb_hex(tb, n);
		r->next = buckets[h];
		buckets[h] = r;
	}
	pthread_mutex_unlock(&lock);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &r->execs, 1);
}

static void snapshot(const char *path)
{
	char tmp[4200];
	FILE *f;

	/* Written under another name and renamed: the guest waits for OUT. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct tb_rec *r = buckets[i]; r; r = r->next)
			if (r->execs)
				fprintf(f, "%" PRIx64 " %" PRIu64 " %" PRIu64 " %s\n", r->vaddr,
					r->n, r->execs, r->hex ? r->hex : "");
	pthread_mutex_unlock(&lock);
	fclose(f);
	rename(tmp, path);
}

static void *ctl_thread(void *arg)
{
	long last = 0, seq;
	char out[4096];

	(void)arg;
	for (;;) {
		FILE *f = fopen(ctl_path, "r");

		if (f) {
			if (fscanf(f, "%ld %4095s", &seq, out) == 2 && seq != last) {
				last = seq;
				snapshot(out);
			}
			fclose(f);
		}
		usleep(20000);
	}
	return NULL;
}

__attribute__((visibility("default"))) int
qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv)
{
	pthread_t t;

	(void)info;
	if (argc < 1 || strncmp(argv[0], "ctl=", 4))
		return 1;
	ctl_path = argv[0] + 4;
	buckets = calloc(NBUCKETS, sizeof(*buckets));
	if (!buckets)
		return 1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	return pthread_create(&t, NULL, ctl_thread, NULL);
}
