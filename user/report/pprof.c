/* SPDX-License-Identifier: BSD-3-Clause */
/* pprof.c - the heap profile as profile.proto (see pprof.h).
 *
 * The message is built with protobuf-c from the schema pprof itself ships
 * (generated at build time), then packed and gzip'ed with zlib: no
 * hand-written wire format. Strings, functions, locations and mappings are
 * deduplicated through hash maps while samples are added; the protobuf
 * structs live in growable arrays, and the pointer arrays protobuf-c wants
 * are set only once every array has stopped moving. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "report/pprof.h"
#include "report/profile.pb-c.h"
#include "util/json.h"
#include "util/vec.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;

enum { V_ALLOC_OBJECTS, V_ALLOC_SPACE, V_INUSE_OBJECTS, V_INUSE_SPACE, V_MAX };

/* The labels a live block's sample carries, in this order; a value not
 * known for a block (no task, no scope, no variable, no leak class) is
 * left out. */
enum { L_PID, L_THREAD, L_TASK, L_SCOPE, L_VARIABLE, L_REACH, L_MAX };
static const char *const label_keys[L_MAX] = {
	[L_PID] = "pid", [L_THREAD] = "thread", [L_TASK] = "task",
	[L_SCOPE] = "scope", [L_VARIABLE] = "variable", [L_REACH] = "reachability",
};

/* A sample's place in the shared arrays (their addresses move while they
 * grow, so samples hold offsets until the end). */
struct sample_ref {
	size_t loc, nloc;   /* into loc_ids */
	size_t val;         /* into vals (V_MAX each) */
	size_t lab, nlab;   /* into labels */
};

struct loc_ref {
	Location loc;
	size_t line, nline; /* into lines */
};

/* Live blocks sorted into groups that become one sample each. */
struct block_key {
	uint32_t pid;
	int32_t stack_id;
	uint32_t lab[L_MAX]; /* string table indices, 0 = not known */
	const struct ms_block *b;
};

/* Per allocation site: its location ids once built, and what its live
 * groups took of its totals. */
struct site_acc {
	size_t loc, nloc;
	int built;
	int64_t used[V_MAX];
};

struct pp {
	const struct ms_report_ctx *c;
	int sampled;
	struct ms_strtab text;      /* dedup of string table entries */
	struct ms_hashmap str_idx;  /* strtab offset -> string table index */
	char **strs;
	size_t nstr, capstr;
	struct ms_hashmap fn_idx;   /* (name, file) -> function id */
	Function *fns;
	size_t nfn, capfn;
	struct ms_hashmap loc_idx;  /* (pid, address) -> location index */
	struct loc_ref *locs;
	size_t nloc, caploc;
	Line *lines;
	size_t nline, capline;
	struct ms_hashmap map_idx;  /* (pid, map_start) -> mapping index */
	Mapping *maps;
	size_t nmap, capmap;
	uint64_t *loc_ids;
	size_t nloc_ids, caploc_ids;
	int64_t *vals;
	size_t nvals, capvals;
	Label *labels;
	size_t nlabels, caplabels;
	struct sample_ref *samples;
	size_t nsamples, capsamples;
	struct ms_hashmap task_idx; /* (pid, task id) -> index into tasks */
	struct ms_hashmap site_idx; /* (pid, stack id) -> index into sites */
	struct site_acc *acc;
	int oom;
};

/* Room for `more` elements past n in *v (util/vec.h); notes running out. */
static int grow(struct pp *p, void **v, size_t n, size_t *cap, size_t elem, size_t more)
{
	if (ms_vec_reserve(v, cap, elem, n + more)) {
		p->oom = 1;
		return -1;
	}
	return 0;
}

#define GROW(p, arr, n, cap, more) grow(p, (void **)&(arr), n, &(cap), sizeof(*(arr)), more)

/* Index of s in the string table (0 is ""). Readers built on protobuf's
 * own runtimes reject a proto3 string that is not UTF-8, so bytes that are
 * not become '?' (such a name is cut at 1 KiB). */
