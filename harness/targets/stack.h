/* `vecs stack`: the whole reference deployment on this machine, as the `reference`
 * target runs it. The harness never links reference-impl code: the stack is made of
 * the reference programs (vecs-host, vecs-scaleio-gw, vecs-nfs, vecs-mgmt, vecs-agent,
 * mariadbd), started as processes.
 *
 * `up` forks a keeper process that owns the run: it records everything in
 * D/stack.ledger, starts the components as its children, writes D/stack.json (mode
 * 0600: it holds the API secret key and the database key, as the contract asks), tells
 * `up` it is ready, and then waits. `down` asks the keeper to stop everything in reverse order, and whatever is
 * left (keeper killed with -9, machine crashed) is reaped from the ledgers. */
#ifndef VECS_TARGETS_STACK_H
#define VECS_TARGETS_STACK_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "util/err.h"

struct vecs_stack_opts {
	const char *dir;
	const char *bin_dir;   /* where the reference programs are (build/bin) */
	const char *db;        /* "sqlite" (default) or "mariadb" */
	const char *kdf;       /* "fast" (default) or "production" */
	int hosts;             /* default 2 */
	int timeout_s;         /* for the whole of `up`; default 300 */
	FILE *progress;        /* one line per step, or NULL */
	pid_t owner;           /* when not 0: the stack stops itself once this process is
				* gone (a `vecs run` that started it and was killed) */
};

int vecs_stack_up(const struct vecs_stack_opts *o, struct vecs_err *err);
/* Stop and remove everything `up` made in dir; idempotent, also after a crash. */
int vecs_stack_down(const char *dir, FILE *progress, struct vecs_err *err);
/* Print the state of every recorded process and of the API (JSON with json=true).
 * Returns 0 when everything runs, 1 when something is down, <0 on error. */
int vecs_stack_status(const char *dir, bool json, FILE *out, struct vecs_err *err);

#endif
