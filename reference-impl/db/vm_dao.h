/* Rows of `vm_instance`, `snapshots` and `snapshot_policy`. */
#ifndef VECS_REF_DB_VM_DAO_H
#define VECS_REF_DB_VM_DAO_H

#include <stdint.h>

#include "db/db.h"

struct vm_record {
	int64_t id;
	char uuid[41];
	char name[256];
	char instance_name[64]; /* i-<account>-<id>-VM, the libvirt domain name */
	char display_name[256];
	char state[33];         /* Starting, Running, Stopping, Stopped, Migrating,
				   Destroyed, Expunging, Error */
	int64_t host_id;
	int64_t last_host_id;
	int64_t zone_id;
	int64_t service_offering_id;
	int64_t template_id;
	int removed;
	char created[32];       /* read only */
};

struct vm_filter {
	const char *uuid;
	const char *name;
	const char *state;
	int64_t host_id;
};

/* Insert with instance_name computed from the new id (i-2-<id>-VM, account 2 being
 * CloudStack's admin); fills id, uuid and instance_name. */
int vm_insert(struct db *db, struct vm_record *v, struct vecs_err *err);
int vm_get(struct db *db, int64_t id, struct vm_record *out, struct vecs_err *err);
/* Live or destroyed (not expunged) instances; -ENOENT otherwise. */
int vm_get_by_uuid(struct db *db, const char *uuid, struct vm_record *out, struct vecs_err *err);
/* Instances not expunged, in id order. */
int vm_list(struct db *db, const struct vm_filter *f,
	    int (*cb)(void *ctx, const struct vm_record *v), void *ctx, struct vecs_err *err);
/* state `from` -> `to` (-EAGAIN when it is not `from`), host_id set (0: NULL) and,
 * when host_id changes away from a host, last_host_id remembered. */
int vm_transition(struct db *db, int64_t id, const char *from, const char *to,
		  int64_t host_id, struct vecs_err *err);
int vm_set_service_offering(struct db *db, int64_t id, int64_t offering_id,
			    struct vecs_err *err);
/* Expunged: removed set, state Expunging -> Expunged. */
int vm_mark_expunged(struct db *db, int64_t id, struct vecs_err *err);

struct snapshot_record {
	int64_t id;
	char uuid[41];
	char name[256];
	int64_t zone_id;
	int64_t volume_id;
	char status[33]; /* Creating, BackedUp, Error */
	char path[256];
	uint64_t size;
	int removed;
	char created[32];
};

int snapshot_insert(struct db *db, struct snapshot_record *s, struct vecs_err *err);
int snapshot_get_by_uuid(struct db *db, const char *uuid, struct snapshot_record *out,
			 struct vecs_err *err);
int snapshot_get(struct db *db, int64_t id, struct snapshot_record *out, struct vecs_err *err);
/* volume_id 0 and uuid NULL: all live snapshots. */
int snapshot_list(struct db *db, const char *uuid, int64_t volume_id,
		  int (*cb)(void *ctx, const struct snapshot_record *s), void *ctx,
		  struct vecs_err *err);
int snapshot_set_result(struct db *db, int64_t id, const char *status, const char *path,
			uint64_t size, struct vecs_err *err);
/* Soft delete (snapshots of a deleted or expunged volume go with it). */
int snapshot_remove(struct db *db, int64_t id, struct vecs_err *err);

struct snapshot_policy_record {
	int64_t id;
	char uuid[41];
	int64_t volume_id;
	char schedule[101];
	char timezone[101];
	int interval; /* 0 HOURLY, 1 DAILY, 2 WEEKLY, 3 MONTHLY */
	int max_snaps;
};

int snapshot_policy_insert(struct db *db, struct snapshot_policy_record *p,
			   struct vecs_err *err);

#endif
