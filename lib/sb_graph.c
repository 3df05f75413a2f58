/* sb_graph.c: elementary cycles by bounded depth-first search. */
#include "sb_graph.h"
#include "sb_util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int sb_graph_init(struct sb_graph *g, int nnodes)
{
	memset(g, 0, sizeof(*g));
	if (nnodes < 0)
		return -EINVAL;
	g->nnodes = nnodes;
	return 0;
}

int sb_graph_add(struct sb_graph *g, int from, int to, int label)
{
	size_t cap = (size_t)g->cap;
	int err;

	if (from < 0 || to < 0 || from >= g->nnodes || to >= g->nnodes)
		return -EINVAL;
	err = sb_vec_reserve((void **)&g->edges, &cap, (size_t)g->nedges + 1,
			     sizeof(*g->edges));
	if (err)
		return err;
	g->cap = (int)cap;
	g->edges[g->nedges++] = (struct sb_graph_edge){ from, to, label };
	return 0;
}

struct search {
	const struct sb_graph *g;
	int start, max_cycles, max_len, found;
	int *path; /* edge indices */
	bool *on_path; /* nodes */
	/* Edges by the node they leave, in the order added: node v's are
	 * by_from[first[v]] to by_from[first[v + 1] - 1]. */
	int *first, *by_from;
	void (*fn)(void *, const int *, int);
	void *ctx;
};

/* Extend the path from node v, only through nodes above the start: each
 * cycle is then found once, from its lowest node. */
static void extend(struct search *s, int v, int depth)
{
	int k;

	for (k = s->first[v]; k < s->first[v + 1] && s->found < s->max_cycles;
	     k++) {
		int e = s->by_from[k];
		const struct sb_graph_edge *ed = &s->g->edges[e];

		s->path[depth] = e;
		if (ed->to == s->start) {
			s->fn(s->ctx, s->path, depth + 1);
			s->found++;
			continue;
		}
		if (ed->to < s->start || s->on_path[ed->to] ||
		    depth + 1 >= s->max_len)
			continue;
		s->on_path[ed->to] = true;
		extend(s, ed->to, depth + 1);
		s->on_path[ed->to] = false;
	}
}

int sb_graph_cycles(const struct sb_graph *g, int max_cycles, int max_len,
		    void (*fn)(void *ctx, const int *edges, int n), void *ctx)
{
	struct search s = { .g = g,
			    .max_cycles = max_cycles,
			    .max_len = max_len,
			    .fn = fn,
			    .ctx = ctx };

	int e, v;

	if (max_len <= 0 || max_cycles <= 0 || g->nnodes == 0)
		return 0;
	s.path = calloc((size_t)max_len, sizeof(*s.path));
	s.on_path = calloc((size_t)g->nnodes, sizeof(*s.on_path));
	s.first = calloc((size_t)g->nnodes + 2, sizeof(*s.first));
	s.by_from = calloc((size_t)g->nedges + 1, sizeof(*s.by_from));
	if (!s.path || !s.on_path || !s.first || !s.by_from) {
		free(s.path);
		free(s.on_path);
		free(s.first);
		free(s.by_from);
		return 0;
	}
	/* Each node's edges at hand, not a walk over all edges per step:
	 * a thousand threads waiting on one lock made that quadratic.
	 * Counted into first[v + 2], summed, then placed in order. */
	for (e = 0; e < g->nedges; e++)
		s.first[g->edges[e].from + 2]++;
	for (v = 2; v <= g->nnodes + 1; v++)
		s.first[v] += s.first[v - 1];
	for (e = 0; e < g->nedges; e++)
		s.by_from[s.first[g->edges[e].from + 1]++] = e;
	for (s.start = 0; s.start < g->nnodes && s.found < max_cycles;
	     s.start++) {
		s.on_path[s.start] = true;
		extend(&s, s.start, 0);
		s.on_path[s.start] = false;
	}
	free(s.path);
	free(s.on_path);
	free(s.first);
	free(s.by_from);
	return s.found;
}

void sb_graph_free(struct sb_graph *g)
{
	free(g->edges);
	memset(g, 0, sizeof(*g));
}