static int64_t str_id(struct pp *p, const char *s)
{
	char fixed[1024];
	uint32_t off;
	uint64_t *i;

	if (!s || !*s)
		return 0;
	s = ms_utf8_clean(s, fixed, sizeof(fixed));
	off = ms_str_intern(&p->text, s, strlen(s));
	if (!off) {
		p->oom = 1;
		return 0;
	}
	i = ms_hm_get(&p->str_idx, off, 0);
	if (i)
		return (int64_t)*i;
	if (GROW(p, p->strs, p->nstr, p->capstr, 1) || ms_hm_put(&p->str_idx, off, 0, p->nstr)) {
		p->oom = 1;
		return 0;
	}
	/* the arena may move: the table gets pointers once it is final */
	p->strs[p->nstr] = (char *)(uintptr_t)off;
	return (int64_t)p->nstr++;
}

static uint64_t function_id(struct pp *p, const struct ms_frame *f)
{
	int64_t name = str_id(p, f->function), file = str_id(p, f->file);
	uint64_t *i = ms_hm_get(&p->fn_idx, (uint64_t)name, (uint64_t)file);
	Function *fn;

	if (i)
		return *i;
	if (GROW(p, p->fns, p->nfn, p->capfn, 1))
		return 0;
	fn = &p->fns[p->nfn];
	perftools__profiles__function__init(fn);
	fn->id = p->nfn + 1;
	fn->name = name;
	fn->system_name = name;
	fn->filename = file;
	if (ms_hm_put(&p->fn_idx, (uint64_t)name, (uint64_t)file, fn->id)) {
		p->oom = 1;
		return 0;
	}
	p->nfn++;
	return fn->id;
}

static uint64_t mapping_id(struct pp *p, uint32_t pid, const struct ms_frame *f)
{
	uint64_t *i;
	Mapping *m;

	if (!f->module)
		return 0;
	i = ms_hm_get(&p->map_idx, pid, f->map_start);
	if (i)
		return p->maps[*i].id;
	if (GROW(p, p->maps, p->nmap, p->capmap, 1))
		return 0;
	m = &p->maps[p->nmap];
	perftools__profiles__mapping__init(m);
	m->id = p->nmap + 1;
	m->memory_start = f->map_start;
	m->memory_limit = f->map_end;
	m->file_offset = f->map_offset;
	m->filename = str_id(p, f->module);
	m->build_id = str_id(p, f->build_id);
	if (ms_hm_put(&p->map_idx, pid, f->map_start, p->nmap)) {
		p->oom = 1;
		return 0;
	}
	p->nmap++;
	return m->id;
}

/* One location for the frames fr[0..n), which share an address: several
 * frames are an inline chain (innermost first), each a line, as pprof
 * lists them. A frame without a function name gets no line, so that a
 * profile reader with the binary (or its build id) can symbolize it. */
static uint64_t location_id(struct pp *p, uint32_t pid, const struct ms_frame *fr, int n)
{
	uint64_t *i = ms_hm_get(&p->loc_idx, pid, fr[0].ip), mid;
	struct loc_ref *l;
	Mapping *m;
	int k;

	if (i)
		return p->locs[*i].loc.id;
	mid = mapping_id(p, pid, &fr[0]);
	if (GROW(p, p->locs, p->nloc, p->caploc, 1) || GROW(p, p->lines, p->nline, p->capline, (size_t)n))
		return 0;
	l = &p->locs[p->nloc];
	perftools__profiles__location__init(&l->loc);
	l->loc.id = p->nloc + 1;
	l->loc.mapping_id = mid;
	l->loc.address = fr[0].ip;
	l->line = p->nline;
	l->nline = 0;
	for (k = 0; k < n; k++) {
		Line *ln;

		if (!fr[k].function)
			continue;
		ln = &p->lines[p->nline++];
		perftools__profiles__line__init(ln);
		ln->function_id = function_id(p, &fr[k]);
		ln->line = fr[k].line;
		l->nline++;
	}
	m = mid ? &p->maps[mid - 1] : NULL;
	if (m && l->nline) {
		m->has_functions = 1;
		m->has_filenames |= fr[0].file != NULL;
		m->has_line_numbers |= fr[0].line != 0;
		m->has_inline_frames |= l->nline > 1;
	}
	if (ms_hm_put(&p->loc_idx, pid, fr[0].ip, p->nloc)) {
		p->oom = 1;
		return 0;
	}
	p->nloc++;
	return l->loc.id;
}

