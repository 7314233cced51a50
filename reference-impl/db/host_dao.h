/* Rows of `data_center` (zones), `host` and `host_details`.
 *
 * host_register is the one way a host enters the database: the static host list of
 * vecs-mgmt (--hosts) calls it today, and the agent channel will call it when an agent
 * connects and reports its capabilities (it upserts by name, so a reconnecting agent
 * updates its row and details instead of adding one). */
#ifndef VECS_REF_DB_HOST_DAO_H
#define VECS_REF_DB_HOST_DAO_H

#include <stdint.h>

#include "db/db.h"

/* The detail the KVM agent reports, "true" or "false" (CLOUDSTACK.md, listHosts). */
#define HOST_DETAIL_VOLUME_ENCRYPTION "host.volume.encryption"
#define HOST_MAX_DETAILS 32

struct zone_record {
	int64_t id;
	char uuid[41];
	char name[256];
	char networktype[33];
	char allocation_state[33];
};

struct host_detail {
	char name[256];
	char value[256];
};

struct host_record {
	int64_t id;
	char uuid[41];
	char name[256];
	char type[33];           /* Routing */
	char status[33];         /* Up, Disconnected */
	char resource_state[33]; /* Enabled, PrepareForMaintenance, Maintenance */
	char ip[41];
	char hypervisor[33];     /* KVM */
	int64_t zone_id;
	char zone_uuid[41];      /* read only */
	char zone_name[256];     /* read only */
	char created[32];        /* read only */
	unsigned n_details;
	struct host_detail details[HOST_MAX_DETAILS];
};

struct host_filter {
	const char *uuid;
	const char *name;
	const char *zone_uuid;
	const char *type;
};

struct zone_filter {
	const char *uuid;
	const char *name;
};

/* The live zone called name, created when missing. */
int zone_ensure(struct db *db, const char *name, struct zone_record *out, struct vecs_err *err);
/* 0 or a negative errno from the callback, which stops the listing. */
int zone_list(struct db *db, const struct zone_filter *f,
	      int (*cb)(void *ctx, const struct zone_record *z), void *ctx, struct vecs_err *err);

/* Insert or update (by name) the host h in zone h->zone_id: type, status Up, ip,
 * hypervisor, and its details replaced by h->details, in one transaction. Fills h->id
 * and h->uuid (kept across re-registrations). */
int host_register(struct db *db, struct host_record *h, struct vecs_err *err);
int host_list(struct db *db, const struct host_filter *f,
	      int (*cb)(void *ctx, const struct host_record *h), void *ctx, struct vecs_err *err);
/* The live host with this uuid, details included; -ENOENT if none. */
int host_get_by_uuid(struct db *db, const char *uuid, struct host_record *out,
		     struct vecs_err *err);
/* Set resource_state to `to` if it is currently `from`; -EAGAIN when it is not. */
int host_change_resource_state(struct db *db, int64_t id, const char *from, const char *to,
			       struct vecs_err *err);
/* Set the status (Up, Disconnected) of the live host called name (none: no change).
 * The agent channel calls it when an agent's connection ends (host_register sets Up). */
int host_set_status(struct db *db, const char *name, const char *status,
		    struct vecs_err *err);

#endif
