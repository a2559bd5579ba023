/* SPDX-License-Identifier: BSD-3-Clause */
/* romaps.h - the read-only file mappings of traced processes, kept so that
 * string literals can be read from the files that hold them.
 *
 * TRACK_VAR and scope names, types and files are string literals: bytes of
 * a read-only segment of the program's files. BPF cannot read one whose
 * page was never touched (it may not fault pages in), and by the time the
 * tracer looks the process may be gone, or may have exec'd another image
 * that maps something else at that address. The file is the truth: this
 * remembers, per process, where each file is mapped read-only (as seen at
 * each attach, hold and fork) and keeps each file open, so a literal is
 * read from its file whatever became of the process - also in another
 * mount namespace, whose paths die with the process. */
#ifndef MS_PROC_ROMAPS_H
#define MS_PROC_ROMAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ms_romaps;

struct ms_romaps *ms_romaps_new(void);
/* NULL-safe; closes every file. */
void ms_romaps_free(struct ms_romaps *r);
/* Read pid's read-only file mappings now; they replace what was known of
 * pid. Opens each file not open yet (/proc/PID/map_files: the very file).
 * 0 or -errno (-ESRCH: gone, also just after its exit, when its maps
 * file is empty; nothing changed). */
int ms_romaps_update(struct ms_romaps *r, pid_t pid);
/* A fork: child maps what parent maps. 0, -ENOENT if parent is unknown. */
int ms_romaps_fork(struct ms_romaps *r, pid_t parent, pid_t child);
/* Read up to len bytes at addr of pid from the file mapped read-only
 * there (as last seen). Bytes read, or -ENOENT if no such mapping is known,
 * -errno. Stops at the end of the mapping. */
ssize_t ms_romaps_read(const struct ms_romaps *r, pid_t pid, uint64_t addr, void *buf, size_t len);

#endif
