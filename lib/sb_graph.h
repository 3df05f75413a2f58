/* sb_graph.h: a directed graph with labelled edges, and its cycles. */
#ifndef SB_GRAPH_H
#define SB_GRAPH_H

/*
 * Both halves of lockgraph are cycle searches: a wait-for graph of a hung
 * process (thread -> thread, labelled by the lock), and a lock-order graph
 * recorded from a normal run (lock -> lock, labelled by where).
 */
struct sb_graph_edge {
	int from, to;
	int label; /* the caller's: a lock, a call site */
};

struct sb_graph {
	int nnodes;
	struct sb_graph_edge *edges;
	int nedges, cap;
};

/* An empty graph of n nodes; 0 or -ENOMEM.  Free with sb_graph_free. */
int sb_graph_init(struct sb_graph *g, int nnodes);

/* Add an edge; 0, -EINVAL for a node out of range, -ENOMEM. */
int sb_graph_add(struct sb_graph *g, int from, int to, int label);

/*
 * Call fn for every elementary cycle (self-loops included), as the list
 * of its edge indices in order, each cycle once (starting at its lowest
 * node).  At most max_cycles cycles of at most max_len edges: the search
 * is bounded whatever the graph.  Returns the number reported.
 */
int sb_graph_cycles(const struct sb_graph *g, int max_cycles, int max_len,
		    void (*fn)(void *ctx, const int *edges, int n), void *ctx);

void sb_graph_free(struct sb_graph *g);

#endif
