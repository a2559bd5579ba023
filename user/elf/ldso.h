/* SPDX-License-Identifier: BSD-3-Clause */
/* ldso.h - what glibc's dynamic linker will do with a program, worked out
 * ahead of it: the files it maps at start-up and where its debugger hook is.
 *
 * A uprobe registered for a file arms itself in every process that maps the
 * file later, so a program started held before exec (or stopped at exec) is
 * traced from its first instruction if the tracer registers its probes on
 * each file ld.so will map. ms_ldso_resolve() finds them the way ld.so does
 * (elf/dl-load.c, glibc 2.36):
 *
 *   - LD_PRELOAD (the program's environment), then /etc/ld.so.preload;
 *   - then the DT_NEEDED closure, breadth first, each name looked up for the
 *     object that needs it: a name with a slash is a path; otherwise the
 *     DT_RPATH of the needing object and of the chain of objects that loaded
 *     it (only while none of them has DT_RUNPATH), LD_LIBRARY_PATH, the
 *     needing object's DT_RUNPATH, /etc/ld.so.cache, the system directories
 *     (the last two unless DF_1_NODEFLIB);
 *   - $ORIGIN, $LIB and $PLATFORM expanded in search paths; in each
 *     directory the glibc-hwcaps/x86-64-v4..v2 subdirectory this CPU
 *     supports first; a candidate that is not a 64-bit x86-64 ELF skipped;
 *     an object already loaded (same name or soname, or the same file) not
 *     loaded twice.
 *
 * Not modelled: secure (setuid) mode, the legacy hwcaps subdirectories
 * (tls/, haswell/) and LD_AUDIT. Whatever ld.so maps that this missed is
 * caught when ld.so reports a consistent list of objects (bpf/hold.bpf.h).
 *
 * Paths are in the program's view of the file system; `root` ("" or
 * "/proc/PID/root") is prepended to each file this opens, so a program in
 * another mount namespace is resolved through its own root. */
#ifndef MS_ELF_LDSO_H
#define MS_ELF_LDSO_H

#include <stddef.h>
#include <stdint.h>

struct ms_ldso_env {
	const char *root;            /* prefix for every file opened; "" = ours */
	const char *ld_library_path; /* the program's, or NULL */
	const char *ld_preload;      /* the program's, or NULL */
	const char *cwd;             /* for relative names; NULL = ours */
};

struct ms_ldso_objs {
	char **path; /* [0] the executable, then in ld.so's load order */
	size_t n;
	char interp[4096]; /* PT_INTERP, "" for a static executable */
};

/* Resolve what ld.so maps for executable `exe` at start-up into *out
 * (empty on entry; ms_ldso_objs_free() releases it). Names that cannot be
 * found are left out (ld.so would refuse to start). Returns 0, -ENOENT /
 * -ENOEXEC if exe cannot be read as ELF, -ENOMEM. Cost: one open and
 * dynamic-section read per object and per candidate file. */
int ms_ldso_resolve(const char *exe, const struct ms_ldso_env *env, struct ms_ldso_objs *out);
void ms_ldso_objs_free(struct ms_ldso_objs *o);

/* ld.so's debugger hook in the dynamic linker file `path`: the file offset
 * of _dl_debug_state() (a function debuggers break on: ld.so calls it
 * with _r_debug.r_state = RT_ADD before mapping objects and RT_CONSISTENT
 * after) and the distance from it to _r_debug (0 if _r_debug is not
 * exported). 0, -ENOENT if the file has no such hook, or -errno. */
int ms_ldso_debug_hook(const char *path, uint64_t *off, int64_t *r_debug_delta);

#endif /* MS_ELF_LDSO_H */
