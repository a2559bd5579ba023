/* SPDX-License-Identifier: BSD-3-Clause */
/* diff.h - `memscope-trace diff OLD.json NEW.json`: what changed between
 * two reports (totals, leak sites, variables, tasks), as text. */
#ifndef MS_CLI_DIFF_H
#define MS_CLI_DIFF_H

/* Returns the process exit code: 0, or 1 with a one-line error. */
int ms_diff_main(const char *old_path, const char *new_path);

#endif
