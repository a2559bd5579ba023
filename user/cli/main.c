/* SPDX-License-Identifier: BSD-3-Clause */
/* main.c - memscope-trace's command line (argp) and nothing else. */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/diff.h"
#include "trace/trace.h"

const char *argp_program_version = "memscope-trace 0.1";
const char *argp_program_bug_address = "<https://github.com/memscope/memscope/issues>";

static const char doc[] =
	"Trace memory of a C/C++ program from outside it: TRACK_VAR, scopes and tasks "
	"(memscope.h USDT probes) and the allocator (uprobes), rebuilt in this process.\v"
	"  memscope-trace -p PID            attach to a running process\n"
	"  memscope-trace [OPTION...] -- CMD [ARG...]   start CMD, traced from its first instruction\n"
	"  memscope-trace diff OLD.json NEW.json        compare two reports\n"
	"  memscope-trace leak-check [OPTION...] PID    classify what a running process holds, now\n"
	"Stops when the target exits, after --duration, or on SIGINT/SIGTERM/SIGHUP; always writes its report.";

enum { OPT_STACK = 1000, OPT_NO_ALLOC, OPT_RING, OPT_MAX_LIVE, OPT_KEEP, OPT_SNAP, OPT_HTML,
       OPT_FOLDED, OPT_FOLDED_ALLOC, OPT_TIMELINE, OPT_WITH_PROBES, OPT_PPROF, OPT_METRICS,
       OPT_METRICS_TOP, OPT_BUDGET, OPT_UNWIND, OPT_UNWIND_MB,
       OPT_NO_DEBUGINFOD, OPT_DEBUGINFOD_CACHE, OPT_LEAK_CHECK, OPT_NO_LEAK_CHECK,
       OPT_LEAK_TIMEOUT, OPT_NO_HOLD };

/* --budget when none is given: attached to a running process (production),
 * tracing may cost it at most this share of its CPU; a command started by
 * memscope-trace (a developer's run) is traced in full. */
