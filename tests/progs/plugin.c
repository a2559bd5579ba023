/* SPDX-License-Identifier: BSD-3-Clause */
/* plugin.c - a shared library with memscope probes, dlopen()ed by
 * lifecycle after the tracer attached (built as .output/tests/libplugin.so). */
#include <stdlib.h>
#include "memscope.h"

void plugin_run(void)
{
	MEMSCOPE_SCOPE("plugin");
	char *plugin_buf = malloc(64);

	TRACK_VAR(plugin_buf);
	free(plugin_buf);
}
