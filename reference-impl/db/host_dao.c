#include "db/host_dao.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ZONE_COLUMNS "id, uuid, name, networktype, allocation_state"

static int zone_row(struct db_stmt *st, struct zone_record *z, struct vecs_err *err)
{
	int r;

	memset(z, 0, sizeof(*z));
	z->id = db_column_int64(st, 0);
	if ((r = db_column_copy(st, 1, z->uuid, sizeof(z->uuid), err)) == 0 &&
	    (r = db_column_copy(st, 2, z->name, sizeof(z->name), err)) == 0 &&
	    (r = db_column_copy(st, 3, z->networktype, sizeof(z->networktype), err)) == 0)
		r = db_column_copy(st, 4, z->allocation_state, sizeof(z->allocation_state), err);
	return r;
}

static int zone_find(struct db *db, const char *name, struct zone_record *out,
		     struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	r = db_prepare(db,
		       "SELECT " ZONE_COLUMNS " FROM data_center WHERE name = ? AND removed IS NULL"
		       " ORDER BY id LIMIT 1",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, name, err)) == 0)
		r = db_step(st, err);
	if (r == DB_ROW)
		r = zone_row(st, out, err);
	else if (r == DB_DONE)
		r = -ENOENT;
	db_finalize(st);
	return r;
}

int zone_ensure(struct db *db, const char *name, struct zone_record *out, struct vecs_err *err)
{
	struct db_stmt *st = NULL;
	char uuid[37];
	int r;

	r = db_begin(db, err);
	if (r < 0)
		return r;
	r = zone_find(db, name, out, err);
	if (r == -ENOENT) {
		r = db_uuid_v4(uuid, err);
		if (r == 0)
			r = db_prepare(db,
				       "INSERT INTO data_center (uuid, name, created)"
				       " VALUES (?, ?, CURRENT_TIMESTAMP)",
				       &st, err);
		if (r == 0 && (r = db_bind_text(st, 1, uuid, err)) == 0 &&
		    (r = db_bind_text(st, 2, name, err)) == 0)
			r = db_step(st, err);
		db_finalize(st);
		if (r == 0)
			r = zone_find(db, name, out, err);
	}
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	return db_commit(db, err);
}

int zone_list(struct db *db, const struct zone_filter *f,
	      int (*cb)(void *ctx, const struct zone_record *z), void *ctx, struct vecs_err *err)
{
	struct zone_record z;
	struct db_stmt *st;
	int r;

	r = db_prepare(db,
		       "SELECT " ZONE_COLUMNS " FROM data_center WHERE removed IS NULL"
		       " AND (? IS NULL OR uuid = ?) AND (? IS NULL OR name = ?) ORDER BY id",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, f->uuid, err)) == 0 &&
	    (r = db_bind_text(st, 2, f->uuid, err)) == 0 &&
	    (r = db_bind_text(st, 3, f->name, err)) == 0)
		r = db_bind_text(st, 4, f->name, err);
	while (r == 0 && (r = db_step(st, err)) == DB_ROW) {
		r = zone_row(st, &z, err);
		if (r == 0)
			r = cb(ctx, &z);
	}
	db_finalize(st);
	return r == DB_DONE ? 0 : r;
}

#define DETAILS_SQL "SELECT name, value FROM host_details WHERE host_id = ? ORDER BY name"

/* st: DETAILS_SQL prepared by the caller (once per listing, not once per host). */
static int host_load_details(struct db_stmt *st, struct host_record *h, struct vecs_err *err)
{
	int r;

	h->n_details = 0;
	r = db_reset(st, err);
	if (r == 0)
		r = db_bind_int64(st, 1, h->id, err);
	while (r == 0 && (r = db_step(st, err)) == DB_ROW) {
		struct host_detail *d;

		if (h->n_details == HOST_MAX_DETAILS) {
			r = vecs_err_set(err, -E2BIG, "host %s has more than %d details", h->uuid,
					 HOST_MAX_DETAILS);
			break;
		}
		d = &h->details[h->n_details++];
		if ((r = db_column_copy(st, 0, d->name, sizeof(d->name), err)) == 0)
			r = db_column_copy(st, 1, d->value, sizeof(d->value), err);
	}
	return r == DB_DONE ? 0 : r;
}

#define HOST_SELECT                                                                     \
	"SELECT host.id, host.uuid, host.name, host.type, host.status, host.resource_state," \
	" host.private_ip_address, host.hypervisor_type, host.data_center_id,"          \
	" data_center.uuid, data_center.name, host.created"                            \
	" FROM host JOIN data_center ON host.data_center_id = data_center.id"           \
	" WHERE host.removed IS NULL"

