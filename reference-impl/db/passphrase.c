#include "db/passphrase.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/base64.h"

_Static_assert(PASSPHRASE_LEN == (PASSPHRASE_RAW_LEN / 3) * 4,
	       "48 bytes encode to 64 base64 characters without padding");

int passphrase_generate(char out[PASSPHRASE_BUF_LEN], struct vecs_err *err)
{
	unsigned char raw[PASSPHRASE_RAW_LEN];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			explicit_bzero(raw, sizeof(raw));
			return vecs_err_set(err, -errno,
					    "getrandom failed while making a volume passphrase: %s",
					    strerror(errno));
		}
		got += (size_t)n;
	}
	b64_encode(raw, sizeof(raw), out);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

int passphrase_check_format(const char *p, size_t len, struct vecs_err *err)
{
	unsigned char raw[PASSPHRASE_LEN];
	size_t n = 0;
	int ok = len == PASSPHRASE_LEN;

	for (size_t i = 0; ok && i < len; i++)
		ok = b64_is_alphabet(p[i]);
	ok = ok && b64_decode(p, len, raw, &n) == 0 && n == PASSPHRASE_RAW_LEN;
	explicit_bzero(raw, sizeof(raw));
	if (!ok)
		return vecs_err_set(err, -EBADMSG,
				    "a stored volume passphrase is not 64 base64 characters of 48 "
				    "bytes (%zu bytes decrypted); the database key is wrong or the "
				    "row was altered",
				    len);
	return 0;
}

/* SELECT one nullable id column of one volume; -ENOENT when there is no such row.
 * *id is 0 for NULL. */
static int volume_ref(struct db *db, const char *sql, int64_t volume_id, int64_t *id,
		      struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	*id = 0;
	r = db_prepare(db, sql, &st, err);
	if (r < 0)
		return r;
	r = db_bind_int64(st, 1, volume_id, err);
	if (r == 0)
		r = db_step(st, err);
	if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "volume %lld does not exist or was removed",
				 (long long)volume_id);
	else if (r == DB_ROW) {
		*id = db_column_id(st, 0);
		r = 0;
	}
	db_finalize(st);
	return r;
}

/* Run a statement whose parameters are all int64. */
static int run(struct db *db, const char *sql, int n, const int64_t *args, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	r = db_prepare(db, sql, &st, err);
	if (r < 0)
		return r;
	for (int i = 0; r == 0 && i < n; i++)
		r = db_bind_int64(st, i + 1, args[i], err);
	if (r == 0)
		r = db_step(st, err);
	db_finalize(st);
	return r < 0 ? r : 0;
}

int passphrase_create_for_volume(struct db *db, const struct db_encryptor *enc,
				 int64_t volume_id, int64_t *passphrase_id, struct vecs_err *err)
{
	char plain[PASSPHRASE_BUF_LEN];
	char *stored = NULL;
	struct db_stmt *st = NULL;
	int64_t existing = 0, id = 0;
	int r;

	*passphrase_id = 0;
	r = db_begin(db, err);
	if (r < 0)
		return r;
	r = volume_ref(db, "SELECT passphrase_id FROM volumes WHERE id = ? AND removed IS NULL",
		       volume_id, &existing, err);
	if (r < 0)
		goto fail;
	if (existing) {
		*passphrase_id = existing;
		return db_commit(db, err);
	}
	r = passphrase_generate(plain, err);
	if (r == 0)
		r = db_encrypt(enc, plain, PASSPHRASE_LEN, &stored, err);
	explicit_bzero(plain, sizeof(plain));
	if (r < 0)
		goto fail;
	r = db_prepare(db, "INSERT INTO passphrase (passphrase) VALUES (?)", &st, err);
	if (r == 0)
		r = db_bind_text(st, 1, stored, err);
	if (r == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r < 0)
		goto fail;
	id = db_last_insert_id(db);
	{
		const int64_t args[] = { id, volume_id };
		r = run(db, "UPDATE volumes SET passphrase_id = ? WHERE id = ?", 2, args, err);
	}
	if (r < 0)
		goto fail;
	r = db_commit(db, err);
	if (r == 0)
		*passphrase_id = id;
	free(stored);
	return r;
fail:
	free(stored);
	db_rollback(db);
	return r;
}

