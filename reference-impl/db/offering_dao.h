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
	char display_text[256];
	uint64_t disk_size; /* bytes; 0 for a custom size */
	int encrypt;
	int removed;
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
};

/* Fill id, and uuid when empty. */
int disk_offering_insert(struct db *db, struct disk_offering_record *o, struct vecs_err *err);
int disk_offering_get(struct db *db, int64_t id, struct disk_offering_record *out,
		      struct vecs_err *err);
/* encrypt_root is ignored on insert; -EPERM for a nonexistent disk offering. */
int service_offering_insert(struct db *db, struct service_offering_record *o,
			    struct vecs_err *err);
int service_offering_get(struct db *db, int64_t id, struct service_offering_record *out,
			 struct vecs_err *err);

#endif
