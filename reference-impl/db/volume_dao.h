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
	/* version 3 */
	int64_t zone_id;         /* data_center_id */
	int64_t device_id;       /* slot on its instance: ROOT 0, data disks 1.. */
	int has_device_id;       /* device_id IS NOT NULL */
	int64_t template_id;     /* ROOT volumes made from a template */
	char created[32];        /* read only */
};

/* listVolumes: NULL / 0 / -1 mean "any". Removed volumes are never listed. */
struct volume_filter {
	const char *uuid;
	const char *name;
	const char *type;         /* ROOT, DATADISK */
	int64_t instance_id;
	int64_t pool_id;
	int encrypted;            /* -1 any, 1 passphrase_id set, 0 not */
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
/* The live volumes matching f, in id order; a nonzero return of cb stops and is
 * returned. */
int volume_list(struct db *db, const struct volume_filter *f,
		int (*cb)(void *ctx, const struct volume_record *v), void *ctx,
		struct vecs_err *err);
/* Where the volume now lives: pool, path, format, size and state (after the agent
 * created, copied or resized it). */
int volume_set_placement(struct db *db, int64_t id, int64_t pool_id, const char *path,
			 const char *format, uint64_t size, const char *state,
			 struct vecs_err *err);
/* Attach (instance_id, device_id) or detach (instance_id 0: both NULL). */
int volume_set_instance(struct db *db, int64_t id, int64_t instance_id, int64_t device_id,
			struct vecs_err *err);
int volume_set_size(struct db *db, int64_t id, uint64_t size, struct vecs_err *err);
int volume_set_disk_offering(struct db *db, int64_t id, int64_t disk_offering_id,
			     struct vecs_err *err);
/* Set the state to `to` only if it is `from` now; -EAGAIN when it is not. */
int volume_change_state(struct db *db, int64_t id, const char *from, const char *to,
			struct vecs_err *err);

/* Delete as CloudStack does: in one transaction, release the volume's passphrase
 * (passphrase_release_for_volume) and mark the row removed with state Expunged. */
int volume_remove(struct db *db, int64_t id, struct vecs_err *err);

#endif
