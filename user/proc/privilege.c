/* SPDX-License-Identifier: BSD-3-Clause */
/* privilege.c - see privilege.h. */
#include <errno.h>
#include <stdio.h>
#include <sys/capability.h>
#include <unistd.h>
#include "proc/privilege.h"

int ms_privilege_check(char *why, size_t len)
{
	static const struct { cap_value_t cap; const char *name; } need[] = {
		/* load programs, maps, ring buffer */
		{ CAP_BPF, "CAP_BPF" },
		/* uprobes and tracepoints through perf_event_open */
		{ CAP_PERFMON, "CAP_PERFMON" },
		/* the kernel only lets CAP_SYS_ADMIN attach a uprobe that bumps a
		 * USDT semaphore (perf_event_open with ref_ctr_offset: EACCES) */
		{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN" },
		/* /proc/PID/mem and maps of another user's process */
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE" },
		/* its files through /proc/PID/root and map_files */
		{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH" },
	};
	cap_t caps;
	size_t i, off = 0;
	int missing = 0;

	caps = cap_get_proc();
	if (!caps)
		return geteuid() == 0 ? 0 : -EPERM;
	why[0] = 0;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(caps, need[i].cap, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET)
			continue;
		missing++;
		off += (size_t)snprintf(why + off, off < len ? len - off : 0, "%s%s",
					missing > 1 ? " + " : "", need[i].name);
	}
	cap_free(caps);
	return missing ? -EPERM : 0;
}
