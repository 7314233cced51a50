/* Rows of `async_job`: what queryAsyncJobResult reports. job_status follows CloudStack:
 * 0 pending, 1 succeeded, 2 failed; job_result is the JSON object given back as
 * `jobresult` (the command's response object, or {errorcode, errortext}). */
#ifndef VECS_REF_DB_ASYNC_JOB_DAO_H
#define VECS_REF_DB_ASYNC_JOB_DAO_H

#include <stdint.h>

#include "db/db.h"

#define ASYNC_JOB_PENDING 0
#define ASYNC_JOB_SUCCEEDED 1
#define ASYNC_JOB_FAILED 2

struct async_job_record {
	int64_t id;
	char uuid[41];
	int64_t user_id;
	char cmd[256];
	int status;
	int result_code;
	char *result;            /* malloc'ed JSON text or NULL; async_job_record_free */
	char instance_type[65];
	char instance_uuid[41];  /* the uuid the command acted on, if any */
	char created[32];
	char last_updated[32];
};

/* Insert a pending job; fills j->id, and j->uuid when empty. cmd_info is a description
 * of the call kept for the record (no credentials, no signature). */
int async_job_insert(struct db *db, struct async_job_record *j, const char *cmd_info,
		     struct vecs_err *err);
/* Record the outcome of a pending job (status SUCCEEDED or FAILED). */
int async_job_complete(struct db *db, int64_t id, int status, int result_code,
		       const char *result_json, struct vecs_err *err);
/* The job with this uuid owned by user_id; -ENOENT otherwise. */
int async_job_get(struct db *db, const char *uuid, int64_t user_id,
		  struct async_job_record *out, struct vecs_err *err);
/* The cmd_info text a job was inserted with (malloc'ed into *out; NULL when none);
 * -ENOENT when there is no job with this uuid. Jobs read their parameters from it. */
int async_job_cmd_info(struct db *db, const char *uuid, char **out, struct vecs_err *err);
void async_job_record_free(struct async_job_record *j);
/* Fail every job still pending (a restarted server has lost their workers): they get
 * result_code 530 and errortext; *n says how many. */
int async_job_fail_pending(struct db *db, const char *errortext_json, int64_t *n,
			   struct vecs_err *err);

#endif
