/* bump-malloc.c: an allocator in front of glibc's, as jemalloc or tcmalloc
 * would be, for leakwatch's test: a bump allocator that never frees. */
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

static char *next, *end;

void *malloc(size_t n)
{
	char *p;

	n = (n + 31) & ~(size_t)15;
	if (!next || (size_t)(end - next) < n) {
		size_t len = n > (64 << 20) ? n : (64 << 20);

		next = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (next == MAP_FAILED)
			return next = NULL;
		end = next + len;
	}
	p = next;
	next += n;
	*(size_t *)p = n - 16;
	return p + 16;
}

void free(void *p)
{
	(void)p;
}

void *calloc(size_t a, size_t b)
{
	void *p = malloc(a * b);

	if (p)
		memset(p, 0, a * b);
	return p;
}

void *realloc(void *o, size_t n)
{
	void *p = malloc(n);
	size_t old = o ? *(size_t *)((char *)o - 16) : 0;

	if (p && o)
		memcpy(p, o, old < n ? old : n);
	return p;
}