#define MS_DEFAULT_BUDGET_PID 5.0

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Attach to running process PID", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (may be fractional)", 0 },
	{ "output", 'o', "FILE", 0, "Write the JSON report to FILE (default: text summary on stdout)", 0 },
	{ "html", OPT_HTML, "FILE", 0, "Write a self-contained HTML dashboard to FILE", 0 },
	{ "folded", OPT_FOLDED, "FILE", 0, "Write folded stacks of live bytes (flame graphs) to FILE", 0 },
	{ "folded-alloc", OPT_FOLDED_ALLOC, "FILE", 0, "Write folded stacks of allocated bytes to FILE", 0 },
	{ "timeline", OPT_TIMELINE, "FILE", 0, "Write a Chrome trace-event timeline (Perfetto) to FILE", 0 },
	{ "pprof", OPT_PPROF, "FILE", 0, "Write a gzip'ed pprof heap profile (profile.proto) to FILE", 0 },
	{ "metrics", OPT_METRICS, "ADDR:PORT", 0, "Serve Prometheus metrics at http://ADDR:PORT/metrics while tracing", 0 },
	{ "metrics-top", OPT_METRICS_TOP, "N", 0, "Series per site, task and variable family besides \"other\" (default 10)", 0 },
	{ "mode", 'm', "MODE", 0, "full (default), fast, light or sampled", 0 },
	{ "stack-depth", OPT_STACK, "N", 0, "User stack frames per allocation site (0-127, default 16; with --unwind fp, 1 for an executable built without frame pointers)", 0 },
	{ "unwind", OPT_UNWIND, "HOW", 0, "How stacks are walked: dwarf (default: the programs' call frame information, frame pointers where there is none) or fp (frame pointers only, the kernel's walk)", 0 },
	{ "unwind-tables", OPT_UNWIND_MB, "MIB", 0, "Memory for DWARF unwind tables in BPF, in MiB (default 8: ~0.9 million rows; a file that does not fit is counted and walked by frame pointer)", 0 },
	{ "no-debuginfod", OPT_NO_DEBUGINFOD, NULL, 0, "Never fetch debug information from the debuginfod servers DEBUGINFOD_URLS names", 0 },
	{ "debuginfod-cache", OPT_DEBUGINFOD_CACHE, "DIR", 0, "Keep what debuginfod fetches in DIR (default: $DEBUGINFOD_CACHE_PATH, else ~/.cache/debuginfod_client)", 0 },
	{ "no-alloc", OPT_NO_ALLOC, NULL, 0, "Do not trace the allocator", 0 },
	{ "with-probes", OPT_WITH_PROBES, NULL, 0, "Sampled mode: also trace the program's TRACK_VAR, scope and task probes, so samples carry names, scopes and tasks (a trap per probe hit)", 0 },
	{ "budget", OPT_BUDGET, "PCT", 0, "Keep what tracing costs the target under PCT% of its CPU: above it, no stacks, then the allocator probes on part of the time, then light (default with -p: 5; with -- CMD: none; 'none' turns it off)", 0 },
	{ "ring-size", OPT_RING, "MIB", 0, "Ring buffer size in MiB, a power of two (default 16)", 0 },
	{ "max-live", OPT_MAX_LIVE, "N", 0, "Live blocks BPF keeps (fast, sampled, light) or hints at (full) (default 1048576)", 0 },
	{ "keep", OPT_KEEP, "N", 0, "Ended variables/scopes/tasks kept one by one (default 100000); older ones fold into aggregates", 0 },
	{ "snapshot-interval", OPT_SNAP, "SECONDS", 0, "Snapshot live memory every SECONDS; the report lists what grows steadily", 0 },
	{ "interval", 'i', "SECONDS", 0, "Print a live top-like summary every SECONDS (stderr)", 0 },
	{ "leak-check", OPT_LEAK_CHECK, NULL, 0, "When the trace stops before the target exits (-p, -d, a signal): hold it, and classify what is live as memcheck does (still reachable, possibly, indirectly, definitely lost)", 0 },
	{ "no-leak-check", OPT_NO_LEAK_CHECK, NULL, 0, "Do not hold the target at its exit to classify its leaks (no ptrace)", 0 },
	{ "leak-check-timeout", OPT_LEAK_TIMEOUT, "SECONDS", 0, "Hold the target at most SECONDS for a leak check, then release it unscanned (default 10)", 0 },
	{ "follow", 'f', NULL, 0, "Trace forked children too, from their first instruction", 0 },
	{ "no-hold", OPT_NO_HOLD, NULL, 0, "Never stop the target or a child while probes are attached (a fork, exec or dlopen is then traced from a few ms later)", 0 },
	{ "verbose", 'v', NULL, 0, "Say what is attached where", 0 },
	{ 0 },
};