static int host_row(struct db_stmt *details, struct db_stmt *st, struct host_record *h,
		    struct vecs_err *err)
{
	int r;

	memset(h, 0, sizeof(*h));
	h->id = db_column_int64(st, 0);
	h->zone_id = db_column_int64(st, 8);
	if ((r = db_column_copy(st, 1, h->uuid, sizeof(h->uuid), err)) == 0 &&
	    (r = db_column_copy(st, 2, h->name, sizeof(h->name), err)) == 0 &&
	    (r = db_column_copy(st, 3, h->type, sizeof(h->type), err)) == 0 &&
	    (r = db_column_copy(st, 4, h->status, sizeof(h->status), err)) == 0 &&
	    (r = db_column_copy(st, 5, h->resource_state, sizeof(h->resource_state), err)) == 0 &&
	    (r = db_column_copy(st, 6, h->ip, sizeof(h->ip), err)) == 0 &&
	    (r = db_column_copy(st, 7, h->hypervisor, sizeof(h->hypervisor), err)) == 0 &&
	    (r = db_column_copy(st, 9, h->zone_uuid, sizeof(h->zone_uuid), err)) == 0 &&
	    (r = db_column_copy(st, 10, h->zone_name, sizeof(h->zone_name), err)) == 0)
		r = db_column_copy(st, 11, h->created, sizeof(h->created), err);
	if (r == 0)
		r = host_load_details(details, h, err);
	return r;
}

int host_list(struct db *db, const struct host_filter *f,
	      int (*cb)(void *ctx, const struct host_record *h), void *ctx, struct vecs_err *err)
{
	struct db_stmt *st, *details = NULL;
	struct host_record *h;
	int r;

	h = malloc(sizeof(*h));
	if (!h)
		return vecs_err_set(err, -ENOMEM, "out of memory listing hosts");
	r = db_prepare(db, DETAILS_SQL, &details, err);
	if (r == 0)
		r = db_prepare(db,
		       HOST_SELECT " AND (? IS NULL OR host.uuid = ?) AND (? IS NULL OR host.name = ?)"
				   " AND (? IS NULL OR data_center.uuid = ?)"
				   " AND (? IS NULL OR host.type = ?) ORDER BY host.id",
		       &st, err);
	if (r < 0) {
		db_finalize(details);
		free(h);
		return r;
	}
	const char *v[4] = { f->uuid, f->name, f->zone_uuid, f->type };
	for (int i = 0; i < 4 && r == 0; i++)
		if ((r = db_bind_text(st, 2 * i + 1, v[i], err)) == 0)
			r = db_bind_text(st, 2 * i + 2, v[i], err);
	while (r == 0 && (r = db_step(st, err)) == DB_ROW) {
		r = host_row(details, st, h, err);
		if (r == 0)
			r = cb(ctx, h);
	}
	db_finalize(st);
	db_finalize(details);
	free(h);
	return r == DB_DONE ? 0 : r;
}

int host_get_by_uuid(struct db *db, const char *uuid, struct host_record *out,
		     struct vecs_err *err)
{
	struct db_stmt *st, *details;
	int r;

	r = db_prepare(db, DETAILS_SQL, &details, err);
	if (r < 0)
		return r;
	r = db_prepare(db, HOST_SELECT " AND host.uuid = ?", &st, err);
	if (r < 0) {
		db_finalize(details);
		return r;
	}
	if ((r = db_bind_text(st, 1, uuid, err)) == 0)
		r = db_step(st, err);
	if (r == DB_ROW)
		r = host_row(details, st, out, err);
	else if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "no host has the given uuid");
	db_finalize(st);
	db_finalize(details);
	return r;
}

