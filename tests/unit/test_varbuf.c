/* SPDX-License-Identifier: BSD-3-Clause */
/* test_varbuf.c - unit tests for varbuf.c: TRACK_VAR records read from
 * per-CPU buffers in place and handed out in ring order. The two BPF
 * arrays are played by memfds laid out as BPF lays them out (no root, no
 * BPF): what BPF would write is written here by hand.
 *
 * Prints "PASS name" or "FAIL name: why" per case; exits 1 if one failed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "probe/varbuf.h"

#define NCPUS 2
#define SLOTS 4

#include "check.h"

/* The BPF side: slots and per-CPU heads the test writes itself. */
struct fake_bpf {
	int slots_fd, cpus_fd;
	struct ms_vslot *slot;
	struct ms_vcpu *cpu;
};

static int fake_open(struct fake_bpf *f)
{
	size_t sl = NCPUS * SLOTS * sizeof(struct ms_vslot), cl = NCPUS * sizeof(struct ms_vcpu);

	f->slots_fd = memfd_create("vslots", 0);
	f->cpus_fd = memfd_create("vcpus", 0);
	if (f->slots_fd < 0 || f->cpus_fd < 0 || ftruncate(f->slots_fd, 4096 * 4) ||
	    ftruncate(f->cpus_fd, 4096))
		return -1;
	f->slot = mmap(NULL, sl, PROT_READ | PROT_WRITE, MAP_SHARED, f->slots_fd, 0);
	f->cpu = mmap(NULL, cl, PROT_READ | PROT_WRITE, MAP_SHARED, f->cpus_fd, 0);
	return f->slot == MAP_FAILED || f->cpu == MAP_FAILED ? -1 : 0;
}

static void fake_close(struct fake_bpf *f)
{
	munmap(f->slot, NCPUS * SLOTS * sizeof(struct ms_vslot));
	munmap(f->cpu, NCPUS * sizeof(struct ms_vcpu));
	close(f->slots_fd);
	close(f->cpus_fd);
}

/* What ms_var does: fill the slot at head, then move head. Returns 0, or
 * -1 when the buffer is full (BPF would use the ring). */
static int publish(struct fake_bpf *f, int cpu, uint64_t pos, uint64_t ts, uint64_t addr)
{
	struct ms_vcpu *c = &f->cpu[cpu];
	struct ms_vslot *s;

	if (c->head - c->tail >= SLOTS)
		return -1;
	s = &f->slot[cpu * SLOTS + (c->head & (SLOTS - 1))];
	memset(s, 0, sizeof(*s));
	s->pos = pos;
	s->v.h.type = MS_EV_VAR;
	s->v.h.ts_ns = ts;
	s->v.addr = addr;
	c->head++;
	return 0;
}

/* Records come out by ring position, then time, never past the limit,
 * and only once looked at. */
static void test_order_and_limit(void)
{
	struct fake_bpf f;
	struct ms_varbuf *b = NULL;
	const struct ms_vslot *s;
	int before = failed;

	CHECK(fake_open(&f) == 0);
	b = ms_varbuf_new(f.slots_fd, f.cpus_fd, NCPUS, SLOTS);
	CHECK(b);
	publish(&f, 0, 100, 5, 1);
	publish(&f, 0, 300, 6, 2);
	publish(&f, 1, 100, 4, 3); /* same position, earlier probe */
	publish(&f, 1, 200, 7, 4);
	CHECK(ms_varbuf_next(b, ~0ull) == NULL); /* not looked at yet */
	ms_varbuf_look(b);
	s = ms_varbuf_next(b, 150);
	CHECK(s && s->v.addr == 3);
	s = ms_varbuf_next(b, 150);
	CHECK(s && s->v.addr == 1);
	CHECK(ms_varbuf_next(b, 150) == NULL); /* the rest come after ring record 150 */
	s = ms_varbuf_next(b, 300);
	CHECK(s && s->v.addr == 4);
	s = ms_varbuf_next(b, 300);
	CHECK(s && s->v.addr == 2);
	CHECK(ms_varbuf_next(b, ~0ull) == NULL);
out:
	ms_varbuf_free(b);
	fake_close(&f);
	if (failed == before)
		PASS();
}

/* Slots go back to BPF only at release: a full buffer stays full while
 * its records are being handed out, then takes new ones. */
static void test_release_frees_slots(void)
{
	struct fake_bpf f;
	struct ms_varbuf *b = NULL;
	const struct ms_vslot *s;
	int i, before = failed;

	CHECK(fake_open(&f) == 0);
	b = ms_varbuf_new(f.slots_fd, f.cpus_fd, NCPUS, SLOTS);
	CHECK(b);
	for (i = 0; i < SLOTS; i++)
		CHECK(publish(&f, 1, 10 + i, i, 100 + i) == 0);
	CHECK(publish(&f, 1, 20, 9, 999) == -1); /* full */
	ms_varbuf_look(b);
	for (i = 0; i < SLOTS; i++) {
		s = ms_varbuf_next(b, ~0ull);
		CHECK(s && s->v.addr == (uint64_t)(100 + i));
	}
	CHECK(publish(&f, 1, 20, 9, 999) == -1); /* handed out, not yet released */
	ms_varbuf_release(b);
	CHECK(f.cpu[1].tail == SLOTS && f.cpu[0].tail == 0);
	CHECK(publish(&f, 1, 20, 9, 500) == 0); /* wraps to the first slot */
	ms_varbuf_look(b);
	s = ms_varbuf_next(b, ~0ull);
	CHECK(s && s->v.addr == 500);
out:
	ms_varbuf_free(b);
	fake_close(&f);
	if (failed == before)
		PASS();
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_order_and_limit();
	test_release_frees_slots();
	return failed ? 1 : 0;
}
