/* The system under test, as the engine sees it (DESIGN.md, "One scenario, as data").
 *
 * A target is reached only through the public CloudStack API plus read-only probes of
 * its storage and database, so the same scenarios run against the reference stack
 * (`--target reference`, which starts `vecs stack up`) and against any compatible
 * deployment (`--target cloudstack --target-config F`). No target is implemented yet:
 * `vecs run` says so and exits 2 rather than pretend. This header is the contract a
 * target implements. Every function returns 0 or -errno with err set; a refusal by the
 * API is not an error of the call (it is a result, see vecs_api_result). */
#ifndef VECS_ENGINE_TARGET_H
#define VECS_ENGINE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/expand.h"
#include "engine/scenario.h"
#include "util/err.h"

/* One API parameter after template expansion. */
struct vecs_api_param {
	const char *name;
	const char *value;
};

/* What a call answered. For async calls, the final queryAsyncJobResult. */
struct vecs_api_result {
	bool ok;          /* success (jobstatus 1 for async calls) */
	int errorcode;    /* refusal: CloudStack's errorcode (431, 432, 530, ...) */
	char *errortext;  /* refusal: errortext, exactly as returned */
	char *json;       /* the response object (async: jobresult), for field checks */
	double elapsed_s;
};

/* Per-cell values the scenarios read as ${env.KEY} (engine/template.h). */
struct vecs_target_env {
	const char *(*get)(void *target, const char *key); /* NULL when not provided */
};

/* Evidence a probe or checkpoint produced: files the report links to. */
struct vecs_evidence {
	char **paths;
	size_t n;
};

struct vecs_target_ops {
	const char *name; /* "reference", "cloudstack" */

	/* Prepare a sandbox for one cell (hosts, pools of cell->storage, accounts) and
	 * tell what it has: a cell whose needs cannot be met is skipped with *skip_reason
	 * (static text) instead. */
	int (*setup)(void *target, const struct vecs_cell *cell, const char **skip_reason,
		     struct vecs_err *err);

	/* ${env.KEY} for the current cell; NULL when the target has no such value. */
	const char *(*env)(void *target, const char *key);

	/* One signed API call; async calls are polled to their end (timeout_s). */
	int (*api_call)(void *target, const char *command, const struct vecs_api_param *params,
			size_t n_params, bool async, unsigned timeout_s,
			struct vecs_api_result *res, struct vecs_err *err);

	/* A checkpoint step (write/verify canary through the guest-visible path, record
	 * or compare DB rows and volume bytes). *passed false with a reason on mismatch. */
	int (*checkpoint)(void *target, const struct vecs_step *step, const char *volume_id,
			  const char *vm_id, const char *seed, bool *passed, char **reason,
			  struct vecs_evidence *ev, struct vecs_err *err);

	/* Probe one invariant over the cell's objects (or one volume). */
	int (*invariant)(void *target, enum vecs_invariant inv, const char *volume_id,
			 bool *held, char **reason, struct vecs_evidence *ev, struct vecs_err *err);

	/* Remove everything the cell made (the ledger knows what that is). */
	int (*teardown)(void *target, const struct vecs_cell *cell, struct vecs_err *err);

	void (*free_result)(struct vecs_api_result *res);
};

#endif
