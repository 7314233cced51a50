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

struct vecs_runner_opts {
	const char *run_id;
	unsigned default_timeout_s; /* async calls without their own timeout */
	bool strict;                /* a skip counts as a failure */
	FILE *progress;             /* one line per cell (and per step with verbose), or NULL */
	bool verbose;
};

/* Run one cell; fills *res (strings malloc'ed, freed by vecs_cell_result_free). */
void vecs_run_cell(const struct vecs_cell *cell, const struct vecs_target_ops *ops, void *target,
		   const struct vecs_runner_opts *o, struct vecs_cell_result *res);
void vecs_cell_result_free(struct vecs_cell_result *res);

/* A JSON value at path ("a.b[0].c") in json text, as the string a scenario compares
 * with: strings as is, numbers in decimal, booleans true/false, null "null", objects
 * and arrays as compact JSON. 0, or -ENOENT when the path leads nowhere. */
int vecs_json_path_string(const char *json, const char *path, char **out);

#endif
