#include "db/pool_dao.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pool_type_supports_encryption(const char *t)
{
	return !strcmp(t, POOL_NFS) || !strcmp(t, POOL_LOCAL) || !strcmp(t, POOL_SMP) ||
	       !strcmp(t, POOL_POWERFLEX);
}

const char *pool_type_agent_name(const char *t)
{
	if (!strcmp(t, POOL_NFS))
		return "nfs";
	if (!strcmp(t, POOL_LOCAL))
		return "local";
	if (!strcmp(t, POOL_SMP))
		return "smp";
	if (!strcmp(t, POOL_POWERFLEX))
		return "scaleio";
	return NULL;
}

static const char *or_null(const char *s)
{
	return s && *s ? s : NULL;
}

static int step_done(struct db_stmt *st, struct vecs_err *err)
{
	int r = db_step(st, err);

	db_finalize(st);
	return r < 0 ? r : 0;
}

static int insert_pair(struct db *db, const char *sql, int64_t id, const char *a, const char *b,
		       struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db, sql, &st, err);

	if (r < 0)
		return r;
	if ((r = db_bind_int64(st, 1, id, err)) < 0 || (r = db_bind_text(st, 2, a, err)) < 0 ||
	    (b && (r = db_bind_text(st, 3, b, err)) < 0)) {
		db_finalize(st);
		return r;
	}
	return step_done(st, err);
}