int passphrase_fetch(struct db *db, const struct db_encryptor *enc, int64_t passphrase_id,
		     char out[PASSPHRASE_BUF_LEN], struct vecs_err *err)
{
	struct vecs_secret plain = { 0 };
	struct db_stmt *st;
	int r;

	explicit_bzero(out, PASSPHRASE_BUF_LEN);
	r = db_prepare(db, "SELECT passphrase FROM passphrase WHERE id = ?", &st, err);
	if (r < 0)
		return r;
	r = db_bind_int64(st, 1, passphrase_id, err);
	if (r == 0)
		r = db_step(st, err);
	if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "passphrase %lld does not exist",
				 (long long)passphrase_id);
	else if (r == DB_ROW && db_column_is_null(st, 0))
		r = vecs_err_set(err, -ENODATA, "passphrase %lld has no stored value",
				 (long long)passphrase_id);
	else if (r == DB_ROW)
		r = db_decrypt(enc, db_column_text(st, 0), &plain, err);
	db_finalize(st);
	if (r == 0)
		r = passphrase_check_format((const char *)plain.data, plain.len, err);
	if (r == 0)
		memcpy(out, plain.data, PASSPHRASE_BUF_LEN); /* 64 characters and the NUL */
	vecs_secret_release(&plain);
	return r;
}

int passphrase_fetch_for_volume(struct db *db, const struct db_encryptor *enc,
				int64_t volume_id, char out[PASSPHRASE_BUF_LEN],
				struct vecs_err *err)
{
	int64_t id = 0;
	int r;

	explicit_bzero(out, PASSPHRASE_BUF_LEN);
	r = volume_ref(db, "SELECT passphrase_id FROM volumes WHERE id = ?", volume_id, &id, err);
	if (r < 0)
		return r;
	if (!id)
		return vecs_err_set(err, -ENODATA, "volume %lld has no passphrase (not encrypted)",
				    (long long)volume_id);
	return passphrase_fetch(db, enc, id, out, err);
}

int passphrase_release_for_volume(struct db *db, int64_t volume_id, int *deleted,
				  struct vecs_err *err)
{
	int64_t id = 0;
	int r;

	if (deleted)
		*deleted = 0;
	r = db_begin(db, err);
	if (r < 0)
		return r;
	r = volume_ref(db, "SELECT passphrase_id FROM volumes WHERE id = ?", volume_id, &id, err);
	if (r < 0 || !id)
		goto done;
	{
		const int64_t args[] = { volume_id };
		r = run(db, "UPDATE volumes SET passphrase_id = NULL WHERE id = ?", 1, args, err);
	}
	if (r < 0)
		goto done;
	{
		/* One statement, so the "no one else uses it" test and the delete cannot be
		 * separated by a concurrent writer; the foreign key is the last guard. */
		const int64_t args[] = { id, id };
		r = run(db,
			"DELETE FROM passphrase WHERE id = ? AND NOT EXISTS"
			" (SELECT 1 FROM volumes WHERE passphrase_id = ?)",
			2, args, err);
	}
	if (r == 0 && deleted)
		*deleted = db_changes(db) > 0;
done:
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	return db_commit(db, err);
}

int passphrase_copy_reference(struct db *db, int64_t src_volume_id, int64_t dst_volume_id,
			      struct vecs_err *err)
{
	char format[65] = "";
	struct db_stmt *st = NULL;
	int64_t src = 0, dst = 0;
	int r;

	r = db_begin(db, err);
	if (r < 0)
		return r;
	r = db_prepare(db, "SELECT passphrase_id, encrypt_format FROM volumes WHERE id = ?", &st,
		       err);
	if (r == 0)
		r = db_bind_int64(st, 1, src_volume_id, err);
	if (r == 0)
		r = db_step(st, err);
	if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "source volume %lld does not exist",
				 (long long)src_volume_id);
	else if (r == DB_ROW) {
		src = db_column_id(st, 0);
		r = db_column_copy(st, 1, format, sizeof(format), err);
	}
	db_finalize(st);
	st = NULL;
	if (r < 0)
		goto fail;
	r = volume_ref(db, "SELECT passphrase_id FROM volumes WHERE id = ?", dst_volume_id, &dst,
		       err);
	if (r < 0)
		goto fail;
	if (dst && dst != src) {
		r = vecs_err_set(err, -EEXIST,
				 "destination volume %lld already has passphrase %lld; release it "
				 "before copying passphrase %lld from volume %lld",
				 (long long)dst_volume_id, (long long)dst, (long long)src,
				 (long long)src_volume_id);
		goto fail;
	}
	r = db_prepare(db, "UPDATE volumes SET passphrase_id = ?, encrypt_format = ? WHERE id = ?",
		       &st, err);
	if (r == 0)
		r = db_bind_id_or_null(st, 1, src, err);
	if (r == 0)
		r = db_bind_text(st, 2, format[0] ? format : NULL, err);
	if (r == 0)
		r = db_bind_int64(st, 3, dst_volume_id, err);
	if (r == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r < 0)
		goto fail;
	return db_commit(db, err);
fail:
	db_rollback(db);
	return r;
}
