#include "db/user_dao.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int user_insert(struct db *db, const struct db_encryptor *enc, struct user_record *u,
		const char *secret_key, struct vecs_err *err)
{
	struct db_stmt *st = NULL;
	char *stored = NULL;
	int r;

	if (!u->uuid[0] && (r = db_uuid_v4(u->uuid, err)) < 0)
		return r;
	r = db_encrypt(enc, secret_key, strlen(secret_key), &stored, err);
	if (r < 0)
		return r;
	r = db_prepare(db,
		       "INSERT INTO user (uuid, username, api_key, secret_key, account_type, created)"
		       " VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r == 0 && (r = db_bind_text(st, 1, u->uuid, err)) == 0 &&
	    (r = db_bind_text(st, 2, u->username, err)) == 0 &&
	    (r = db_bind_text(st, 3, u->api_key, err)) == 0 &&
	    (r = db_bind_text(st, 4, stored, err)) == 0)
		r = db_bind_int64(st, 5, u->account_type, err);
	r = db_insert_finish(db, st, r, &u->id, err);
	free(stored);
	return r;
}

int user_find_by_api_key(struct db *db, const struct db_encryptor *enc, const char *api_key,
			 struct user_record *u, struct vecs_secret *secret, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	memset(u, 0, sizeof(*u));
	r = db_prepare(db,
		       "SELECT id, uuid, username, api_key, account_type, secret_key FROM user"
		       " WHERE api_key = ? AND removed IS NULL",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, api_key, err)) == 0)
		r = db_step(st, err);
	if (r == DB_DONE) {
		r = vecs_err_set(err, -ENOENT, "no user has the given api key");
	} else if (r == DB_ROW) {
		const char *stored = db_column_text(st, 5);

		u->id = db_column_int64(st, 0);
		u->account_type = (unsigned)db_column_int64(st, 4);
		if ((r = db_column_copy(st, 1, u->uuid, sizeof(u->uuid), err)) == 0 &&
		    (r = db_column_copy(st, 2, u->username, sizeof(u->username), err)) == 0)
			r = db_column_copy(st, 3, u->api_key, sizeof(u->api_key), err);
		if (r == 0 && !stored)
			r = vecs_err_set(err, -ENOENT, "user %s has no secret key", u->uuid);
		if (r == 0)
			r = db_decrypt(enc, stored, secret, err);
	}
	db_finalize(st);
	return r;
}

int user_count(struct db *db, int64_t *n, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	*n = 0;
	r = db_prepare(db, "SELECT COUNT(*) FROM user WHERE removed IS NULL", &st, err);
	if (r < 0)
		return r;
	r = db_step(st, err);
	if (r == DB_ROW) {
		*n = db_column_int64(st, 0);
		r = 0;
	}
	db_finalize(st);
	return r;
}
