/* Async jobs: the worker pool behind CloudStack's async commands. A command inserts an
 * `async_job` row (pending) and submits it here; a worker borrows a database connection,
 * runs the job function and records the outcome in the row, where queryAsyncJobResult
 * reads it. Jobs left pending by a stopped server are failed at the next start
 * (async_job_fail_pending), since their work is lost. */
#ifndef VECS_REF_MGMT_JOBS_H
#define VECS_REF_MGMT_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "mgmt/mgmt.h"
#include "util/json_writer.h"

/* A job's outcome: on success the members of `jobresult` written into result (inside
 * its object) and 0; on failure a negative value with *errcode (CloudStack's 431, 530,
 * ...) and errortext set. */
typedef int (*job_fn)(struct mgmt *m, struct db *db, const char *target_uuid,
		      struct json_writer *result, int *errcode, char *errortext, size_t errlen);

int jobs_start(struct job_runner **out, struct mgmt *m, unsigned nthreads,
	       struct vecs_err *err);
/* Queue job_id (a pending async_job row) to run fn on target_uuid. -ESHUTDOWN once
 * stopping. */
int jobs_submit(struct job_runner *jr, int64_t job_id, job_fn fn, const char *target_uuid,
		struct vecs_err *err);
/* Wait until the queue is empty (tests). */
void jobs_drain(struct job_runner *jr);
/* Finish the jobs being run, leave queued ones pending, join the workers. */
void jobs_stop(struct job_runner *jr);

#endif
