/* `vecs run --faults`: the fault cells (catalog.h x storage types, crash sweeps per
 * point) and their execution against the reference target.
 *
 * A fault cell runs its fault scenario (scenarios/faults/<base>.yaml) through the
 * engine's runner (engine/runner.h) with hooks: before the catalog's `at` step the
 * fault is armed; after it the step is judged by the fault's expectation, the fault is
 * disarmed, the stack recovered (services that died are started again, corrupted bytes
 * restored), and a failed step is retried once with nothing armed. The scenario's
 * invariants then run after every step as in the matrix. Each cell leaves an evidence
 * file: the fault, its rules, whether and where it fired, what the step did, what was
 * recovered, and the command that reproduces it.
 *
 * Faults reach into the stack (its control socket, the I/O shim's rules file, the
 * volumes' bytes), so they run against the reference target only. */
#ifndef VECS_FAULTS_FAULT_RUN_H
#define VECS_FAULTS_FAULT_RUN_H

#include <stdio.h>

#include "engine/expand.h"
#include "engine/runner.h"
#include "faults/catalog.h"
#include "report/report.h"
#include "targets/reference.h"

struct vecs_fault_cells {
	struct vecs_cell *cells;
	const struct vecs_fault **faults; /* per cell */
	unsigned *points;                 /* per cell: sweep point, 0 when not a sweep */
	char (*names)[96];                /* per cell: "<fault>[@N]", the report's operation */
	size_t n;
	size_t n_expanded;                /* before --storage, --only and --shard */
	struct vecs_scenario *bases;      /* scenarios/faults/ *.yaml */
	size_t n_bases;
};

/* Load DIR/faults/ *.yaml and expand the catalog over storage types (where each fault
 * applies) and sweep points, with o's filters and seeds. The profile is o's first, or
 * set's default. */
int vecs_fault_cells_build(const char *scenarios_dir, const struct vecs_scenario_set *set,
			   const struct vecs_expand_opts *o, struct vecs_fault_cells *out,
			   struct vecs_err *err);
void vecs_fault_cells_free(struct vecs_fault_cells *fc);

struct vecs_fault_runner;

int vecs_fault_runner_new(struct vecs_fault_runner **out, struct vecs_reference *t,
			  const char *run_seed, const char *work_dir, FILE *progress,
			  struct vecs_err *err);
/* Stops what the runner preloaded or changed for its faults, back to plain services. */
void vecs_fault_runner_free(struct vecs_fault_runner *fr);

/* Run cell i. res->outcome gets what the fault did and what was recovered;
 * res->evidence includes the cell's fault evidence file. */
void vecs_fault_run_cell(struct vecs_fault_runner *fr, const struct vecs_fault_cells *fc,
			 size_t i, const struct vecs_runner_opts *o, struct vecs_cell_result *res);

#endif
