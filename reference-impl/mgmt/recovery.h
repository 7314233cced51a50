/* Start-up reconciliation after a crash or kill -9 (RECOVERY.md has the rules). */
#ifndef VECS_REF_MGMT_RECOVERY_H
#define VECS_REF_MGMT_RECOVERY_H

#include <stdint.h>

#include "mgmt/mgmt.h"

struct recovery {
	struct mgmt *m;
	int64_t deadline_ms; /* CLOCK_MONOTONIC: how long to wait for agents */
	int volumes, vms, snapshots;
	int64_t passphrases, jobs;
	int left; /* objects that could not be reconciled now (logged; next start) */
};

/* Reconcile every object left in a transitional state, delete unreferenced passphrase
 * rows, then fail the pending jobs (530). Waits up to wait_ms for the agents it needs
 * to reconnect. Call after the agent channel starts and before jobs and HTTP. */
int mgmt_recover(struct mgmt *m, unsigned wait_ms, struct recovery *rc, struct vecs_err *err);

#endif
