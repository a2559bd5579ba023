/* leaks.c linked statically: the allocator lives in the executable. */
#include "leaks.c"
