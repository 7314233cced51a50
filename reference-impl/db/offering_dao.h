/* Rows of `disk_offering` and `service_offering`. A service offering has no
 * encryption column of its own: encrypt_root is read from service_offering_view,
 * which joins its disk offering's `encrypt` (as CloudStack's view does). */
#ifndef VECS_REF_DB_OFFERING_DAO_H
#define VECS_REF_DB_OFFERING_DAO_H

#include <stdint.h>

#include "db/db.h"

struct disk_offering_record {
	int64_t id;
	char uuid[41];
	char name[256];
	char display_text[4097];
	uint64_t disk_size; /* bytes; 0 for a custom size */
	int encrypt;
	int compute_only; /* the root disk of a service offering: not listed */
	int removed;
	char created[32]; /* "YYYY-MM-DD HH:MM:SS" UTC, as stored */
	char tags[1024];       /* storage tags, comma-separated (version 3) */
	int use_local_storage; /* storagetype=local (version 3) */
};

struct service_offering_record {
	int64_t id;
	char uuid[41];
	char name[256];
	unsigned cpu;
	unsigned ram_size; /* MiB */
	int64_t disk_offering_id;
	int encrypt_root; /* read only: from the disk offering */
	int removed;
	char display_text[4097];
	unsigned speed;                  /* MHz */
	char created[32];                /* read only */
	char disk_offering_uuid[41];     /* read only */
};

/* Filters of the list calls; a NULL string or a negative int means "any". Removed
 * rows are never listed. */
struct disk_offering_filter {
	const char *uuid;
	const char *name;
	int encrypt;
};

struct service_offering_filter {
	const char *uuid;
	const char *name;
	int encrypt_root;
};

/* Called once per row, in id order; a nonzero return stops the listing and is
 * returned. */
typedef int (*disk_offering_cb)(void *ctx, const struct disk_offering_record *o);
typedef int (*service_offering_cb)(void *ctx, const struct service_offering_record *o);

/* Fill id, and uuid when empty. */
int disk_offering_insert(struct db *db, struct disk_offering_record *o, struct vecs_err *err);
int disk_offering_get(struct db *db, int64_t id, struct disk_offering_record *out,
		      struct vecs_err *err);
/* encrypt_root is ignored on insert; -EPERM for a nonexistent disk offering. */
int service_offering_insert(struct db *db, struct service_offering_record *o,
			    struct vecs_err *err);
int service_offering_get(struct db *db, int64_t id, struct service_offering_record *out,
			 struct vecs_err *err);

/* Listed disk offerings leave out compute-only ones, as listDiskOfferings does. */
int disk_offering_list(struct db *db, const struct disk_offering_filter *f,
		       disk_offering_cb cb, void *ctx, struct vecs_err *err);
int service_offering_list(struct db *db, const struct service_offering_filter *f,
			  service_offering_cb cb, void *ctx, struct vecs_err *err);
/* Id of the live (not removed) disk offering with this uuid; -ENOENT if none. */
int disk_offering_id_by_uuid(struct db *db, const char *uuid, int64_t *id,
			     struct vecs_err *err);

#endif
