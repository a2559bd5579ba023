/* SPDX-License-Identifier: BSD-3-Clause */
/* elf_syms.h - read what memscope needs from an ELF file: function symbols,
 * USDT probe names, build id, architecture and linkage.
 *
 * Open a file once with ms_elf_open() and ask it many questions: the file is
 * mapped read-only (libelf ELF_C_READ_MMAP), so looking up ~20 allocator
 * names in libc.so.6 costs one open plus a linear scan of the symbol tables
 * per name, and nothing is copied. The path variants at the bottom open and
 * close the file around a single question.
 *
 * Every int function returns 0 (or a documented count/flag) on success and a
 * negative errno on failure, like libbpf.
 */
#ifndef MS_ELF_ELF_SYMS_H
#define MS_ELF_ELF_SYMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ms_elf;

/* Where a function lives: vaddr is the symbol value (link-time address),
 * file_off the offset of its first byte in the file (what a uprobe attached
 * by path + offset wants), size the symbol size (0 if the symbol has none). */
struct ms_elf_func {
	uint64_t vaddr;
	uint64_t file_off;
	uint64_t size;
};

/* Open `path` for reading. Returns a handle the caller frees with
 * ms_elf_close(), or NULL with errno set: ENOEXEC if the file is not ELF,
 * the open(2) errno otherwise. Holds one fd and one mapping of the file. */
struct ms_elf *ms_elf_open(const char *path);

/* Release everything ms_elf_open() took. NULL is fine. */
void ms_elf_close(struct ms_elf *e);

/* Find function `name` (STT_FUNC, defined) in .dynsym, then .symtab.
 * "malloc@@GLIBC_2.2.5" and "malloc@GLIBC_2.2.5" match "malloc". When a name
 * has several definitions the one the dynamic linker binds to wins: the
 * exported default version, then an old non-default version (memcpy@GLIBC_2.2.5
 * beside memcpy@@GLIBC_2.14), then a local symbol.
 * Returns 0 and fills *out, -ENOENT if absent, -ENOTSUP if the winning
 * definition is a GNU indirect function (its address is the resolver, not
 * the function), -EINVAL on bad arguments. Cost: O(symbols). */
int ms_elf_find_func(struct ms_elf *e, const char *name,
		     struct ms_elf_func *out);

/* The same for a data object (STT_OBJECT), e.g. ld.so's _r_debug: vaddr
 * and size are set; file_off is 0 when the object has no bytes in the
 * file (.bss). */
int ms_elf_find_object(struct ms_elf *e, const char *name, struct ms_elf_func *out);

/* Point *code at the `fn->size` bytes of a function found by
 * ms_elf_find_func(). The bytes live in the handle's mapping: valid until
 * ms_elf_close(). Returns 0, -EINVAL if size is 0 or the range is not inside
 * one section with file contents. */
int ms_elf_func_bytes(struct ms_elf *e, const struct ms_elf_func *fn,
		      const uint8_t **code);

/* The name of the function a call or jump to `vaddr` reaches when vaddr is
 * a PLT slot (.plt, .plt.sec or .plt.got: an optional endbr64/bnd, then
 * `jmp *GOT(%rip)`): the symbol of the relocation that fills that GOT entry,
 * without its version ("_Znwm"), copied into name[0..len). Returns 0,
 * -ENOENT if vaddr is not such a slot or no relocation names it, -ENOSPC
 * if len is too small. Cost: O(relocations). */
int ms_elf_plt_name(struct ms_elf *e, uint64_t vaddr, char *name, size_t len);

/* Whether the file's code keeps frame pointers, judged from up to 400 of
 * its functions of 32 bytes or more (symbol table, else dynamic symbols):
 * 1 if at least half begin with push %rbp; mov %rsp,%rbp (after an
 * optional endbr64), 0 if fewer, -ENOENT if it has no such function. A
 * frame-pointer walk of code built without them (Debian's packages, -O2)
 * follows whatever %rbp holds: its frames past the first are not the
 * callers, and the walk costs several us per stack (redis-server). */
int ms_elf_has_frame_pointers(struct ms_elf *e);
int ms_elf_has_frame_pointers_path(const char *path);

/* Call cb(name, user) once per distinct probe name of `provider` in the
 * file's .note.stapsdt (a probe used at many sites is reported once). The
 * name pointer is valid during the call only. Returns the number of distinct
 * names (0 if none or no such section) or a negative errno. */
int ms_elf_usdt_names(struct ms_elf *e, const char *provider,
		      void (*cb)(const char *name, void *user), void *user);

/* 0 if the file is a 64-bit x86-64 ELF; -ENOEXEC otherwise, with *reason
 * (if reason is not NULL) set to a static string fit for an error message
 * such as "32-bit ELF (ELFCLASS32); memscope traces 64-bit x86-64 only". */
int ms_elf_check_arch(struct ms_elf *e, const char **reason);

/* 1 if statically linked (no PT_INTERP and no DT_NEEDED: this includes
 * static-pie), 0 if not, negative errno on a malformed file. A static
 * program carries its own malloc, so uprobes go on the executable itself. */
int ms_elf_is_static(struct ms_elf *e);

/* Write the GNU build id as lowercase hex, NUL-terminated, into buf.
 * Returns 0, -ENOENT if the file has none, -ENOSPC if len is too small
 * (2 bytes per id byte plus 1). */
int ms_elf_build_id(struct ms_elf *e, char *buf, size_t len);

/* Path variants: open, ask, close. Same returns as above, plus the
 * negative errno of ms_elf_open(). ms_elf_check_arch_path() also sets
 * *reason when the file cannot be opened or is not ELF. */
int ms_elf_find_func_path(const char *path, const char *name,
			  struct ms_elf_func *out);
int ms_elf_usdt_names_path(const char *path, const char *provider,
			   void (*cb)(const char *name, void *user),
			   void *user);
int ms_elf_check_arch_path(const char *path, const char **reason);
int ms_elf_is_static_path(const char *path);
int ms_elf_build_id_path(const char *path, char *buf, size_t len);

/* Read up to len bytes at link-time address vaddr of ELF file `path`
 * (through its PT_LOAD segments). Returns bytes read, or -errno (-ENOENT
 * if no segment with file contents holds vaddr). */
/* 1 if the file's DT_NEEDED list names a library containing `needle`
 * ("libstdc++"), 0 if not, -errno. */
int ms_elf_needs_path(const char *path, const char *needle);

ssize_t ms_elf_read_vaddr(const char *path, uint64_t vaddr, void *buf, size_t len);

#endif /* MS_ELF_ELF_SYMS_H */
