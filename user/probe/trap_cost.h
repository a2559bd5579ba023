/* SPDX-License-Identifier: BSD-3-Clause */
/* trap_cost.h - what one uprobe hit costs a process besides the BPF
 * program it runs, measured on this machine, now. */
#ifndef MS_PROBE_TRAP_COST_H
#define MS_PROBE_TRAP_COST_H

/* Nanoseconds one uprobe hit on an emulated instruction adds to a call
 * (the int3 trap, the kernel's uprobe handling, the return to user space),
 * measured on a function of the tracer itself (see the .c). 0 if it
 * cannot be measured here (no uprobe PMU, no privilege, not x86-64).
 * Cost: about 10 ms. */
double ms_trap_cost_ns(void);

#endif
