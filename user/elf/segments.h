/* SPDX-License-Identifier: BSD-3-Clause */
/* segments.h - the loadable segments (PT_LOAD) of an ELF file: which one
 * holds the bytes of a link-time address, and which one a file mapping of
 * a process came from. This is the one walk over the program headers that
 * the symbol reader (file offsets, code bytes) and /proc/PID/maps (load
 * bias) share. Needs libelf only, so proc/ may include it. */
#ifndef MS_ELF_SEGMENTS_H
#define MS_ELF_SEGMENTS_H

#include <gelf.h>
#include <stdint.h>

/* The PT_LOAD segment whose file contents ([p_vaddr, p_vaddr + p_filesz))
 * hold link-time address vaddr. Returns 0 and fills *ph, or -ENOENT (also
 * for a file without program headers). Cost: O(program headers). */
int ms_elf_seg_of_vaddr(Elf *elf, uint64_t vaddr, GElf_Phdr *ph);

/* The first PT_LOAD segment whose file offset rounded down with `mask`
 * (~(page size - 1)) is off, as ld.so and the kernel map it. Returns 0 and
 * fills *ph, or -ENOENT. Cost: O(program headers). */
int ms_elf_seg_of_offset(Elf *elf, uint64_t off, uint64_t mask, GElf_Phdr *ph);

#endif
