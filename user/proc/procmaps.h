/* SPDX-License-Identifier: BSD-3-Clause */
/* procmaps.h - the file-backed modules (executable, shared libraries, other
 * mapped files) of a running process, read from /proc/PID/maps.
 *
 * One ms_module per file (same device and inode), however many mappings it
 * has. Anonymous memory, [heap], [stack], [vdso] and friends are skipped.
 * If a file is mapped more than once (libelf or python mmap()ing a library
 * that is also loaded), only the load that has code is kept (else the
 * first), so start/end/bias describe what ld.so mapped.
 * The list is a snapshot: it goes stale when the process dlopen()s,
 * dlclose()s or exits, and reading it again is the only way to update it.
 */
#ifndef MS_PROC_PROCMAPS_H
#define MS_PROC_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ms_module {
	/* Path as shown in maps, i.e. inside the target's mount namespace,
	 * with " (deleted)" still attached if the file was removed. */
	char *path;
	/* A path the tracer can open: "/proc/PID/root" + path (so targets in
	 * containers work) when that is the same file, else
	 * "/proc/PID/map_files/START-END" (deleted or replaced files; needs
	 * root). Both stop working once the process is gone. */
	char *open_path;
	/* Lowest start / highest end over the mappings of that load. */
	uint64_t start, end;
	/* The executable mapping(s) of the file; both 0 if none. */
	uint64_t exec_start, exec_end;
	/* Load bias: runtime address - ELF vaddr. 0 for a non-PIE ET_EXEC.
	 * Taken from the ELF program headers when the file is ELF, else
	 * start - offset of the lowest mapping. */
	uint64_t bias;
	dev_t dev;
	ino_t ino;
};

/* Sorted by start; mods is NULL when n is 0. */
struct ms_maps {
	struct ms_module *mods;
	size_t n;
};

/* Read the modules of `pid` into *out, which must be empty (zeroed or
 * freed). Returns 0, -ESRCH if there is no such process or it has no
 * address space any more (zombie, kernel thread), -ENOMEM, or the errno of
 * reading the maps file (-EACCES without ptrace rights). On failure *out is
 * left empty. Cost: one pass over maps plus one open/ELF header read per
 * module (for the bias). */
int ms_maps_read(pid_t pid, struct ms_maps *out);
/* A digest of pid's file-backed mappings as /proc/PID/maps shows them now:
 * an equal digest means ms_maps_read() would find the same modules (so a
 * rescan has nothing to do, and no ELF file needs opening). 0 if the maps
 * cannot be read (gone, a zombie). */
uint64_t ms_maps_digest(pid_t pid);

/* The module whose [start, end) holds addr, or NULL. The pointer is into
 * m->mods and lives until ms_maps_free(). Cost: O(log n). */
const struct ms_module *ms_maps_find(const struct ms_maps *m, uint64_t addr);

/* One executable file mapping as BPF read it from the kernel (struct
 * ms_ev_vma): the process may be gone by the time the tracer sees it. */
struct ms_vma {
	uint64_t start, end, offset;
	uint64_t ino;
	dev_t dev;        /* user-space encoding (makedev) */
	const char *name; /* the file's last path component */
};

/* Build *out (empty on entry) from n mappings: each file is looked for as
 * DIR/name for DIR in `dirs` (NULL-terminated) and kept only if that path
 * is the same file (device and inode); path and open_path are that path.
 * Files not found are left out. 0 or -ENOMEM. */
int ms_maps_from_vmas(const struct ms_vma *v, size_t n, const char *const *dirs,
		      struct ms_maps *out);

/* One line of /proc/PID/maps as the kernel writes it. */
struct ms_mapping {
	uint64_t start, end, off;
	char perms[5];
	dev_t dev;
	ino_t ino;
	const char *path; /* "" for anonymous memory */
};

/* Call cb for each mapping of pid, in address order (m and its path are
 * valid during the call only); a non-zero return from cb stops the walk
 * and is returned. 0, -ESRCH if there is no such process or it has no
 * address space any more (a zombie, just after its exit, shows an empty
 * maps file and no error), or -errno if the maps cannot be read. Every
 * reader of /proc/PID/maps here goes through it. */
int ms_maps_each(pid_t pid, int (*cb)(const struct ms_mapping *m, void *user), void *user);

/* Free the modules and reset *m to empty. NULL is fine. */
void ms_maps_free(struct ms_maps *m);

#endif /* MS_PROC_PROCMAPS_H */
