/* Rows of `user`: API users and their keys. The secret key is stored encrypted with
 * the installation key (db_encryptor.h), as CloudStack stores `user.secret_key`;
 * it is decrypted only into locked memory (struct vecs_secret) for one signature check. */
#ifndef VECS_REF_DB_USER_DAO_H
#define VECS_REF_DB_USER_DAO_H

#include <stdint.h>

#include "db/db.h"
#include "db/db_encryptor.h"
#include "util/secret.h"

struct user_record {
	int64_t id;
	char uuid[41];
	char username[256];
	char api_key[256];
	unsigned account_type; /* 1 = admin, as CloudStack's Account.Type.ADMIN */
};

/* Insert u with the given secret key (len bytes of printable ASCII), stored encrypted.
 * Fills u->id, and u->uuid when empty. A duplicate api_key is -EEXIST. */
int user_insert(struct db *db, const struct db_encryptor *enc, struct user_record *u,
		const char *secret_key, struct vecs_err *err);
/* The live user whose api_key is exactly api_key, with its decrypted secret key in
 * *secret (released by the caller). -ENOENT when there is none. */
int user_find_by_api_key(struct db *db, const struct db_encryptor *enc, const char *api_key,
			 struct user_record *u, struct vecs_secret *secret, struct vecs_err *err);
/* Number of live users. */
int user_count(struct db *db, int64_t *n, struct vecs_err *err);

#endif