/* The location ids of a stack, leaf first, appended to loc_ids: sets *at
 * and returns how many. A stack with no frames gets one location named
 * "[no stack]" (as in the folded output), so its bytes stay visible. */
static size_t stack_locations(struct pp *p, uint32_t pid, int32_t stack_id, size_t *at)
{
	static const struct ms_frame none = { .function = "[no stack]" };
	struct ms_frame fr[MS_MAX_STACK_DEPTH + 1];
	int n = ms_report_stack(p->c, pid, stack_id, 0, fr, MS_MAX_STACK_DEPTH + 1), k, e;
	size_t cnt = 0;

	if (n <= 0) {
		fr[0] = none;
		n = 1;
	}
	if (GROW(p, p->loc_ids, p->nloc_ids, p->caploc_ids, (size_t)n))
		return 0;
	*at = p->nloc_ids;
	for (k = 0; k < n; k = e) {
		uint64_t id;

		for (e = k + 1; e < n && fr[e].ip == fr[k].ip && fr[e].ip; e++)
			;
		id = location_id(p, pid, &fr[k], e - k);
		if (id)
			p->loc_ids[p->nloc_ids + cnt++] = id;
	}
	p->nloc_ids += cnt;
	return cnt;
}

static void add_sample(struct pp *p, size_t loc, size_t nloc, const int64_t v[V_MAX],
		       const uint32_t *lab, int nlab)
{
	struct sample_ref *s;
	int k;

	if (GROW(p, p->samples, p->nsamples, p->capsamples, 1) ||
	    GROW(p, p->vals, p->nvals, p->capvals, V_MAX) ||
	    GROW(p, p->labels, p->nlabels, p->caplabels, (size_t)nlab))
		return;
	s = &p->samples[p->nsamples++];
	*s = (struct sample_ref){ .loc = loc, .nloc = nloc, .val = p->nvals, .lab = p->nlabels };
	memcpy(&p->vals[p->nvals], v, V_MAX * sizeof(*v));
	p->nvals += V_MAX;
	for (k = 0; k < nlab; k++) {
		Label *l;

		if (!lab[k])
			continue;
		l = &p->labels[p->nlabels++];
		perftools__profiles__label__init(l);
		l->key = str_id(p, label_keys[k]);
		l->str = lab[k];
		s->nlab++;
	}
}

static const char *u64_str(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

/* The labels of a live block (string table indices; 0 = not known). */
static void block_labels(struct pp *p, const struct ms_block *b, uint32_t lab[L_MAX])
{
	const struct ms_registry *r = p->c->reg;
	const struct ms_scope *sc = b->scope ? ms_registry_scope(r, b->scope) : NULL;
	const struct ms_var *v = ms_registry_block_var(r, b);
	char buf[32];
	size_t nt;
	const struct ms_task *t = ms_registry_tasks(r, &nt);
	uint64_t *ti = b->task ? ms_hm_get(&p->task_idx, b->pid, b->task) : NULL;
	const char *tname = ti ? ms_registry_str(r, t[*ti].name) : NULL;

	memset(lab, 0, L_MAX * sizeof(*lab));
	lab[L_PID] = (uint32_t)str_id(p, u64_str(b->pid, buf, sizeof(buf)));
	lab[L_THREAD] = (uint32_t)str_id(p, u64_str(b->tid, buf, sizeof(buf)));
	if (b->task)
		lab[L_TASK] = (uint32_t)str_id(p, tname && *tname ? tname : u64_str(b->task, buf, sizeof(buf)));
	if (sc)
		lab[L_SCOPE] = (uint32_t)str_id(p, ms_registry_str(r, sc->name));
	if (v)
		lab[L_VARIABLE] = (uint32_t)str_id(p, ms_registry_str(r, v->name));
	if (ms_report_reach(b))
		lab[L_REACH] = (uint32_t)str_id(p, ms_report_reach(b));
}

static int by_key(const void *a, const void *b)
{
	const struct block_key *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->stack_id != y->stack_id)
		return x->stack_id < y->stack_id ? -1 : 1;
	return memcmp(x->lab, y->lab, sizeof(x->lab));
}

