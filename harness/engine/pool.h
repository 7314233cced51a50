/* Cells in parallel (`vecs run --jobs N`, the fault runner): N worker processes, each
 * with a sandbox of its own, take cells from one queue; the results come back in cell
 * order whatever order they finished in.
 *
 * Process model: the caller's process is the parent; it forks `jobs` workers (also for
 * jobs 1, so a crash in a cell cannot take the run down). Each worker calls setup once
 * (its sandbox: e.g. its own `vecs stack up`), then run_cell for every cell the parent
 * hands it, then teardown. A worker dies with its parent (PR_SET_PDEATHSIG), so a
 * killed run leaves no worker behind, and whatever a worker started must stop itself
 * when that worker is gone (vecs stack does: its owner is the worker).
 *
 * Results cross a pipe: the struct as is plus its reason and evidence strings. The
 * other string fields of a result (id, operation, storage, ...) must point into memory
 * that existed before vecs_pool_run was called (the cell list): after fork it is at the
 * same address in the parent. vecs_run_cell's results are like that. */
#ifndef VECS_ENGINE_POOL_H
#define VECS_ENGINE_POOL_H

#include <stddef.h>

#include "engine/progress.h"
#include "report/report.h"
#include "util/err.h"

struct vecs_pool_ops {
	/* In worker `worker` (0-based), once, before its first cell: make its sandbox.
	 * 0, or -errno with err set (the worker then takes no cell; the run goes on with
	 * the others, and fails when none could start). */
	int (*setup)(void *ctx, unsigned worker, void **state, struct vecs_err *err);
	/* Run cell `index` in the worker's sandbox; fill *res (vecs_run_cell does). */
	void (*run_cell)(void *ctx, void *state, size_t index, struct vecs_cell_result *res);
	/* In the worker, after its last cell (also after a failed setup, state NULL). */
	void (*teardown)(void *ctx, unsigned worker, void *state);
	/* The result for a cell no worker could run (all setups failed, or its worker died
	 * while running it): fill the fixed fields; the pool sets status and reason. */
	void (*describe)(void *ctx, size_t index, struct vecs_cell_result *res);
	/* The id progress shows for cell index. */
	const char *(*cell_id)(void *ctx, size_t index);
};

/* Run cells 0..n-1 on `jobs` workers (1..VECS_PROGRESS_MAX_JOBS; more workers than
 * cells are not started). results[n] is filled in cell order (free each with
 * vecs_cell_result_free). progress may be NULL. Returns the number of workers whose
 * setup succeeded (0: nothing ran, err says why), or -errno when the pool itself could
 * not run (fork, pipe). */
int vecs_pool_run(size_t n, unsigned jobs, const struct vecs_pool_ops *ops, void *ctx,
		  struct vecs_cell_result *results, struct vecs_progress *progress,
		  struct vecs_err *err);

#endif