/* Strict number parsing: the whole string, in range. */
static int parse_ul(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static void bad(const char *flag, const char *val, const char *want)
{
	fprintf(stderr, "memscope-trace: invalid %s '%s': %s\n", flag, val, want);
	exit(2);
}

/* What parse_opt fills, and where argp's second line after a getopt error
 * ("Try `memscope-trace --help'...") goes: nowhere. Bad input gets one
 * line, getopt's own, which names the flag. */
struct cli {
	struct ms_opts o;
	FILE *quiet;
};

static error_t parse_opt(int key, char *arg, struct argp_state *st)
{
	struct cli *c = st->input;
	struct ms_opts *o = &c->o;
	unsigned long v;
	char *end;

	switch (key) {
	case ARGP_KEY_INIT:
		if (c->quiet)
			st->err_stream = c->quiet;
		break;
	case 'p':
		if (parse_ul(arg, 1, INT_MAX, &v))
			bad("PID", arg, "expected a positive process id");
		o->pid = (pid_t)v;
		break;
	case 'd':
		errno = 0;
		o->duration = strtod(arg, &end);
		if (errno || *end || end == arg || !(o->duration > 0) || o->duration > 1e7)
			bad("--duration", arg, "expected seconds > 0");
		break;
	case 'o':
		if (!*arg)
			bad("--output", arg, "expected a file path");
		o->output = arg;
		break;
	case OPT_HTML:
	case OPT_FOLDED:
	case OPT_FOLDED_ALLOC:
	case OPT_TIMELINE:
		if (!*arg)
			bad(key == OPT_HTML ? "--html" : key == OPT_TIMELINE ? "--timeline" : "--folded", arg,
			    "expected a file path");
		if (key == OPT_HTML)
			o->html = arg;
		else if (key == OPT_FOLDED)
			o->folded = arg;
		else if (key == OPT_FOLDED_ALLOC)
			o->folded_alloc = arg;
		else
			o->timeline = arg;
		break;
	case OPT_PPROF:
		if (!*arg)
			bad("--pprof", arg, "expected a file path");
		o->pprof = arg;
		break;
	case OPT_METRICS:
		if (!strrchr(arg, ':') || strrchr(arg, ':') == arg ||
		    parse_ul(strrchr(arg, ':') + 1, 0, 65535, &v))
			bad("--metrics", arg, "expected ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464");
		o->metrics = arg;
		break;
	case OPT_METRICS_TOP:
		if (parse_ul(arg, 1, 1000, &v))
			bad("--metrics-top", arg, "expected 1 to 1000");
		o->metrics_top = (unsigned)v;
		break;
	case 'm':
		if (!strcmp(arg, "full"))
			o->mode = MS_MODE_FULL;
		else if (!strcmp(arg, "fast"))
			o->mode = MS_MODE_FAST;
		else if (!strcmp(arg, "light"))
			o->mode = MS_MODE_LIGHT;
		else if (!strcmp(arg, "sampled"))
			o->mode = MS_MODE_SAMPLED;
		else
			bad("--mode", arg, "expected full, fast, light or sampled");
		break;
	case OPT_STACK:
		if (parse_ul(arg, 0, 127, &v))
			bad("--stack-depth", arg, "expected 0 to 127");
		o->stack_depth = (int)v;
		break;
	case OPT_UNWIND:
		if (!strcmp(arg, "dwarf"))
			o->unwind_fp = 0;
		else if (!strcmp(arg, "fp"))
			o->unwind_fp = 1;
		else
			bad("--unwind", arg, "expected dwarf or fp");
		break;
	case OPT_UNWIND_MB:
		if (parse_ul(arg, 1, 1024, &v))
			bad("--unwind-tables", arg, "expected 1 to 1024 (MiB)");
		o->unwind_mb = (unsigned)v;
		break;
	case OPT_NO_DEBUGINFOD:
		o->no_debuginfod = 1;
		break;
	case OPT_DEBUGINFOD_CACHE: {
		struct stat sb;

		if (!*arg)
			bad("--debuginfod-cache", arg, "expected a directory");
		if (stat(arg, &sb) == 0 && !S_ISDIR(sb.st_mode))
			bad("--debuginfod-cache", arg, "not a directory");
		o->debuginfod_cache = arg;
		break;
	}
	case OPT_NO_ALLOC:
		o->no_alloc = 1;
		break;
	case OPT_WITH_PROBES:
		o->with_probes = 1;
		break;
	case OPT_NO_HOLD:
		o->no_hold = 1;
		break;
	case OPT_BUDGET:
		if (!strcmp(arg, "none")) {
			o->budget = 0;
		} else {
			errno = 0;
			o->budget = strtod(arg, &end);
			if (errno || *end || end == arg || !(o->budget > 0) || o->budget > 1e6)
				bad("--budget", arg, "expected a percentage > 0, or none");
		}
		break;
	case OPT_RING:
		if (parse_ul(arg, 1, 1024, &v) || (v & (v - 1)))
			bad("--ring-size", arg, "expected a power of two from 1 to 1024 (MiB)");
		o->ring_mb = (unsigned)v;
		break;
	case OPT_MAX_LIVE:
		if (parse_ul(arg, 1, 1ul << 26, &v))
			bad("--max-live", arg, "expected 1 to 67108864");
		o->max_live = (uint32_t)v;
		break;
	case 'i':
		errno = 0;
		o->interval = strtod(arg, &end);
		if (errno || *end || end == arg || !(o->interval >= 0.05) || o->interval > 1e6)
			bad("--interval", arg, "expected seconds >= 0.05");
		break;
	case OPT_SNAP:
		errno = 0;
		o->snapshot_interval = strtod(arg, &end);
		if (errno || *end || end == arg || !(o->snapshot_interval >= 0.01) || o->snapshot_interval > 1e6)
			bad("--snapshot-interval", arg, "expected seconds >= 0.01");
		break;
	case OPT_KEEP:
		if (parse_ul(arg, 1, 1ul << 30, &v))
			bad("--keep", arg, "expected 1 to 1073741824");
		o->keep = (size_t)v;
		break;
	case OPT_LEAK_CHECK:
		o->leak_check = 1;
		break;
	case OPT_NO_LEAK_CHECK:
		o->no_leak_check = 1;
		break;
	case OPT_LEAK_TIMEOUT:
		errno = 0;
		o->leak_timeout = strtod(arg, &end);
		if (errno || *end || end == arg || !(o->leak_timeout >= 0.001) || o->leak_timeout > 3600)
			bad("--leak-check-timeout", arg, "expected seconds from 0.001 to 3600");
		break;
	case 'f':
		o->follow = 1;
		break;
	case 'v':
		o->verbose = 1;
		break;
	case ARGP_KEY_ARG:
		/* Everything after "--" (or the first operand) is the command. */
		o->cmd = &st->argv[st->next - 1];
		st->next = st->argc;
		break;
	case ARGP_KEY_END:
		if (!o->pid && !o->cmd) {
			fprintf(stderr, "memscope-trace: nothing to trace: give -p PID or -- CMD [ARGS]\n");
			exit(2);
		}
		if (o->pid && o->cmd) {
			fprintf(stderr, "memscope-trace: give either -p PID or -- CMD, not both\n");
			exit(2);
		}
		if (o->budget < 0) /* not given */
			o->budget = o->pid ? MS_DEFAULT_BUDGET_PID : 0;
		if (o->leak_check && o->no_leak_check) {
			fprintf(stderr, "memscope-trace: give either --leak-check or --no-leak-check, not both\n");
			exit(2);
		}
		if (o->leak_check && (o->mode == MS_MODE_LIGHT || o->mode == MS_MODE_SAMPLED || o->no_alloc)) {
			fprintf(stderr, "memscope-trace: --leak-check needs the allocator traced: --mode full or fast, without --no-alloc\n");
			exit(2);
		}
		if (o->with_probes && o->mode != MS_MODE_SAMPLED) {
			fprintf(stderr, "memscope-trace: --with-probes applies to --mode sampled only (the other modes always trace the probes)\n");
			exit(2);
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* `memscope-trace leak-check [OPTION...] PID`: the options of the
 * reports and the hold, parsed as the trace's are; one operand, the PID. */
static const char lc_doc[] =
	"Hold running process PID a moment, walk glibc's heap, and classify every block it holds "
	"as valgrind's memcheck does (definitely, indirectly, possibly lost, still reachable); "
	"no trace before it, no BPF. Needs libc's debug info (libc6-dbg, or debuginfod).";

static const struct argp_option lc_options[] = {
	{ "output", 'o', "FILE", 0, "Write the JSON report to FILE (default: text summary on stdout)", 0 },
	{ "html", OPT_HTML, "FILE", 0, "Write a self-contained HTML dashboard to FILE", 0 },
	{ "pprof", OPT_PPROF, "FILE", 0, "Write a gzip'ed pprof heap profile (profile.proto) to FILE", 0 },
	{ "leak-check-timeout", OPT_LEAK_TIMEOUT, "SECONDS", 0, "Hold the target at most SECONDS, then release it unscanned (default 10)", 0 },
	{ "no-debuginfod", OPT_NO_DEBUGINFOD, NULL, 0, "Never fetch libc's debug information from the debuginfod servers DEBUGINFOD_URLS names", 0 },
	{ "debuginfod-cache", OPT_DEBUGINFOD_CACHE, "DIR", 0, "Keep what debuginfod fetches in DIR", 0 },
	{ "verbose", 'v', NULL, 0, "Say what the walk found", 0 },
	{ 0 },
};

static error_t parse_lc_opt(int key, char *arg, struct argp_state *st)
{
	struct cli *c = st->input;
	unsigned long v;

	switch (key) {
	case ARGP_KEY_ARG:
		if (c->o.pid) {
			fprintf(stderr, "memscope-trace: leak-check takes one PID, not also '%s'\n", arg);
			exit(2);
		}
		if (parse_ul(arg, 1, INT_MAX, &v))
			bad("PID", arg, "expected a positive process id");
		c->o.pid = (pid_t)v;
		return 0;
	case ARGP_KEY_END:
		if (!c->o.pid) {
			fprintf(stderr, "memscope-trace: leak-check needs a PID: memscope-trace leak-check PID\n");
			exit(2);
		}
		return 0;
	case ARGP_KEY_INIT:
	case 'o': case OPT_HTML: case OPT_PPROF: case OPT_LEAK_TIMEOUT: case OPT_NO_DEBUGINFOD:
	case OPT_DEBUGINFOD_CACHE: case 'v':
		return parse_opt(key, arg, st);
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* Test-only settings (README: "Test-only settings"), from the
 * environment; refused when malformed, like a flag. */
static void test_settings(struct ms_opts *o)
{
	const char *v = getenv("MEMSCOPE_TEST_THREAD_SLOTS");
	unsigned long n;

	if (v) {
		if (parse_ul(v, 1, 1ul << 20, &n) || (n & (n - 1)))
			bad("MEMSCOPE_TEST_THREAD_SLOTS", v,
			    "expected a power of two from 1 to 1048576 (a test-only setting)");
		o->test_thread_slots = (uint32_t)n;
	}
	v = getenv("MEMSCOPE_TEST_VAR_SLOTS");
	if (v) {
		if (parse_ul(v, 0, 65536, &n) || (n & (n - 1)))
			bad("MEMSCOPE_TEST_VAR_SLOTS", v,
			    "expected 0 or a power of two up to 65536 (a test-only setting)");
		o->test_var_slots = (int32_t)n;
	}
}

int main(int argc, char **argv)
{
	struct cli c = {
		.o = {
			.mode = MS_MODE_FULL,
			.stack_depth = -1, /* not given: 16, or 1 for code without frame pointers */
			.ring_mb = 16,
			.max_live = 1u << 20,
			.metrics_top = 10,
			.budget = -1,
			.test_var_slots = -1,
			.unwind_mb = 8,
			.leak_timeout = 10,
		},
	};
	struct argp argp = { options, parse_opt, "[-- CMD [ARG...]]", doc, NULL, NULL, NULL };
	struct argp lc_argp = { lc_options, parse_lc_opt, "PID", lc_doc, NULL, NULL, NULL };
	int rc, leak_check = argc >= 2 && !strcmp(argv[1], "leak-check");

	if (argc >= 2 && !strcmp(argv[1], "diff")) {
		if (argc != 4) {
			fprintf(stderr, "memscope-trace: diff needs two reports: memscope-trace diff OLD.json NEW.json\n");
			return 2;
		}
		return ms_diff_main(argv[2], argv[3]);
	}
	argp_err_exit_status = 2;
	/* getopt names the program by argv[0] in its messages */
	argv[0] = (char *)"memscope-trace";
	c.quiet = fopen("/dev/null", "w");
	if (leak_check) {
		argv[1] = (char *)"memscope-trace leak-check";
		rc = argp_parse(&lc_argp, argc - 1, argv + 1, 0, NULL, &c);
	} else {
		rc = argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, &c);
	}
	if (c.quiet)
		fclose(c.quiet);
	if (rc)
		return 2;
	test_settings(&c.o);
	/* Debug information the system lacks comes from the debuginfod
	 * servers the user named (libdwfl asks them through libdebuginfod),
	 * unless told not to; a server that does not answer costs at most
	 * DEBUGINFOD_TIMEOUT per file, 10 s unless the user says otherwise
	 * (libdebuginfod's own default is 90 s), and a file it lacks is
	 * remembered in the cache. */
	if (c.o.no_debuginfod) {
		unsetenv("DEBUGINFOD_URLS");
	} else {
		setenv("DEBUGINFOD_TIMEOUT", "10", 0);
		if (c.o.debuginfod_cache)
			setenv("DEBUGINFOD_CACHE_PATH", c.o.debuginfod_cache, 1);
	}
	return leak_check ? ms_heapcheck_run(&c.o) : ms_trace_run(&c.o);
}