/* A block's values: sampled blocks stand for weight bytes and
 * weight / size objects (pprof.h). */
static void block_values(const struct pp *p, const struct ms_block *b, double v[V_MAX])
{
	double w = p->sampled && b->weight ? (double)b->weight : (double)b->size;
	double o = p->sampled && b->weight && b->size ? w / (double)b->size : 1.0;

	v[V_ALLOC_OBJECTS] = v[V_INUSE_OBJECTS] = o;
	v[V_ALLOC_SPACE] = v[V_INUSE_SPACE] = w;
}

static struct site_acc *site_acc(struct pp *p, uint32_t pid, int32_t stack_id, size_t *idx)
{
	uint64_t *i = ms_hm_get(&p->site_idx, pid, (uint32_t)stack_id);
	struct site_acc *a;

	if (!i)
		return NULL;
	a = &p->acc[*i];
	*idx = *i;
	if (!a->built) {
		a->built = 1;
		a->nloc = stack_locations(p, pid, stack_id, &a->loc);
	}
	return a;
}

/* One sample per group of live blocks. */
static int live_samples(struct pp *p)
{
	size_t nb, i, n = 0, g, idx;
	const struct ms_block *b = ms_registry_blocks(p->c->reg, &nb);
	struct block_key *k = malloc((nb ? nb : 1) * sizeof(*k));

	if (!k)
		return -ENOMEM;
	for (i = 0; i < nb; i++) {
		if (!b[i].used)
			continue;
		k[n].pid = b[i].pid;
		k[n].stack_id = b[i].stack_id;
		k[n].b = &b[i];
		block_labels(p, &b[i], k[n].lab);
		n++;
	}
	qsort(k, n, sizeof(*k), by_key);
	for (i = 0; i < n; i = g) {
		double sum[V_MAX] = { 0 }, v[V_MAX];
		int64_t iv[V_MAX];
		struct site_acc *a = site_acc(p, k[i].pid, k[i].stack_id, &idx);
		size_t loc = 0, nloc;
		int t;

		for (g = i; g < n && !by_key(&k[g], &k[i]); g++) {
			block_values(p, k[g].b, v);
			for (t = 0; t < V_MAX; t++)
				sum[t] += v[t];
		}
		for (t = 0; t < V_MAX; t++) {
			iv[t] = llround(sum[t]);
			if (a)
				a->used[t] += iv[t];
		}
		nloc = a ? a->nloc : stack_locations(p, k[i].pid, k[i].stack_id, &loc);
		add_sample(p, a ? a->loc : loc, nloc, iv, k[i].lab, L_MAX);
	}
	free(k);
	return 0;
}

/* Per site, what was allocated there and is no longer live. */
static void freed_samples(struct pp *p)
{
	size_t ns, i, idx;
	const struct ms_site *s = ms_registry_sites(p->c->reg, &ns);
	char buf[32];

	for (i = 0; i < ns; i++) {
		double tot[V_MAX];
		int64_t iv[V_MAX];
		uint32_t lab[L_MAX] = { 0 };
		struct site_acc *a = &p->acc[i];
		int t, any = 0;

		if (p->sampled) {
			tot[V_ALLOC_OBJECTS] = s[i].est.alloc_objects;
			tot[V_ALLOC_SPACE] = s[i].est.alloc_space;
		} else {
			tot[V_ALLOC_OBJECTS] = (double)s[i].allocs;
			tot[V_ALLOC_SPACE] = (double)s[i].alloc_bytes;
		}
		tot[V_INUSE_OBJECTS] = tot[V_INUSE_SPACE] = 0;
		for (t = 0; t < V_MAX; t++) {
			iv[t] = llround(tot[t]) - (t < V_INUSE_OBJECTS ? a->used[t] : 0);
			if (iv[t] < 0)
				iv[t] = 0; /* fast mode: live blocks read apart from counters */
			any |= iv[t] != 0;
		}
		if (!any)
			continue;
		if (!a->built) {
			a = site_acc(p, s[i].pid, s[i].stack_id, &idx);
			if (!a)
				continue;
		}
		lab[L_PID] = (uint32_t)str_id(p, u64_str(s[i].pid, buf, sizeof(buf)));
		add_sample(p, a->loc, a->nloc, iv, lab, L_MAX);
	}
}

