/* SPDX-License-Identifier: BSD-3-Clause */
/* segments.c - see segments.h. */
#include "elf/segments.h"

#include <errno.h>

/* The first PT_LOAD segment for which match(ph, a, b) holds. */
static int find_load(Elf *elf, int (*match)(const GElf_Phdr *ph, uint64_t a, uint64_t b),
		     uint64_t a, uint64_t b, GElf_Phdr *out)
{
	size_t i, n;

	if (!elf || elf_getphdrnum(elf, &n) != 0)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !match(&ph, a, b))
			continue;
		*out = ph;
		return 0;
	}
	return -ENOENT;
}

static int holds_vaddr(const GElf_Phdr *ph, uint64_t vaddr, uint64_t unused)
{
	(void)unused;
	return vaddr >= ph->p_vaddr && vaddr < ph->p_vaddr + ph->p_filesz;
}

static int maps_offset(const GElf_Phdr *ph, uint64_t off, uint64_t mask)
{
	return (ph->p_offset & mask) == off;
}

int ms_elf_seg_of_vaddr(Elf *elf, uint64_t vaddr, GElf_Phdr *ph)
{
	return find_load(elf, holds_vaddr, vaddr, 0, ph);
}

int ms_elf_seg_of_offset(Elf *elf, uint64_t off, uint64_t mask, GElf_Phdr *ph)
{
	return find_load(elf, maps_offset, off, mask, ph);
}
