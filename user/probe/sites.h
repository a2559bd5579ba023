/* SPDX-License-Identifier: BSD-3-Clause */
/* sites.h - the memscope probe sites memscope-trace attached, as they are in
 * the target's memory.
 *
 * -v says which form each site has when it is attached (user/elf/
 * usdt_sites.h), and later what the kernel made of it, read from
 * /proc/PID/mem: a 5-byte site the kernel optimized reads e8 (a call into
 * the [uprobes-trampoline] page), a trapping site cc (int3).
 *
 * Fork children: include/memscope.h keeps a fork-wiped page per object, so
 * a child made by fork() skips its probes (it may have inherited calls into
 * a trampoline page the kernel did not copy). ms_sites_adopt() makes such a
 * child traceable again: its sites back to the file's bytes, its
 * semaphores to 0, its page to 1; then the tracer attaches as usual.
 *
 * Nothing here uses libbpf. Reads and writes go through /proc/PID/mem
 * (CAP_SYS_PTRACE for another user's process). */
#ifndef MS_PROBE_SITES_H
#define MS_PROBE_SITES_H

#include <stdio.h>
#include <sys/types.h>
#include "elf/usdt_sites.h"

struct ms_sites;

/* An empty set, or NULL (ENOMEM). */
struct ms_sites *ms_sites_new(void);

/* Free the set. NULL is fine. */
void ms_sites_free(struct ms_sites *s);

/* Remember the sites *u of `path`, attached in `pid`, for ms_sites_check();
 * *u is moved in (left empty). With log, prints one line per site with
 * its form. Returns 0 or -ENOMEM. */
int ms_sites_add(struct ms_sites *s, pid_t pid, const char *path, struct ms_usdt_sites *u,
		 FILE *log);

/* Read every remembered site of every live process and print the sites
 * whose bytes changed since the last look ("optimized: call into the
 * uprobe trampoline", "int3 trap"). With final, also print each site that
 * never got optimized, and forget nothing. Cost: a maps read per process
 * and a 5-byte read per site; meant for -v. */
void ms_sites_check(struct ms_sites *s, FILE *log, int final);

/* If `pid` is a fork child whose copy of `path` has a fork-wiped page that
 * reads 0 (include/memscope.h), restore its sites in `u` to the file's
 * bytes, zero its semaphores and set the page to 1, in that order.
 * Returns 1 if it did, 0 if there was nothing to do (not a fork child,
 * path not mapped in pid, no page), or a negative errno. */
int ms_sites_adopt(pid_t pid, const char *path, const struct ms_usdt_sites *u);
/* The same for a fork child whose sites stay probed by attachments made
 * without a PID filter (-f): the kernel re-arms nothing in a child, so each
 * site becomes its int3 form (0xcc, then the file's bytes 1..4) and the
 * inherited semaphores are kept (they count those uprobes). Same returns. */
int ms_sites_adopt_armed(pid_t pid, const char *path, const struct ms_usdt_sites *u);

#endif /* MS_PROBE_SITES_H */