static int index_registry(struct pp *p)
{
	size_t n, i;
	const struct ms_task *t = ms_registry_tasks(p->c->reg, &n);
	const struct ms_site *s;

	for (i = 0; i < n; i++)
		if (ms_hm_put(&p->task_idx, t[i].pid, t[i].id, i))
			return -ENOMEM;
	s = ms_registry_sites(p->c->reg, &n);
	p->acc = calloc(n ? n : 1, sizeof(*p->acc));
	if (!p->acc)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (ms_hm_put(&p->site_idx, s[i].pid, (uint32_t)s[i].stack_id, i))
			return -ENOMEM;
	return 0;
}

/* gzip the packed profile onto f. */
static int write_gz(FILE *f, const uint8_t *buf, size_t len)
{
	unsigned char out[65536];
	z_stream z = { 0 };
	int ret;

	/* 15 + 16: a gzip wrapper, as pprof's readers expect */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (unsigned char *)buf;
	z.avail_in = (uInt)len;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		ret = deflate(&z, Z_FINISH);
		if (fwrite(out, 1, sizeof(out) - z.avail_out, f) != sizeof(out) - z.avail_out)
			ret = Z_ERRNO;
	} while (ret == Z_OK);
	deflateEnd(&z);
	return ret == Z_STREAM_END && !ferror(f) ? 0 : -EIO;
}

/* Point the protobuf structs at each other now that no array moves, pack,
 * compress. */
