/* SPDX-License-Identifier: BSD-3-Clause */
/* unwind_maps.h - the tracer's side of the DWARF stack walk: build each
 * mapped file's unwind table (elf/cfi_tables.h) and load it into the BPF
 * maps bpf/unwind.bpf.h searches.
 *
 * Tables are per file, keyed by (device, inode) as the kernel sees the
 * mapped file, and loaded once however many processes map it. BPF finds a
 * process's mappings itself; it reports a mapped file with no table
 * (MS_EV_UNW_MISS) and the tracer loads one then. Table memory is fixed at
 * load (--unwind-tables): a file that does not fit is counted, named with
 * -v, and walked by frame pointer.
 */
#ifndef MS_PROBE_UNWIND_MAPS_H
#define MS_PROBE_UNWIND_MAPS_H

#include <stdint.h>
#include <sys/types.h>
#include "probe/loader.h"
#include "memscope_events.h"

struct ms_maps;

/* What the tables cost and what did not fit (the report's "unwind"). */
struct ms_unwind_stats {
	uint64_t files;          /* files with a table loaded */
	uint64_t rows;           /* rows loaded */
	uint64_t bytes;          /* bytes of rows and page index loaded */
	uint64_t capacity_bytes; /* room for both (--unwind-tables) */
	uint64_t build_ns;       /* time spent reading CFI and loading */
	uint64_t not_loaded;     /* files with CFI that did not fit */
	uint64_t no_cfi;         /* files without usable CFI (frame pointers) */
	uint64_t misses;         /* files BPF reported before the tracer had them */
};

struct ms_unwinder;

/* NULL with errno set (ENOMEM, or the errno of mapping the arrays). The
 * unwinder borrows the loader's maps: free it before the loader. */
struct ms_unwinder *ms_unwinder_new(const struct ms_unw_maps *m, int verbose);

/* Load the table of the file at open_path (a path the tracer can open),
 * which the kernel knows as (kdev, ino) (kdev: major << 20 | minor); name
 * is for messages. Idempotent per (kdev, ino). Returns 0 if a table is
 * loaded (now or before), -ENOENT (no CFI), -ENOSPC (no room), -errno. */
int ms_unwinder_add_file(struct ms_unwinder *u, const char *open_path, uint32_t kdev, uint64_t ino,
			 const char *name);
/* As above, (kdev, ino) from stat(path): for files about to be mapped
 * (a command's executable and libraries before exec). */
int ms_unwinder_add_path(struct ms_unwinder *u, const char *path);
/* Every file with code in pid's maps m. Also notices a process whose
 * set of code mappings changed (dlopen, dlclose) and makes BPF look its
 * mappings up again. */
void ms_unwinder_add_maps(struct ms_unwinder *u, pid_t pid, const struct ms_maps *m);
/* A walk met a file with no table (MS_EV_UNW_MISS): load it, from the
 * process's /proc/PID/map_files while it is mapped. */
void ms_unwinder_miss(struct ms_unwinder *u, const struct ms_ev_unw_miss *e);

void ms_unwinder_stats(const struct ms_unwinder *u, struct ms_unwind_stats *out);
/* NULL is fine. */
void ms_unwinder_free(struct ms_unwinder *u);

#endif /* MS_PROBE_UNWIND_MAPS_H */
