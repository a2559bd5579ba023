/* SPDX-License-Identifier: BSD-3-Clause */
/* symbolize.h - user-space instruction addresses of one process to
 * function, source file and line (elfutils libdwfl).
 *
 * The symbolizer snapshots the process's modules when it is created: it
 * opens every file with code and loads its symbol table and DWARF (found
 * next to the file, via .gnu_debuglink, or by build id under
 * /usr/lib/debug/.build-id) right away. It therefore keeps answering after
 * the process has exited, which is when reports are written. The price is
 * paid up front: creation reads the debug info of every loaded library
 * (and fetches it if DEBUGINFOD_URLS is set).
 *
 * Link with -ldw -lelf. C++ names are demangled only when libstdc++'s
 * __cxa_demangle is linked in (weak reference): link with
 * -Wl,--push-state,--no-as-needed -lstdc++ -Wl,--pop-state to get that,
 * otherwise names stay mangled.
 *
 * Not thread-safe: use one symbolizer per thread or a lock.
 */
#ifndef MS_ELF_SYMBOLIZE_H
#define MS_ELF_SYMBOLIZE_H

#include <stdint.h>
#include <sys/types.h>
#include "report/frame.h"

struct ms_symbolizer;

/* One resolved address (struct ms_frame, report/frame.h): strings are
 * owned by the symbolizer and stay valid until ms_symbolizer_free(), across
 * refreshes. */

/* Snapshot the modules of `pid`. Returns NULL with errno set on failure:
 * ESRCH (no such process, or a zombie), EACCES, ENOMEM. Cost: one read of
 * /proc/PID/maps plus loading the symbols and DWARF of every module with
 * code. */
struct ms_symbolizer *ms_symbolizer_new(pid_t pid);

/* Re-read the maps to pick up libraries loaded (or unloaded) since. Modules
 * still mapped at the same place are kept as they are, new ones are loaded
 * as in _new. Returns 0, or -ESRCH if the process is gone (the old snapshot
 * stays in use), or another negative errno (likewise). Cached results are
 * dropped if the module set changed. */
int ms_symbolizer_refresh(struct ms_symbolizer *s);

/* Use the modules in m (built from the mappings BPF read as the process
 * exited, see ms_maps_from_vmas) instead of /proc/PID/maps, which is gone
 * or about to be; creates *sp if it is NULL. No later refresh reads the
 * maps again. 0 or -errno. */
struct ms_maps;
int ms_symbolizer_use_maps(struct ms_symbolizer **sp, pid_t pid, const struct ms_maps *m);

/* Resolve `ip` as given: for a return address, pass ip - 1 yourself.
 * Returns 0 and fills *out (function, file or line may still be unknown),
 * or -ENOENT if ip is in no known module. An ip outside every module
 * triggers one automatic refresh (a library dlopen()ed since), at most every
 * 50 ms so that JIT code cannot make every lookup re-read the maps.
 * Results, misses included, are cached per ip: O(1) after the first call. */
int ms_symbolize(struct ms_symbolizer *s, uint64_t ip, struct ms_frame *out);

/* As ms_symbolize, expanded into the functions inlined at ip: fills up to
 * max frames, innermost first, all with ip, the inline ones marked
 * .inlined, each with the file and line of the place in its code (the
 * innermost: ip's line; every other: the call site of the function it
 * inlined), the last being ip's own function as ms_symbolize names it.
 * Returns the number of frames (1 when nothing is inlined), or -ENOENT.
 * Cached per ip like ms_symbolize. */
int ms_symbolize_inline(struct ms_symbolizer *s, uint64_t ip, struct ms_frame *out, int max);

/* Release everything, including all strings handed out. NULL is fine. */
void ms_symbolizer_free(struct ms_symbolizer *s);

#endif /* MS_ELF_SYMBOLIZE_H */