static int finish(struct pp *p, Profile *prof, FILE *f)
{
	static const char *const types[V_MAX][2] = {
		{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
		{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
	};
	ValueType vt[V_MAX], period;
	ValueType *vtp[V_MAX];
	Sample *smp = calloc(p->nsamples ? p->nsamples : 1, sizeof(*smp));
	Sample **smpp = calloc(p->nsamples ? p->nsamples : 1, sizeof(*smpp));
	Location **locp = calloc(p->nloc ? p->nloc : 1, sizeof(*locp));
	Line **linep = calloc(p->nline ? p->nline : 1, sizeof(*linep));
	Label **labp = calloc(p->nlabels ? p->nlabels : 1, sizeof(*labp));
	Mapping **mapp = calloc(p->nmap ? p->nmap : 1, sizeof(*mapp));
	Function **fnp = calloc(p->nfn ? p->nfn : 1, sizeof(*fnp));
	uint8_t *buf = NULL;
	size_t i, len, first = 0;
	int err = -ENOMEM;

	for (i = 0; i < V_MAX; i++) {
		perftools__profiles__value_type__init(&vt[i]);
		vt[i].type = str_id(p, types[i][0]);
		vt[i].unit = str_id(p, types[i][1]);
		vtp[i] = &vt[i];
	}
	perftools__profiles__value_type__init(&period);
	period.type = str_id(p, "space");
	period.unit = str_id(p, "bytes");
	prof->default_sample_type = vt[V_INUSE_SPACE].type;
	if (!smp || !smpp || !locp || !linep || !labp || !mapp || !fnp || p->oom)
		goto out;
	for (i = 1; i < p->nstr; i++)
		p->strs[i] = (char *)ms_str_get(&p->text, (uint32_t)(uintptr_t)p->strs[i]);
	for (i = 0; i < p->nline; i++)
		linep[i] = &p->lines[i];
	for (i = 0; i < p->nloc; i++) {
		p->locs[i].loc.n_line = p->locs[i].nline;
		p->locs[i].loc.line = &linep[p->locs[i].line];
		locp[i] = &p->locs[i].loc;
	}
	for (i = 0; i < p->nlabels; i++)
		labp[i] = &p->labels[i];
	for (i = 0; i < p->nsamples; i++) {
		const struct sample_ref *r = &p->samples[i];

		perftools__profiles__sample__init(&smp[i]);
		smp[i].n_location_id = r->nloc;
		smp[i].location_id = &p->loc_ids[r->loc];
		smp[i].n_value = V_MAX;
		smp[i].value = &p->vals[r->val];
		smp[i].n_label = r->nlab;
		smp[i].label = &labp[r->lab];
		smpp[i] = &smp[i];
	}
	/* pprof takes the first mapping for the main binary */
	for (i = 0; i < p->nmap; i++) {
		mapp[i] = &p->maps[i];
		if (p->c->exe && !strcmp(p->strs[p->maps[i].filename], p->c->exe) && !first)
			first = i + 1;
	}
	if (first > 1) {
		mapp[first - 1] = mapp[0];
		mapp[0] = &p->maps[first - 1];
	}
	for (i = 0; i < p->nfn; i++)
		fnp[i] = &p->fns[i];
	prof->n_sample_type = V_MAX;
	prof->sample_type = vtp;
	prof->n_sample = p->nsamples;
	prof->sample = smpp;
	prof->n_mapping = p->nmap;
	prof->mapping = mapp;
	prof->n_location = p->nloc;
	prof->location = locp;
	prof->n_function = p->nfn;
	prof->function = fnp;
	prof->n_string_table = p->nstr;
	prof->string_table = p->strs;
	prof->period_type = &period;
	len = perftools__profiles__profile__get_packed_size(prof);
	buf = malloc(len ? len : 1);
	if (!buf)
		goto out;
	perftools__profiles__profile__pack(prof, buf);
	err = write_gz(f, buf, len);
out:
	free(buf);
	free(smp);
	free(smpp);
	free(locp);
	free(linep);
	free(labp);
	free(mapp);
	free(fnp);
	return err;
}

int ms_report_pprof(FILE *f, const struct ms_report_ctx *c)
{
	struct pp p = { .c = c, .sampled = c->mode && !strcmp(c->mode, "sampled") };
	Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	char note[160];
	int64_t comment[2];
	int err;

	/* string_table[0] must be "" */
	if (GROW(&p, p.strs, 0, p.capstr, 1)) {
		err = -ENOMEM;
		goto out;
	}
	p.strs[p.nstr++] = "";
	err = index_registry(&p);
	if (!err)
		err = live_samples(&p);
	if (err)
		goto out;
	freed_samples(&p);
	prof.period = p.sampled && c->sample_interval ? (int64_t)c->sample_interval : 1;
	if (c->start_wall_ns)
		prof.time_nanos = (int64_t)c->start_wall_ns;
	prof.duration_nanos = c->end_ns > c->start_ns ? (int64_t)(c->end_ns - c->start_ns) : 0;
	snprintf(note, sizeof(note), "memscope-trace, mode %s, pid %d", c->mode ? c->mode : "?", (int)c->pid);
	comment[0] = str_id(&p, note);
	comment[1] = str_id(&p, p.sampled ? "values are estimates: each sampled block counts with its weight"
				: c->mode && !strcmp(c->mode, "light") ? "light mode: the allocator was not traced"
				: c->mode && !strcmp(c->mode, "leak-check") ? "the blocks live now, found by walking "
				  "the heap: no stacks, usable sizes; alloc_* count the same blocks"
				: "values are exact: every allocation was traced");
	prof.n_comment = 2;
	prof.comment = comment;
	err = finish(&p, &prof, f);
out:
	ms_strtab_free(&p.text);
	ms_hm_free(&p.str_idx);
	ms_hm_free(&p.fn_idx);
	ms_hm_free(&p.loc_idx);
	ms_hm_free(&p.map_idx);
	ms_hm_free(&p.task_idx);
	ms_hm_free(&p.site_idx);
	free(p.strs);
	free(p.fns);
	free(p.locs);
	free(p.lines);
	free(p.maps);
	free(p.loc_ids);
	free(p.vals);
	free(p.labels);
	free(p.samples);
	free(p.acc);
	return err;
}
