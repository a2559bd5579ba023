/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* hold.bpf.h - stopping a process until the tracer has attached to it.
 *
 * A uprobe is armed in a process when the tracer registers it for a file
 * that process maps (or maps later). Three moments outrun the tracer, which
 * learns of them through the ring buffer some microseconds later, while the
 * process runs on:
 *
 *   fork   a followed child runs its first instruction right after the
 *          fork tracepoint; its allocator probes are per process (a probe
 *          without a PID filter on libc's malloc would trap in every
 *          process on the machine), so they can only be registered once
 *          the child exists;
 *   exec   the new image may map files no probe was registered for (its
 *          executable, a jemalloc it links);
 *   load   ld.so mapped new objects (start-up, dlopen) and is about to run
 *          their constructors, then return to the program.
 *
 * At each, BPF stops the process with SIGSTOP (bpf_send_signal_task() for
 * another task, bpf_send_signal() from a uprobe) before it runs another
 * user instruction, and leaves an entry in `holds`; the tracer attaches,
 * deletes the entry and sends SIGCONT. A BPF program cannot wait, and a
 * stop is the only way the kernel offers to park a task without the
 * task's cooperation. What others can see of it is in the README ("Held
 * processes"): the stop and continue are reported to the parent like any
 * job-control stop (waitpid with WUNTRACED/WCONTINUED, SIGCHLD with
 * CLD_STOPPED/CLD_CONTINUED unless SA_NOCLDSTOP), /proc shows state T, a
 * debugger following the fork sees a SIGSTOP.
 *
 * If the tracer dies while it holds processes, the tracepoint of its own
 * exit sends each of them SIGCONT (hold_release_all()). */
#ifndef MS_BPF_HOLD_BPF_H
#define MS_BPF_HOLD_BPF_H

#include "state.bpf.h"

#define MS_SIGSTOP 19
#define MS_SIGCONT 18

extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type,
				__u64 value) __weak __ksym;
extern struct task_struct *bpf_task_from_pid(s32 pid) __weak __ksym;
extern void bpf_task_release(struct task_struct *p) __weak __ksym;

/* pid -> the hold the tracer has to release. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct ms_hold);
} holds SEC(".maps");

static __always_inline int is_traced(__u32 tgid)
{
	return bpf_map_lookup_elem(&traced, &tgid) != NULL;
}

/* Note the hold; 1 if it is new, 0 if the process is held already (one
 * release covers both: the tracer attaches to all it maps). */
static __always_inline int hold_note(__u32 pid, __u32 kind, __u32 tid)
{
	struct ms_hold h = { .ts_ns = bpf_ktime_get_ns(), .kind = kind, .tid = tid };

	return bpf_map_update_elem(&holds, &pid, &h, BPF_NOEXIST) == 0;
}

static __always_inline int hold_sent(__u32 pid, long err)
{
	if (err) {
		bpf_map_delete_elem(&holds, &pid);
		stat_inc(MS_STAT_HOLD_FAILED);
		return 0;
	}
	stat_inc(MS_STAT_HOLDS);
	return 1;
}

/* Stop task (a tracepoint's trusted task: the new child). 1 if it is (or
 * already was) held. The signal is queued before the task first returns to
 * user space. */
static __always_inline int hold_task(struct task_struct *task, __u32 pid, __u32 kind, __u32 tid)
{
	if (!bpf_send_signal_task) {
		stat_inc(MS_STAT_HOLD_FAILED);
		return 0;
	}
	if (!hold_note(pid, kind, tid))
		return 1;
	return hold_sent(pid, bpf_send_signal_task(task, MS_SIGSTOP, PIDTYPE_TGID, 0));
}

/* Stop the current process (a uprobe in it, or its exec). Sent as the
 * kernel's own signal: the init process of a PID namespace (a container's
 * first process) would ignore a SIGSTOP that came from inside its
 * namespace. */
static __always_inline int hold_current(__u32 pid, __u32 kind, __u32 tid)
{
	if (!hold_note(pid, kind, tid))
		return 1;
	return hold_sent(pid, bpf_send_signal(MS_SIGSTOP));
}

static long release_one(struct bpf_map *map, __u32 *pid, struct ms_hold *h, void *ctx)
{
	struct task_struct *task = bpf_task_from_pid((s32)*pid);

	if (task) {
		bpf_send_signal_task(task, MS_SIGCONT, PIDTYPE_TGID, 0);
		bpf_task_release(task);
	}
	return 0;
}

/* The tracer is exiting: no one else will continue what it holds. */
static __always_inline void hold_release_all(void)
{
	if (bpf_task_from_pid && bpf_send_signal_task && bpf_task_release)
		bpf_for_each_map_elem(&holds, release_one, NULL, 0);
}

#endif /* MS_BPF_HOLD_BPF_H */
