#include "db/async_job_dao.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int async_job_insert(struct db *db, struct async_job_record *j, const char *cmd_info,
		     struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	if (!j->uuid[0] && (r = db_uuid_v4(j->uuid, err)) < 0)
		return r;
	r = db_prepare(db,
		       "INSERT INTO async_job (uuid, user_id, job_cmd, job_cmd_info, job_status,"
		       " instance_type, created, last_updated)"
		       " VALUES (?, ?, ?, ?, 0, ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, j->uuid, err)) == 0 &&
	    (r = db_bind_int64(st, 2, j->user_id, err)) == 0 &&
	    (r = db_bind_text(st, 3, j->cmd, err)) == 0 &&
	    (r = db_bind_text(st, 4, cmd_info, err)) == 0)
		r = db_bind_text(st, 5, j->instance_type[0] ? j->instance_type : NULL, err);
	if ((r = db_insert_finish(db, st, r, &j->id, err)) < 0)
		return r;
	j->status = ASYNC_JOB_PENDING;
	return 0;
}

int async_job_complete(struct db *db, int64_t id, int status, int result_code,
		       const char *result_json, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	r = db_prepare(db,
		       "UPDATE async_job SET job_status = ?, job_result_code = ?, job_result = ?,"
		       " last_updated = CURRENT_TIMESTAMP WHERE id = ? AND job_status = 0",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_int64(st, 1, status, err)) == 0 &&
	    (r = db_bind_int64(st, 2, result_code, err)) == 0 &&
	    (r = db_bind_text(st, 3, result_json, err)) == 0 &&
	    (r = db_bind_int64(st, 4, id, err)) == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r == 0 && db_changes(db) != 1)
		r = vecs_err_set(err, -ENOENT, "async job %lld is not pending", (long long)id);
	return r;
}

int async_job_get(struct db *db, const char *uuid, int64_t user_id,
		  struct async_job_record *out, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	memset(out, 0, sizeof(*out));
	r = db_prepare(db,
		       "SELECT id, uuid, user_id, job_cmd, job_status, job_result_code, job_result,"
		       " instance_type, created, last_updated FROM async_job"
		       " WHERE uuid = ? AND user_id = ?",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, uuid, err)) == 0 &&
	    (r = db_bind_int64(st, 2, user_id, err)) == 0)
		r = db_step(st, err);
	if (r == DB_DONE) {
		r = vecs_err_set(err, -ENOENT, "no async job has the given id");
	} else if (r == DB_ROW) {
		const char *res = db_column_text(st, 6);

		out->id = db_column_int64(st, 0);
		out->user_id = db_column_int64(st, 2);
		out->status = (int)db_column_int64(st, 4);
		out->result_code = (int)db_column_int64(st, 5);
		if ((r = db_column_copy(st, 1, out->uuid, sizeof(out->uuid), err)) == 0 &&
		    (r = db_column_copy(st, 3, out->cmd, sizeof(out->cmd), err)) == 0 &&
		    (r = db_column_copy(st, 7, out->instance_type, sizeof(out->instance_type),
					err)) == 0 &&
		    (r = db_column_copy(st, 8, out->created, sizeof(out->created), err)) == 0)
			r = db_column_copy(st, 9, out->last_updated, sizeof(out->last_updated), err);
		if (r == 0 && res && !(out->result = strdup(res)))
			r = vecs_err_set(err, -ENOMEM, "out of memory reading an async job");
	}
	db_finalize(st);
	if (r < 0)
		async_job_record_free(out);
	return r;
}

void async_job_record_free(struct async_job_record *j)
{
	free(j->result);
	j->result = NULL;
}

int async_job_fail_pending(struct db *db, const char *errortext_json, int64_t *n,
			   struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	*n = 0;
	r = db_prepare(db,
		       "UPDATE async_job SET job_status = 2, job_result_code = 530, job_result = ?,"
		       " last_updated = CURRENT_TIMESTAMP WHERE job_status = 0",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, errortext_json, err)) == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r == 0)
		*n = db_changes(db);
	return r;
}

int async_job_cmd_info(struct db *db, const char *uuid, char **out, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	*out = NULL;
	r = db_prepare(db, "SELECT job_cmd_info FROM async_job WHERE uuid = ?", &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, uuid, err)) == 0)
		r = db_step(st, err);
	if (r == DB_DONE) {
		r = vecs_err_set(err, -ENOENT, "async job %s does not exist", uuid);
	} else if (r == DB_ROW) {
		const char *t = db_column_text(st, 0);
		r = 0;
		if (t && !(*out = strdup(t)))
			r = vecs_err_set(err, -ENOMEM, "out of memory reading async job %s", uuid);
	}
	db_finalize(st);
	return r;
}
