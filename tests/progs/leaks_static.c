/* SPDX-License-Identifier: BSD-3-Clause */
/* leaks.c linked statically: the allocator lives in the executable. */
#include "leaks.c"