int pool_insert(struct db *db, struct pool_record *p, struct vecs_err *err)
{
	struct db_stmt *st;
	char tags[sizeof(p->tags)], *save = NULL, *tok;
	int r;

	if (!p->uuid[0] && (r = db_uuid_v4(p->uuid, err)) < 0)
		return r;
	if ((r = db_begin(db, err)) < 0)
		return r;
	r = db_prepare(db,
		       "INSERT INTO storage_pool (uuid, name, pool_type, path, host_address, port,"
		       " data_center_id, scope, host_id, storage_provider_name, status,"
		       " capacity_bytes, used_bytes, created)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'Up', ?, 0, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r < 0)
		goto fail;
	if ((r = db_bind_text(st, 1, p->uuid, err)) < 0 ||
	    (r = db_bind_text(st, 2, p->name, err)) < 0 ||
	    (r = db_bind_text(st, 3, p->pool_type, err)) < 0 ||
	    (r = db_bind_text(st, 4, p->path, err)) < 0 ||
	    (r = db_bind_text(st, 5, p->host_address, err)) < 0 ||
	    (r = db_bind_int64(st, 6, p->port, err)) < 0 ||
	    (r = db_bind_int64(st, 7, p->zone_id, err)) < 0 ||
	    (r = db_bind_text(st, 8, p->scope[0] ? p->scope : "ZONE", err)) < 0 ||
	    (r = db_bind_id_or_null(st, 9, p->host_id, err)) < 0 ||
	    (r = db_bind_text(st, 10, p->provider[0] ? p->provider : "DefaultPrimary", err)) < 0 ||
	    (r = db_bind_int64(st, 11, (int64_t)p->capacity, err)) < 0) {
		db_finalize(st);
		goto fail;
	}
	if ((r = step_done(st, err)) < 0)
		goto fail;
	p->id = db_last_insert_id(db);
	snprintf(tags, sizeof(tags), "%s", p->tags);
	for (tok = strtok_r(tags, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		r = insert_pair(db, "INSERT INTO storage_pool_tags (pool_id, tag) VALUES (?, ?)", p->id,
				tok, NULL, err);
		if (r == -EEXIST)
			continue; /* "a,a" is one tag */
		if (r < 0)
			goto fail;
	}
	if (p->gateway_url[0] &&
	    (r = insert_pair(db, "INSERT INTO storage_pool_details (pool_id, name, value)"
				 " VALUES (?, 'gateway_url', ?)", p->id, p->gateway_url, NULL, err)) < 0)
		goto fail;
	if (p->system_id[0] &&
	    (r = insert_pair(db, "INSERT INTO storage_pool_details (pool_id, name, value)"
				 " VALUES (?, 'system_id', ?)", p->id, p->system_id, NULL, err)) < 0)
		goto fail;
	return db_commit(db, err);
fail:
	db_rollback(db);
	return r;
}

#define POOL_SELECT                                                                            \
	"SELECT p.id, p.uuid, p.name, p.pool_type, p.path, p.host_address, p.port,"            \
	" p.data_center_id, p.scope, p.host_id, p.storage_provider_name, p.status,"            \
	" p.capacity_bytes, p.used_bytes, p.removed IS NOT NULL, p.created, dc.uuid, dc.name," \
	" h.uuid, h.name,"                                                                     \
	" (SELECT GROUP_CONCAT(t.tag) FROM storage_pool_tags t WHERE t.pool_id = p.id),"       \
	" (SELECT d.value FROM storage_pool_details d WHERE d.pool_id = p.id"                  \
	"  AND d.name = 'gateway_url'),"                                                       \
	" (SELECT d.value FROM storage_pool_details d WHERE d.pool_id = p.id"                  \
	"  AND d.name = 'system_id')"                                                          \
	" FROM storage_pool p JOIN data_center dc ON dc.id = p.data_center_id"                 \
	" LEFT JOIN host h ON h.id = p.host_id"

static int read_pool(struct db_stmt *st, struct pool_record *p, struct vecs_err *err)
{
	int r;

	memset(p, 0, sizeof(*p));
	p->id = db_column_int64(st, 0);
	if ((r = db_column_copy(st, 1, p->uuid, sizeof(p->uuid), err)) < 0 ||
	    (r = db_column_copy(st, 2, p->name, sizeof(p->name), err)) < 0 ||
	    (r = db_column_copy(st, 3, p->pool_type, sizeof(p->pool_type), err)) < 0 ||
	    (r = db_column_copy(st, 4, p->path, sizeof(p->path), err)) < 0 ||
	    (r = db_column_copy(st, 5, p->host_address, sizeof(p->host_address), err)) < 0 ||
	    (r = db_column_copy(st, 8, p->scope, sizeof(p->scope), err)) < 0 ||
	    (r = db_column_copy(st, 10, p->provider, sizeof(p->provider), err)) < 0 ||
	    (r = db_column_copy(st, 11, p->status, sizeof(p->status), err)) < 0 ||
	    (r = db_column_copy(st, 15, p->created, sizeof(p->created), err)) < 0 ||
	    (r = db_column_copy(st, 16, p->zone_uuid, sizeof(p->zone_uuid), err)) < 0 ||
	    (r = db_column_copy(st, 17, p->zone_name, sizeof(p->zone_name), err)) < 0 ||
	    (r = db_column_copy(st, 18, p->host_uuid, sizeof(p->host_uuid), err)) < 0 ||
	    (r = db_column_copy(st, 19, p->host_name, sizeof(p->host_name), err)) < 0 ||
	    (r = db_column_copy(st, 20, p->tags, sizeof(p->tags), err)) < 0 ||
	    (r = db_column_copy(st, 21, p->gateway_url, sizeof(p->gateway_url), err)) < 0 ||
	    (r = db_column_copy(st, 22, p->system_id, sizeof(p->system_id), err)) < 0)
		return r;
	p->port = (unsigned)db_column_int64(st, 6);
	p->zone_id = db_column_int64(st, 7);
	p->host_id = db_column_id(st, 9);
	p->capacity = (uint64_t)db_column_int64(st, 12);
	p->used = (uint64_t)db_column_int64(st, 13);
	p->removed = db_column_int64(st, 14) != 0;
	return 0;
}

int pool_get(struct db *db, int64_t id, struct pool_record *out, struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db, POOL_SELECT " WHERE p.id = ?", &st, err);

	if (r < 0)
		return r;
	if ((r = db_bind_int64(st, 1, id, err)) == 0)
		r = db_step(st, err);
	if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "storage pool %lld does not exist", (long long)id);
	else if (r == DB_ROW)
		r = read_pool(st, out, err);
	db_finalize(st);
	return r;
}

