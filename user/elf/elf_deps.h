/* SPDX-License-Identifier: BSD-3-Clause */
/* elf_deps.h - the files a dynamic executable will map at start: its
 * interpreter (ld.so) and the DT_NEEDED libraries, found as ld.so finds
 * them. The tracer builds their unwind tables before it lets a command
 * exec, so that stacks are whole from the first allocation. */
#ifndef MS_ELF_ELF_DEPS_H
#define MS_ELF_ELF_DEPS_H

#include <libelf.h>
#include <stdint.h>

/* Call cb(path, user) once for path itself, its PT_INTERP and every
 * library in the DT_NEEDED closure (searched in DT_RPATH, LD_LIBRARY_PATH,
 * DT_RUNPATH with $ORIGIN expanded, then the default directories; no
 * ld.so.cache). Libraries not found are skipped: a miss only costs the
 * walk a table until BPF reports the mapped file. Returns the number of
 * files reported, or -errno if path itself cannot be read as ELF. At most
 * 512 files. */
int ms_elf_deps(const char *path, void (*cb)(const char *path, void *user), void *user);

/* Call fn(user, tag, string) for each string-valued entry of elf's
 * dynamic section (DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME, ...), in
 * order, until fn returns nonzero. Returns that value, or 0. */
int ms_elf_dyn_strings(Elf *elf, int (*fn)(void *user, int64_t tag, const char *s), void *user);

#endif /* MS_ELF_ELF_DEPS_H */
