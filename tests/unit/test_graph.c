/* test_graph.c: cycles in small graphs, each once, and the bounds. */
#include <stdio.h>
#include <string.h>

#include "sb_graph.h"
#include "tap.h"

static char found[16][64];
static int nfound;

/* Record a cycle as its node sequence, "0>1>0". */
static void record(void *ctx, const int *edges, int n)
{
	const struct sb_graph *g = ctx;
	char *p = found[nfound];
	int i;

	p += sprintf(p, "%d", g->edges[edges[0]].from);
	for (i = 0; i < n; i++)
		p += sprintf(p, ">%d", g->edges[edges[i]].to);
	if (nfound < 15)
		nfound++;
}

static int cycles(struct sb_graph *g, int max_cycles, int max_len)
{
	nfound = 0;
	return sb_graph_cycles(g, max_cycles, max_len, record, g);
}

int main(void)
{
	struct sb_graph g;
	int i;

	tap_plan(13);
	sb_graph_init(&g, 3);
	sb_graph_add(&g, 0, 1, 0);
	sb_graph_add(&g, 1, 2, 0);
	is_int(cycles(&g, 10, 10), 0, "a chain has no cycle");
	sb_graph_free(&g);

	sb_graph_init(&g, 2);
	sb_graph_add(&g, 1, 1, 7);
	is_int(cycles(&g, 10, 10), 1, "a self-loop is a cycle (self-deadlock)");
	is_str(found[0], "1>1", "of one edge");
	sb_graph_free(&g);

	sb_graph_init(&g, 4);
	sb_graph_add(&g, 2, 3, 0);
	sb_graph_add(&g, 3, 2, 0);
	sb_graph_add(&g, 0, 2, 0);
	is_int(cycles(&g, 10, 10), 1, "ABBA: one cycle, found once");
	is_str(found[0], "2>3>2", "from its lowest node");
	sb_graph_free(&g);

	sb_graph_init(&g, 5);
	for (i = 0; i < 5; i++)
		sb_graph_add(&g, i, (i + 1) % 5, i);
	is_int(cycles(&g, 10, 10), 1, "five philosophers: one cycle");
	is_str(found[0], "0>1>2>3>4>0", "of five edges, in order");
	is_int(cycles(&g, 10, 4), 0, "longer than max_len: not followed");
	sb_graph_free(&g);

	/* Two cycles through one node, as in a lock-order graph. */
	sb_graph_init(&g, 3);
	sb_graph_add(&g, 0, 1, 0);
	sb_graph_add(&g, 1, 0, 0);
	sb_graph_add(&g, 0, 2, 0);
	sb_graph_add(&g, 2, 0, 0);
	is_int(cycles(&g, 10, 10), 2, "two cycles sharing a node");
	ok(!strcmp(found[0], "0>1>0") && !strcmp(found[1], "0>2>0"),
	   "both reported");
	is_int(cycles(&g, 1, 10), 1, "max_cycles bounds the search");
	sb_graph_free(&g);

	sb_graph_init(&g, 2);
	ok(sb_graph_add(&g, 0, 5, 0) < 0, "an edge to no node is refused");
	is_int(cycles(&g, 10, 10), 0, "an empty graph has no cycle");
	sb_graph_free(&g);
	return tap_done();
}
