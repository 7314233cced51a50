/* The engine's executor: runs cells against a target (engine/target.h), step by step,
 * checking each step's expectation and the scenario's invariants after every step, and
 * fills one report cell result per cell. Target-agnostic: everything it knows of the
 * system under test comes through the target's API calls and probes. */
#ifndef VECS_ENGINE_RUNNER_H
#define VECS_ENGINE_RUNNER_H

#include <stdbool.h>
#include <stdio.h>

#include "engine/expand.h"
#include "engine/target.h"
#include "report/report.h"

/* Hooks around each step, for the fault runner (harness/faults): it arms a fault before
 * the step it targets and judges, disarms and recovers after it. `run` is the runner's
 * state of the cell, for vecs_runner_expand. */
struct vecs_runner_hooks {
	void *ctx;
	/* Before step st. A returned reason (malloc'ed) fails the cell. */
	char *(*before_step)(void *ctx, void *run, const struct vecs_step *st);
	/* After step st ran (before the invariants). why is the step's failure (malloc'ed,
	 * the hook's to keep or free) or NULL; the hook returns the step's final verdict,
	 * and may set *retry to have the runner run st once more (then judged normally). */
	char *(*after_step)(void *ctx, void *run, const struct vecs_step *st, char *why,
			    bool *retry);
};

struct vecs_runner_opts {
	const char *run_id;
	unsigned default_timeout_s; /* async calls without their own timeout */
	bool strict;                /* a skip counts as a failure */
	FILE *progress;             /* one line per cell (and per step with verbose), or NULL */
	bool verbose;
	const struct vecs_runner_hooks *hooks; /* or NULL */
};

/* Run one cell; fills *res (strings malloc'ed, freed by vecs_cell_result_free). */
void vecs_run_cell(const struct vecs_cell *cell, const struct vecs_target_ops *ops, void *target,
		   const struct vecs_runner_opts *o, struct vecs_cell_result *res);
void vecs_cell_result_free(struct vecs_cell_result *res);
/* The fixed fields of cell's result (id, operation, storage, ...; pointers into cell),
 * everything else zero: a result for a cell that did not run. */
void vecs_cell_result_init(const struct vecs_cell *cell, struct vecs_cell_result *res);

/* Expand a `${...}` template with the cell's bindings so far (hooks only). */
int vecs_runner_expand(void *run, const char *tmpl, char **out, struct vecs_err *err);

/* A JSON value at path ("a.b[0].c") in json text, as the string a scenario compares
 * with: strings as is, numbers in decimal, booleans true/false, null "null", objects
 * and arrays as compact JSON. 0, or -ENOENT when the path leads nowhere. */
int vecs_json_path_string(const char *json, const char *path, char **out);

#endif
