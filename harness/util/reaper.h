/* The reaper: removes what a ledger (util/ledger.h) records, newest first.
 *
 * Idempotent: an object already gone counts as removed, and each removal is marked
 * with a "done" record, so a reaper killed half way can simply run again. Processes
 * are stopped only by their recorded pid *and* start time; the processes of a network
 * namespace the run created (say QEMU, started by a libvirtd of the run) are found by
 * that namespace's identity, never by a name. */
#ifndef VECS_UTIL_REAPER_H
#define VECS_UTIL_REAPER_H

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"
#include "util/ledger.h"

struct vecs_reap_stats {
	unsigned removed; /* objects this reaper removed */
	unsigned gone;    /* objects that were already gone */
	unsigned failed;  /* objects it could not remove (the first error is in err) */
};

/* Remove every object of the ledger at path that has no "done" record, in reverse
 * order, appending "done" records. log (may be NULL) gets one line per object.
 * 0 when nothing failed, else the first failure's -errno. */
int vecs_reap_ledger(const char *path, FILE *log, struct vecs_reap_stats *stats,
		     struct vecs_err *err);

/* The same for the records with id >= since only: what one step of a run created
 * (ids are byte offsets; take the ledger's size before the step). */
int vecs_reap_ledger_since(const char *path, uint64_t since, FILE *log,
			   struct vecs_reap_stats *stats, struct vecs_err *err);

/* The same for the records `want(rec, arg)` selects only: the objects of one part of a
 * run that shares the run's ledger (say, the NFS server among the hosts). */
int vecs_reap_ledger_select(const char *path,
			    bool (*want)(const struct vecs_ledger_rec *rec, void *arg), void *arg,
			    FILE *log, struct vecs_reap_stats *stats, struct vecs_err *err);

/* For every "*.ledger" in dir whose run owner (pid and start time) is no longer alive:
 * reap it and, when all went well, delete the ledger file. *reaped counts those runs. */
int vecs_reap_dead_runs(const char *dir, FILE *log, unsigned *reaped, struct vecs_err *err);

/* True when the ledger's run owner is still alive (a run without owner: false). */
bool vecs_ledger_owner_alive(const struct vecs_ledger_list *list);

#endif