int pool_list(struct db *db, const struct pool_filter *f,
	      int (*cb)(void *ctx, const struct pool_record *p), void *ctx, struct vecs_err *err)
{
	struct pool_record *p = malloc(sizeof(*p));
	struct db_stmt *st = NULL;
	int r;

	if (!p)
		return vecs_err_set(err, -ENOMEM, "out of memory listing storage pools");
	r = db_prepare(db,
		       POOL_SELECT " WHERE p.removed IS NULL AND (? IS NULL OR p.uuid = ?)"
				   " AND (? IS NULL OR p.name = ?) AND (? IS NULL OR dc.uuid = ?)"
				   " AND (? IS NULL OR p.id = ?) ORDER BY p.id",
		       &st, err);
	if (r < 0)
		goto out;
	if ((r = db_bind_text(st, 1, f->uuid, err)) < 0 || (r = db_bind_text(st, 2, f->uuid, err)) < 0 ||
	    (r = db_bind_text(st, 3, f->name, err)) < 0 || (r = db_bind_text(st, 4, f->name, err)) < 0 ||
	    (r = db_bind_text(st, 5, f->zone_uuid, err)) < 0 ||
	    (r = db_bind_text(st, 6, f->zone_uuid, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 7, f->id, err)) < 0 ||
	    (r = db_bind_id_or_null(st, 8, f->id, err)) < 0)
		goto out;
	while ((r = db_step(st, err)) == DB_ROW)
		if ((r = read_pool(st, p, err)) < 0 || (r = cb(ctx, p)) != 0)
			break;
out:
	db_finalize(st);
	free(p);
	return r == DB_ROW ? 0 : r;
}

static int tag_in(const char *tags, const char *tag, size_t n)
{
	const char *s = tags;

	while (*s) {
		size_t l = strcspn(s, ",");
		if (l == n && !strncmp(s, tag, n))
			return 1;
		s += l;
		if (*s == ',')
			s++;
	}
	return 0;
}

int pool_has_tags(const struct pool_record *p, const char *want)
{
	const char *s = want;

	while (s && *s) {
		size_t l;

		while (*s == ' ' || *s == ',')
			s++;
		l = strcspn(s, ",");
		while (l && s[l - 1] == ' ')
			l--;
		if (l && !tag_in(p->tags, s, l))
			return 0;
		s += strcspn(s, ",");
	}
	return 1;
}

/* --- templates --------------------------------------------------------------------- */

int template_insert(struct db *db, struct template_record *t, struct vecs_err *err)
{
	struct db_stmt *st;
	int r;

	if (!t->uuid[0] && (r = db_uuid_v4(t->uuid, err)) < 0)
		return r;
	if ((r = db_begin(db, err)) < 0)
		return r;
	r = db_prepare(db,
		       "INSERT INTO vm_template (uuid, name, display_text, format, url, path, size,"
		       " hypervisor_type, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
		       &st, err);
	if (r < 0)
		goto fail;
	if ((r = db_bind_text(st, 1, t->uuid, err)) < 0 ||
	    (r = db_bind_text(st, 2, t->name, err)) < 0 ||
	    (r = db_bind_text(st, 3, t->display_text, err)) < 0 ||
	    (r = db_bind_text(st, 4, t->format, err)) < 0 ||
	    (r = db_bind_text(st, 5, or_null(t->url), err)) < 0 ||
	    (r = db_bind_text(st, 6, t->path, err)) < 0 ||
	    (r = db_bind_int64(st, 7, (int64_t)t->size, err)) < 0 ||
	    (r = db_bind_text(st, 8, t->hypervisor[0] ? t->hypervisor : "KVM", err)) < 0) {
		db_finalize(st);
		goto fail;
	}
	if ((r = step_done(st, err)) < 0)
		goto fail;
	t->id = db_last_insert_id(db);
	if (t->kernel[0] &&
	    (r = insert_pair(db, "INSERT INTO vm_template_details (template_id, name, value)"
				 " VALUES (?, 'kernel', ?)", t->id, t->kernel, NULL, err)) < 0)
		goto fail;
	if (t->initrd[0] &&
	    (r = insert_pair(db, "INSERT INTO vm_template_details (template_id, name, value)"
				 " VALUES (?, 'initrd', ?)", t->id, t->initrd, NULL, err)) < 0)
		goto fail;
	if (t->cmdline[0] &&
	    (r = insert_pair(db, "INSERT INTO vm_template_details (template_id, name, value)"
				 " VALUES (?, 'cmdline', ?)", t->id, t->cmdline, NULL, err)) < 0)
		goto fail;
	return db_commit(db, err);
fail:
	db_rollback(db);
	return r;
}

