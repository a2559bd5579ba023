/* SPDX-License-Identifier: BSD-3-Clause */
/* sampled_join.c - sampled mode joins samples with the program's own probes
 * (tests/integration/test_sampled_mode.py). Task 42 "loader" opens scope
 * "load_table", allocates an 8 MiB table (sampled with near certainty at any
 * sampling interval up to a few hundred KiB), names it with TRACK_VAR and
 * keeps it: a leak whose variable, scope and task the report can give. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memscope.h"

#define TABLE_BYTES (8u << 20)

static char *load_table(void)
{
	MEMSCOPE_SCOPE("load_table");
	char *table = malloc(TABLE_BYTES);

	if (!table)
		exit(1);
	memset(table, 1, TABLE_BYTES);
	TRACK_VAR(table);
	return table;
}

int main(void)
{
	static char *kept;

	MEMSCOPE_TASK_ENTER(42);
	MEMSCOPE_TASK_NAME(42, "loader");
	kept = load_table();
	MEMSCOPE_TASK_EXIT(42);
	printf("sampled_join done %d\n", kept[TABLE_BYTES - 1]);
	return 0;
}
