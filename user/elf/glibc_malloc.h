/* SPDX-License-Identifier: BSD-3-Clause */
/* glibc_malloc.h - what a heap walk (user/proc/glibc_heap.h) must know of
 * one libc.so.6: where main_arena, mp_ and tcache_key are, how malloc's
 * structures are laid out, where malloc.c's code is. All of it comes from
 * the library's debug info (found as debuggers find it: /usr/lib/debug by
 * build id, .gnu_debuglink, debuginfod), since none of it is exported. */
#ifndef MS_ELF_GLIBC_MALLOC_H
#define MS_ELF_GLIBC_MALLOC_H

#include <stddef.h>
#include "proc/glibc_heap.h"

/* Fill *out for the libc at path (a path this process can open). 0;
 * -ENOENT when its debug info cannot be found (why names the package to
 * install); -EPROTO when the debug info lacks a symbol or structure the
 * walk needs (why names it); -errno. */
int ms_glibc_malloc_layout(const char *path, struct ms_glibc_layout *out, char *why, size_t len);

#endif