#define TEMPLATE_SELECT                                                                   \
	"SELECT t.id, t.uuid, t.name, t.display_text, t.format, t.url, t.path, t.size,"   \
	" t.hypervisor_type, t.removed IS NOT NULL, t.created,"                           \
	" (SELECT d.value FROM vm_template_details d WHERE d.template_id = t.id"          \
	"  AND d.name = 'kernel'),"                                                       \
	" (SELECT d.value FROM vm_template_details d WHERE d.template_id = t.id"          \
	"  AND d.name = 'initrd'),"                                                       \
	" (SELECT d.value FROM vm_template_details d WHERE d.template_id = t.id"          \
	"  AND d.name = 'cmdline')"                                                       \
	" FROM vm_template t"

static int read_template(struct db_stmt *st, struct template_record *t, struct vecs_err *err)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->id = db_column_int64(st, 0);
	if ((r = db_column_copy(st, 1, t->uuid, sizeof(t->uuid), err)) < 0 ||
	    (r = db_column_copy(st, 2, t->name, sizeof(t->name), err)) < 0 ||
	    (r = db_column_copy(st, 3, t->display_text, sizeof(t->display_text), err)) < 0 ||
	    (r = db_column_copy(st, 4, t->format, sizeof(t->format), err)) < 0 ||
	    (r = db_column_copy(st, 5, t->url, sizeof(t->url), err)) < 0 ||
	    (r = db_column_copy(st, 6, t->path, sizeof(t->path), err)) < 0 ||
	    (r = db_column_copy(st, 8, t->hypervisor, sizeof(t->hypervisor), err)) < 0 ||
	    (r = db_column_copy(st, 10, t->created, sizeof(t->created), err)) < 0 ||
	    (r = db_column_copy(st, 11, t->kernel, sizeof(t->kernel), err)) < 0 ||
	    (r = db_column_copy(st, 12, t->initrd, sizeof(t->initrd), err)) < 0 ||
	    (r = db_column_copy(st, 13, t->cmdline, sizeof(t->cmdline), err)) < 0)
		return r;
	t->size = (uint64_t)db_column_int64(st, 7);
	t->removed = db_column_int64(st, 9) != 0;
	return 0;
}

int template_get(struct db *db, int64_t id, struct template_record *out, struct vecs_err *err)
{
	struct db_stmt *st;
	int r = db_prepare(db, TEMPLATE_SELECT " WHERE t.id = ?", &st, err);

	if (r < 0)
		return r;
	if ((r = db_bind_int64(st, 1, id, err)) == 0)
		r = db_step(st, err);
	if (r == DB_DONE)
		r = vecs_err_set(err, -ENOENT, "template %lld does not exist", (long long)id);
	else if (r == DB_ROW)
		r = read_template(st, out, err);
	db_finalize(st);
	return r;
}

int template_list(struct db *db, const char *uuid, const char *name,
		  int (*cb)(void *ctx, const struct template_record *t), void *ctx,
		  struct vecs_err *err)
{
	struct template_record *t = malloc(sizeof(*t));
	struct db_stmt *st = NULL;
	int r;

	if (!t)
		return vecs_err_set(err, -ENOMEM, "out of memory listing templates");
	r = db_prepare(db,
		       TEMPLATE_SELECT " WHERE t.removed IS NULL AND (? IS NULL OR t.uuid = ?)"
				       " AND (? IS NULL OR t.name = ?) ORDER BY t.id",
		       &st, err);
	if (r < 0)
		goto out;
	if ((r = db_bind_text(st, 1, uuid, err)) < 0 || (r = db_bind_text(st, 2, uuid, err)) < 0 ||
	    (r = db_bind_text(st, 3, name, err)) < 0 || (r = db_bind_text(st, 4, name, err)) < 0)
		goto out;
	while ((r = db_step(st, err)) == DB_ROW)
		if ((r = read_template(st, t, err)) < 0 || (r = cb(ctx, t)) != 0)
			break;
out:
	db_finalize(st);
	free(t);
	return r == DB_ROW ? 0 : r;
}
