/* Rows of table `volumes`. Ids of 0 stand for SQL NULL (ids start at 1). Strings are
 * bound as data, so any name (quotes, SQL keywords) is stored exactly as given. */
#ifndef VECS_REF_DB_VOLUME_DAO_H
#define VECS_REF_DB_VOLUME_DAO_H

#include <stdint.h>

#include "db/db.h"

struct volume_record {
	int64_t id;
	char uuid[41];
	char name[256];
	char volume_type[65]; /* ROOT, DATADISK */
	int64_t pool_id;
	int64_t instance_id;
	char path[256];
	char format[256]; /* QCOW2, RAW */
	uint64_t size;
	char state[33];
	int64_t disk_offering_id;
	int64_t passphrase_id;
	char encrypt_format[65]; /* "luks" once the agent has encrypted it */
	int removed;             /* removed IS NOT NULL */
};

/* Insert v; fills v->id, and v->uuid when empty. passphrase_id is stored as given (a
 * nonexistent one is refused by the foreign key: -EPERM). */
int volume_insert(struct db *db, struct volume_record *v, struct vecs_err *err);
/* -ENOENT when there is no such row (removed rows are returned, with removed set). */
int volume_get(struct db *db, int64_t id, struct volume_record *out, struct vecs_err *err);
int volume_get_by_uuid(struct db *db, const char *uuid, struct volume_record *out,
		       struct vecs_err *err);
int volume_set_state(struct db *db, int64_t id, const char *state, struct vecs_err *err);
/* From the agent's answer; NULL clears it. */
int volume_set_encrypt_format(struct db *db, int64_t id, const char *format, struct vecs_err *err);
/* Delete as CloudStack does: in one transaction, release the volume's passphrase
 * (passphrase_release_for_volume) and mark the row removed with state Expunged. */
int volume_remove(struct db *db, int64_t id, struct vecs_err *err);

#endif
