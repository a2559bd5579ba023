/* SPDX-License-Identifier: BSD-3-Clause */
// cxx_alloc.cpp - C++ new/delete in all common forms; leaks one `Node`
// (new, 24 bytes) and one int[50] (new[], 200 bytes); frees 3 blocks
// (delete, delete[], delete of a nothrow new). The pointers pass through
// volatile ones: the compiler may otherwise drop a new/delete pair.
#include <cstdio>
#include <new>
#include "memscope.h"

struct Node {
	long a, b, c;
};

int main()
{
	Node *kept = new Node();
	int *arr = new int[50];
	Node *volatile gone = new Node();
	double *volatile many = new double[100];
	Node *volatile nt = new (std::nothrow) Node();
	TRACK_VAR(kept);
	delete gone;
	delete[] many;
	delete nt;
	std::printf("cxx done %ld %d\n", kept->a, arr[0]);
	return 0;
}