static int host_upsert_row(struct db *db, struct host_record *h, struct vecs_err *err)
{
	struct db_stmt *st = NULL;
	int r;

	r = db_prepare(db, "SELECT id, uuid FROM host WHERE name = ? AND removed IS NULL", &st,
		       err);
	if (r == 0 && (r = db_bind_text(st, 1, h->name, err)) == 0)
		r = db_step(st, err);
	if (r == DB_ROW) {
		h->id = db_column_int64(st, 0);
		r = db_column_copy(st, 1, h->uuid, sizeof(h->uuid), err);
		db_finalize(st);
		if (r < 0)
			return r;
		r = db_prepare(db,
			       "UPDATE host SET type = ?, status = 'Up', private_ip_address = ?,"
			       " hypervisor_type = ?, data_center_id = ? WHERE id = ?",
			       &st, err);
		if (r == 0 && (r = db_bind_text(st, 1, h->type[0] ? h->type : "Routing", err)) == 0 &&
		    (r = db_bind_text(st, 2, h->ip[0] ? h->ip : NULL, err)) == 0 &&
		    (r = db_bind_text(st, 3, h->hypervisor[0] ? h->hypervisor : "KVM", err)) == 0 &&
		    (r = db_bind_int64(st, 4, h->zone_id, err)) == 0 &&
		    (r = db_bind_int64(st, 5, h->id, err)) == 0)
			r = db_step(st, err);
		db_finalize(st);
		return r;
	}
	db_finalize(st);
	st = NULL;
	if (r < 0)
		return r;
	if (!h->uuid[0] && (r = db_uuid_v4(h->uuid, err)) < 0)
		return r;
	r = db_prepare(db,
		       "INSERT INTO host (uuid, name, type, status, resource_state,"
		       " private_ip_address, hypervisor_type, data_center_id, created)"
		       " VALUES (?, ?, ?, 'Up', 'Enabled', ?, ?, ?, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r == 0 && (r = db_bind_text(st, 1, h->uuid, err)) == 0 &&
	    (r = db_bind_text(st, 2, h->name, err)) == 0 &&
	    (r = db_bind_text(st, 3, h->type[0] ? h->type : "Routing", err)) == 0 &&
	    (r = db_bind_text(st, 4, h->ip[0] ? h->ip : NULL, err)) == 0 &&
	    (r = db_bind_text(st, 5, h->hypervisor[0] ? h->hypervisor : "KVM", err)) == 0 &&
	    (r = db_bind_int64(st, 6, h->zone_id, err)) == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r == 0)
		h->id = db_last_insert_id(db);
	return r;
}

int host_register(struct db *db, struct host_record *h, struct vecs_err *err)
{
	struct db_stmt *st = NULL;
	int r;

	if (h->n_details > HOST_MAX_DETAILS)
		return vecs_err_set(err, -E2BIG, "host %s has more than %d details", h->name,
				    HOST_MAX_DETAILS);
	r = db_begin(db, err);
	if (r < 0)
		return r;
	r = host_upsert_row(db, h, err);
	if (r == 0)
		r = db_prepare(db, "DELETE FROM host_details WHERE host_id = ?", &st, err);
	if (r == 0 && (r = db_bind_int64(st, 1, h->id, err)) == 0)
		r = db_step(st, err);
	db_finalize(st);
	st = NULL;
	if (r == 0)
		r = db_prepare(db, "INSERT INTO host_details (host_id, name, value) VALUES (?, ?, ?)",
			       &st, err);
	for (unsigned i = 0; r == 0 && i < h->n_details; i++) {
		if ((r = db_reset(st, err)) == 0 && (r = db_bind_int64(st, 1, h->id, err)) == 0 &&
		    (r = db_bind_text(st, 2, h->details[i].name, err)) == 0 &&
		    (r = db_bind_text(st, 3, h->details[i].value, err)) == 0)
			r = db_step(st, err);
	}
	db_finalize(st);
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	return db_commit(db, err);
}

int host_change_resource_state(struct db *db, int64_t id, const char *from, const char *to,
			       struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	r = db_prepare(db,
		       "UPDATE host SET resource_state = ? WHERE id = ? AND resource_state = ?"
		       " AND removed IS NULL",
		       &st, err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, to, err)) == 0 && (r = db_bind_int64(st, 2, id, err)) == 0 &&
	    (r = db_bind_text(st, 3, from, err)) == 0)
		r = db_step(st, err);
	db_finalize(st);
	if (r == 0 && db_changes(db) == 0)
		r = vecs_err_set(err, -EAGAIN, "host %lld is not in resource state %s",
				 (long long)id, from);
	return r;
}

int host_set_status(struct db *db, const char *name, const char *status,
		    struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	r = db_prepare(db, "UPDATE host SET status = ? WHERE name = ? AND removed IS NULL", &st,
		       err);
	if (r < 0)
		return r;
	if ((r = db_bind_text(st, 1, status, err)) == 0 && (r = db_bind_text(st, 2, name, err)) == 0)
		r = db_step(st, err);
	db_finalize(st);
	/* no changes() check: MariaDB counts a row already in that status as unchanged */
	return r;
}
