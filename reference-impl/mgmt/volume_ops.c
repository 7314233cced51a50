#include "mgmt/volume_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/passphrase.h"
#include "mgmt/agent_channel.h"
#include "mgmt/crashpoint.h"
#include "mgmt/powerflex_client.h"

struct host_by_id {
	int64_t id;
	int found;
	struct host_record *out;
};

static int host_by_id_cb(void *ctx, const struct host_record *h)
{
	struct host_by_id *k = ctx;

	if (h->id == k->id) {
		*k->out = *h;
		k->found = 1;
	}
	return 0;
}

int volume_ops_host(struct db *db, int64_t host_id, struct host_record *out,
		    struct vecs_err *err)
{
	struct host_filter f = { 0 };
	struct host_by_id k = { .id = host_id, .out = out };
	int r = host_list(db, &f, host_by_id_cb, &k, err);

	if (r < 0)
		return r;
	return k.found ? 0 : vecs_err_set(err, -ENOENT, "host %lld does not exist", (long long)host_id);
}

struct so_find {
	int found;
	struct service_offering_record *out;
};

static int so_cb(void *ctx, const struct service_offering_record *o)
{
	struct so_find *k = ctx;

	*k->out = *o;
	k->found = 1;
	return 0;
}

int volume_ops_service_offering(struct db *db, const char *uuid,
				struct service_offering_record *out, struct vecs_err *err)
{
	struct service_offering_filter f = { .uuid = uuid, .encrypt_root = -1 };
	struct so_find k = { .out = out };
	int r = service_offering_list(db, &f, so_cb, &k, err);

	if (r < 0)
		return r;
	return k.found ? 0 : vecs_err_set(err, -ENOENT, "service offering %s does not exist", uuid);
}

struct t_find {
	int found;
	struct template_record *out;
};

static int t_cb(void *ctx, const struct template_record *t)
{
	struct t_find *k = ctx;

	*k->out = *t;
	k->found = 1;
	return 0;
}

int volume_ops_template(struct db *db, const char *uuid, struct template_record *out,
			struct vecs_err *err)
{
	struct t_find k = { .out = out };
	int r = template_list(db, uuid, NULL, t_cb, &k, err);

	if (r < 0)
		return r;
	return k.found ? 0 : vecs_err_set(err, -ENOENT, "template %s does not exist", uuid);
}

struct pool_by_uuid {
	int found;
	struct pool_record *out;
};

static int pool_cb(void *ctx, const struct pool_record *p)
{
	struct pool_by_uuid *k = ctx;

	*k->out = *p;
	k->found = 1;
	return 0;
}

int volume_ops_pool_by_uuid(struct db *db, const char *uuid, struct pool_record *out,
			    struct vecs_err *err)
{
	struct pool_filter f = { .uuid = uuid };
	struct pool_by_uuid k = { .out = out };
	int r = pool_list(db, &f, pool_cb, &k, err);

	if (r < 0)
		return r;
	return k.found ? 0 : vecs_err_set(err, -ENOENT, "storage pool %s does not exist", uuid);
}

/* errortext from err for failures before or around the agent call */
static int failed(int r, int *errcode, char *errortext, size_t errlen, const char *what,
		  const struct volume_record *v, const struct vecs_err *err)
{
	*errcode = API_ERR_INTERNAL;
	if (r == -ENODEV)
		snprintf(errortext, errlen, NO_ENCRYPTION_ENDPOINT_TEXT);
	else if (!errortext[0])
		snprintf(errortext, errlen, "Failed to %s volume %s: %s", what, v->name, err->msg);
	return r;
}

struct endpoint {
	struct pool_record pool;
	struct host_record host;
};

static int endpoint_of(struct mgmt *m, struct db *db, const struct volume_record *v,
		       struct endpoint *e, struct vecs_err *err)
{
	int r = pool_get(db, v->pool_id, &e->pool, err);

	if (r == 0)
		r = alloc_endpoint(m, db, v, &e->pool, &e->host, err);
	return r;
}

/* --- PowerFlex (ScaleIO): the gateway work CloudStack's driver does in the management
 * server; the agent only sees the device of the host's SDC. --- */

static bool is_pfx(const struct pool_record *p)
{
	return p && !strcmp(p->pool_type, POOL_POWERFLEX);
}

/* Map v (created on the gateway: its path is the PowerFlex volume id) to h's SDC. */
static int pfx_map(struct mgmt *m, const struct pool_record *p, const struct volume_record *v,
		   const struct host_record *h, struct vecs_err *err)
{
	if (!is_pfx(p) || !v->path[0] || !strcmp(v->state, "Allocated"))
		return 0;
	return pfx_volume_map(m->pfx, p, v->path, h, err);
}

struct pfx_vm_scan {
	struct mgmt *m;
	struct db *db;
	const struct host_record *h;
	bool map;
	int r;
	struct vecs_err *err;
};

static int pfx_vm_cb(void *ctx, const struct volume_record *v)
{
	struct pfx_vm_scan *k = ctx;
	struct pool_record *p;
	int r;

	if (k->r < 0 || !v->pool_id || !v->path[0] || !strcmp(v->state, "Allocated"))
		return 0;
	p = malloc(sizeof(*p));
	if (!p) {
		k->r = -ENOMEM;
		return 0;
	}
	r = pool_get(k->db, v->pool_id, p, k->err);
	if (r == 0 && is_pfx(p))
		r = k->map ? pfx_volume_map(k->m->pfx, p, v->path, k->h, k->err)
			   : pfx_volume_unmap(k->m->pfx, p, v->path, k->h, k->err);
	if (r < 0)
		k->r = r;
	free(p);
	return 0;
}

int volume_ops_pfx_vm(struct mgmt *m, struct db *db, int64_t vm_id, int64_t host_id, bool map,
		      char *errortext, size_t errlen)
{
	struct volume_filter f = { .instance_id = vm_id, .encrypted = -1 };
	struct host_record *h = malloc(sizeof(*h));
	struct vecs_err err = { 0 };
	struct pfx_vm_scan k = { .m = m, .db = db, .h = h, .map = map, .err = &err };
	int r = -ENOMEM;

	if (h && (r = volume_ops_host(db, host_id, h, &err)) == 0 &&
	    (r = volume_list(db, &f, pfx_vm_cb, &k, &err)) == 0)
		r = k.r;
	if (r < 0) {
		if (map || !errortext[0])
			snprintf(errortext, errlen, "Unable to %s the PowerFlex volumes of VM %lld %s host %s: %s",
				 map ? "map" : "unmap", (long long)vm_id, map ? "to" : "from",
				 h ? h->name : "?", err.msg);
		mgmt_log(m, "powerflex: %s volumes of vm %lld on host %lld failed: %s",
			 map ? "map" : "unmap", (long long)vm_id, (long long)host_id, err.msg);
	}
	free(h);
	return r;
}

/* A create that did not happen: back to Allocated, no pool or path (the passphrase, if
 * made, stays: the volume keeps it for its next attempt). */
/* A create or copy whose answer never came (timeout, lost connection) may still run on
 * the agent, or have run: delete what it may have made at vol's path (RECOVERY.md,
 * "Agent commands that time out"). The agent runs the commands on one path one after
 * another, so this delete waits for a create still running there; it waits the copy
 * timeout, which --agent-timeout-ms does not shorten. */
static void undo_unanswered(struct mgmt *m, const struct host_record *h, json_t *vol, int r,
			    const char *cmd, const char *uuid)
{
	struct vecs_err err = { 0 };
	json_t *args, *res = NULL;

	if ((r != -ETIMEDOUT && r != -ENOTCONN) || !vol || !m->agents)
		return;
	args = json_pack("{s:O}", "volume", vol);
	r = args ? agent_call(m->agents, h->name, "delete_volume", args, AGENT_TIMEOUT_COPY_MS,
			      &res, &err)
		 : -ENOMEM;
	json_decref(args);
	json_decref(res);
	if (r < 0)
		mgmt_log(m, "volume %s: what the unanswered %s may have made on host %s is left "
			 "(delete_volume: %s); a retry replaces it", uuid, cmd, h->name, err.msg);
	else
		mgmt_log(m, "volume %s: %s was not answered; delete_volume on host %s removed what "
			 "it may have made", uuid, cmd, h->name);
}

static void unplace(struct mgmt *m, struct db *db, struct volume_record *v)
{
	struct vecs_err err = { 0 };

	if (volume_set_placement(db, v->id, 0, "", "", v->size, "Allocated", &err) < 0)
		mgmt_log(m, "volume %s: cannot return to Allocated after a failed create: %s",
			 v->uuid, err.msg);
	else
		snprintf(v->state, sizeof(v->state), "Allocated");
}

int volume_ops_create(struct mgmt *m, struct db *db, struct volume_record *v, int64_t host_id,
		      const struct template_record *t, const char *snapshot_uuid, int *errcode,
		      char *errortext, size_t errlen)
{
	char pfx_id[64] = "";
	struct disk_offering_record off;
	struct endpoint *e = calloc(1, sizeof(*e));
	struct snapshot_record s;
	struct vecs_err err = { 0 };
	json_t *args = NULL, *vol, *res = NULL;
	bool placed = false;
	int64_t pid;
	int r;

	if (!e)
		return -ENOMEM;
	if (strcmp(v->state, "Allocated")) {
		free(e);
		return 0;
	}
	r = disk_offering_get(db, v->disk_offering_id, &off, &err);
	if (r == 0)
		r = alloc_pool(db, v->zone_id, &off, off.encrypt, host_id, 0, &e->pool, &err);
	if (r == 0)
		r = host_id ? volume_ops_host(db, host_id, &e->host, &err)
			    : alloc_host(m, db, v->zone_id, off.encrypt,
					 !strcmp(e->pool.scope, "HOST") ? e->pool.host_id : 0, 0,
					 &e->host, &err);
	if (r == 0 && off.encrypt && !host_supports_encryption(&e->host))
		r = -ENODEV;
	/* First use: the passphrase exists before the agent formats the volume. */
	if (r == 0 && off.encrypt)
		r = passphrase_create_for_volume(db, &m->enc, v->id, &pid, &err);
	if (r == 0)
		r = volume_get(db, v->id, v, &err);
	if (r == 0 && is_pfx(&e->pool)) {
		/* create on the gateway and map to the host that formats it */
		uint64_t bytes = v->size;
		char name[64];

		if (t && t->size > bytes)
			bytes = t->size;
		if (!bytes)
			bytes = GIB;
		/* room for the LUKS header: the payload is the size asked for */
		if (off.encrypt)
			bytes += PFX_LUKS_HEADER_BYTES;
		snprintf(name, sizeof(name), "vol-%lld-%.8s", (long long)v->id, v->uuid);
		r = pfx_volume_create(m->pfx, &e->pool, name, bytes, pfx_id, sizeof(pfx_id), &err);
		if (r == 0 && (r = pfx_volume_map(m->pfx, &e->pool, pfx_id, &e->host, &err)) < 0) {
			struct vecs_err e2 = { 0 };
			pfx_volume_remove(m->pfx, &e->pool, pfx_id, &e2);
		}
		if (r == 0) {
			mgmt_log(m, "powerflex: volume %s created as %s on pool %s, mapped to host %s",
				 v->uuid, pfx_id, e->pool.name, e->host.name);
			snprintf(v->path, sizeof(v->path), "%s", pfx_id);
			snprintf(v->format, sizeof(v->format), "RAW");
		}
	}
	if (r < 0)
		goto fail;
	/* The pool and path are recorded before the agent runs (state Creating): a crash
	 * from here on leaves a row that start-up recovery can clean (RECOVERY.md). */
	r = volume_set_placement(db, v->id, e->pool.id, pfx_id[0] ? pfx_id : v->uuid,
				 pfx_id[0] ? "RAW" : "", v->size, "Creating", &err);
	if (r < 0) {
		if (pfx_id[0]) {
			struct vecs_err e2 = { 0 };
			pfx_volume_remove(m->pfx, &e->pool, pfx_id, &e2);
		}
		goto fail;
	}
	placed = true;
	mgmt_crashpoint(m, "create_volume:before_agent");
	vol = volume_to(m, db, v, &e->pool, &err);
	if (!vol) {
		r = -ENOMEM;
		goto fail;
	}
	/* the path is this volume's own (its uuid): a file there can only be what an
	 * earlier, failed create of it left, which the agent replaces */
	args = json_pack("{s:O, s:b}", "volume", vol, "replace", !pfx_id[0]);
	if (t)
		json_object_set_new(args, "template",
				    json_pack("{s:s, s:s, s:I}", "path", t->path, "format",
					      t->format[0] == 'R' ? "raw" : "qcow2", "size",
					      (json_int_t)t->size));
	if (snapshot_uuid && snapshot_get_by_uuid(db, snapshot_uuid, &s, &err) == 0)
		json_object_set_new(args, "template",
				    json_pack("{s:s, s:s}", "path", s.path, "format", "qcow2"));
	r = cloud_agent_call(m, &e->host, "create_volume", args, AGENT_TIMEOUT_COPY_MS, &res,
			     errortext, errlen);
	json_decref(args);
	if (r < 0 && !pfx_id[0])
		undo_unanswered(m, &e->host, vol, r, "create_volume", v->uuid);
	json_decref(vol);
	if (r < 0) {
		struct vecs_err e2 = { 0 };

		*errcode = API_ERR_INTERNAL;
		if (pfx_id[0] && pfx_volume_remove(m->pfx, &e->pool, pfx_id, &e2) < 0)
			mgmt_log(m, "powerflex: volume %s left on pool %s: %s", pfx_id,
				 e->pool.name, e2.msg);
		unplace(m, db, v);
		free(e);
		return r;
	}
	mgmt_crashpoint(m, "create_volume:after_agent");
	{
		json_t *p = pfx_id[0] ? NULL : json_object_get(res, "path"),
		       *sz = json_object_get(res, "size"),
		       *ef = json_object_get(res, "encrypt_format");
		const char *fmt = json_string_value(json_object_get(res, "format"));

		r = volume_set_placement(db, v->id, e->pool.id,
					 json_is_string(p) ? json_string_value(p)
					 : pfx_id[0]	    ? pfx_id
							    : v->uuid,
					 fmt && !strcmp(fmt, "raw") ? "RAW" : "QCOW2",
					 /* PowerFlex: the size asked for, not the device's (rounded
					  * up to the allocation unit, plus the LUKS header) */
					 pfx_id[0] && v->size ? v->size
					 : json_is_integer(sz) ? (uint64_t)json_integer_value(sz)
							       : v->size,
					 "Ready", &err);
		if (r == 0 && json_is_string(ef))
			r = volume_set_encrypt_format(db, v->id, json_string_value(ef), &err);
	}
	json_decref(res);
	if (r == 0)
		r = volume_get(db, v->id, v, &err);
	if (r < 0)
		goto fail;
	free(e);
	return 0;
fail:
	if (placed)
		unplace(m, db, v);
	failed(r, errcode, errortext, errlen, "create", v, &err);
	free(e);
	return r;
}

int volume_ops_create_on_primary(struct mgmt *m, struct db *db, struct volume_record *v,
				 int64_t host_id, const char *snapshot_uuid, int *errcode,
				 char *errortext, size_t errlen)
{
	return volume_ops_create(m, db, v, host_id, NULL, snapshot_uuid, errcode, errortext,
				 errlen);
}

/* Next free device id of vm: data disks from 1, 3 left for the CD-ROM as upstream. */
struct dev_scan {
	unsigned used;
};

static int dev_cb(void *ctx, const struct volume_record *v)
{
	struct dev_scan *d = ctx;

	if (v->has_device_id && v->device_id < 32)
		d->used |= 1u << v->device_id;
	return 0;
}

int volume_ops_attach(struct mgmt *m, struct db *db, struct volume_record *v,
		      const struct vm_record *vm, int64_t device_id, int *errcode,
		      char *errortext, size_t errlen)
{
	struct volume_filter f = { .instance_id = vm->id, .encrypted = -1 };
	struct dev_scan d = { 1u << 3 };
	struct endpoint *e = calloc(1, sizeof(*e));
	struct volume_record root;
	struct vecs_err err = { 0 };
	json_t *args, *vol, *res = NULL;
	int r;

	if (!e)
		return -ENOMEM;
	r = volume_list(db, &f, dev_cb, &d, &err);
	if (r == 0 && !device_id)
		for (device_id = 1; device_id < 16 && (d.used & (1u << device_id)); device_id++)
			;
	/* Created on primary storage now, next to the VM (its host for local storage). */
	if (r == 0 && !strcmp(v->state, "Allocated")) {
		int64_t host = vm->host_id;
		struct volume_filter rf = { .instance_id = vm->id, .type = "ROOT", .encrypted = -1 };

		(void)rf;
		(void)root;
		r = volume_ops_create(m, db, v, host, NULL, NULL, errcode, errortext, errlen);
		if (r < 0) {
			free(e);
			return r;
		}
	}
	if (r == 0 && !strcmp(vm->state, "Running")) {
		r = volume_ops_host(db, vm->host_id, &e->host, &err);
		if (r == 0 && volume_is_encrypted(db, v) && !host_supports_encryption(&e->host)) {
			*errcode = API_ERR_INTERNAL;
			snprintf(errortext, errlen,
				 "Failed to attach volume %s to VM %s because target host %s doesn't "
				 "support volume encryption",
				 v->name, vm->name, e->host.name);
			free(e);
			return -ENODEV;
		}
		if (r == 0)
			r = pool_get(db, v->pool_id, &e->pool, &err);
		if (r == 0 && (r = volume_get(db, v->id, v, &err)) == 0)
			r = pfx_map(m, &e->pool, v, &e->host, &err);
		if (r < 0) {
			free(e);
			return failed(r, errcode, errortext, errlen, "attach", v, &err);
		}
		if (r == 0) {
			vol = volume_to(m, db, v, &e->pool, &err);
			args = json_pack("{s:s, s:o, s:I}", "name", vm->instance_name, "volume", vol,
					 "device", (json_int_t)device_id);
			r = cloud_agent_call(m, &e->host, "attach_volume", args, AGENT_TIMEOUT_MS,
					     &res, errortext, errlen);
			json_decref(args);
			json_decref(res);
			if (r < 0) {
				*errcode = API_ERR_INTERNAL;
				free(e);
				return r;
			}
		}
	}
	if (r == 0)
		r = volume_set_instance(db, v->id, vm->id, device_id, &err);
	free(e);
	if (r < 0)
		return failed(r, errcode, errortext, errlen, "attach", v, &err);
	return 0;
}

int volume_ops_detach(struct mgmt *m, struct db *db, struct volume_record *v, int *errcode,
		      char *errortext, size_t errlen)
{
	struct endpoint *e = calloc(1, sizeof(*e));
	struct vm_record vm;
	struct vecs_err err = { 0 };
	json_t *args, *res = NULL;
	int r;

	if (!e)
		return -ENOMEM;
	r = vm_get(db, v->instance_id, &vm, &err);
	if (r == 0 && !strcmp(vm.state, "Running")) {
		r = volume_ops_host(db, vm.host_id, &e->host, &err);
		if (r == 0)
			r = pool_get(db, v->pool_id, &e->pool, &err);
		if (r == 0) {
			/* the volume object carries no passphrase need: the secret is undefined */
			args = json_pack("{s:s, s:o, s:I}", "name", vm.instance_name, "volume",
					 volume_to(m, db, v, &e->pool, &err), "device",
					 (json_int_t)v->device_id);
			r = cloud_agent_call(m, &e->host, "detach_volume", args, AGENT_TIMEOUT_MS,
					     &res, errortext, errlen);
			json_decref(args);
			json_decref(res);
			if (r < 0) {
				*errcode = API_ERR_INTERNAL;
				free(e);
				return r;
			}
			if (is_pfx(&e->pool) && v->path[0])
				r = pfx_volume_unmap(m->pfx, &e->pool, v->path, &e->host, &err);
		}
	}
	if (r == 0)
		r = volume_set_instance(db, v->id, 0, 0, &err);
	free(e);
	return r < 0 ? failed(r, errcode, errortext, errlen, "detach", v, &err) : 0;
}

int volume_ops_resize(struct mgmt *m, struct db *db, struct volume_record *v, uint64_t size,
		      int64_t offering_id, int *errcode, char *errortext, size_t errlen)
{
	struct endpoint *e = calloc(1, sizeof(*e));
	struct vm_record vm;
	struct vecs_err err = { 0 };
	json_t *args, *res = NULL, *sz;
	int r = 0;

	if (!e)
		return -ENOMEM;
	if (strcmp(v->state, "Allocated")) {
		r = endpoint_of(m, db, v, e, &err);
		if (r == 0 && is_pfx(&e->pool)) {
			uint64_t kb = 0;

			/* grown by the LUKS header too: an online resize asks QEMU for `size`
			 * bytes of payload behind the header */
			r = pfx_volume_resize(m->pfx, &e->pool, v->path,
					      size + (volume_is_encrypted(db, v) ? PFX_LUKS_HEADER_BYTES : 0),
					      &kb, &err);
			if (r == 0)
				r = pfx_map(m, &e->pool, v, &e->host, &err);
			if (r == 0)
				mgmt_log(m, "powerflex: volume %s (%s) is %llu KiB", v->uuid, v->path,
					 (unsigned long long)kb);
		}
		if (r < 0)
			goto out;
		args = json_pack("{s:o, s:I}", "volume", volume_to(m, db, v, &e->pool, &err),
				 "new_size", (json_int_t)size);
		if (v->instance_id && vm_get(db, v->instance_id, &vm, &err) == 0 &&
		    !strcmp(vm.state, "Running"))
			json_object_set_new(args, "vm", json_string(vm.instance_name));
		r = cloud_agent_call(m, &e->host, "resize_volume", args, AGENT_TIMEOUT_MS, &res,
				     errortext, errlen);
		json_decref(args);
		if (r < 0) {
			*errcode = API_ERR_INTERNAL;
			free(e);
			return r;
		}
		sz = json_object_get(res, "size");
		if (json_is_integer(sz) && !is_pfx(&e->pool))
			size = (uint64_t)json_integer_value(sz);
		json_decref(res);
	}
	r = volume_set_size(db, v->id, size, &err);
	if (r == 0 && offering_id)
		r = volume_set_disk_offering(db, v->id, offering_id, &err);
out:
	free(e);
	return r < 0 ? failed(r, errcode, errortext, errlen, "resize", v, &err) : 0;
}

int volume_ops_destroy(struct mgmt *m, struct db *db, struct volume_record *v, int *errcode,
		       char *errortext, size_t errlen)
{
	struct endpoint *e = calloc(1, sizeof(*e));
	struct vecs_err err = { 0 };
	json_t *args, *res = NULL;
	int r = 0;

	if (!e)
		return -ENOMEM;
	if (v->pool_id && strcmp(v->state, "Allocated")) {
		r = endpoint_of(m, db, v, e, &err);
		if (r == 0)
			r = pfx_map(m, &e->pool, v, &e->host, &err);
		if (r < 0)
			goto out;
		/* state Destroy before the agent deletes: after a crash, recovery finishes
		 * the delete (RECOVERY.md) */
		if ((r = volume_set_state(db, v->id, "Destroy", &err)) < 0)
			goto out;
		args = json_pack("{s:o}", "volume", volume_to(m, db, v, &e->pool, &err));
		r = cloud_agent_call(m, &e->host, "delete_volume", args, AGENT_TIMEOUT_MS, &res,
				     errortext, errlen);
		json_decref(args);
		json_decref(res);
		if (r < 0) {
			struct vecs_err e2 = { 0 };

			*errcode = API_ERR_INTERNAL;
			if (volume_set_state(db, v->id, v->state, &e2) < 0)
				mgmt_log(m, "volume %s left in Destroy: %s", v->uuid, e2.msg);
			free(e);
			return r;
		}
		mgmt_crashpoint(m, "delete_volume:after_agent");
		if (is_pfx(&e->pool) && v->path[0]) {
			r = pfx_volume_remove(m->pfx, &e->pool, v->path, &err);
			if (r < 0)
				goto out;
			mgmt_log(m, "powerflex: volume %s (%s) removed from pool %s", v->uuid,
				 v->path, e->pool.name);
		}
	}
	r = volume_remove(db, v->id, &err);
out:
	free(e);
	return r < 0 ? failed(r, errcode, errortext, errlen, "delete", v, &err) : 0;
}

int volume_ops_snapshot(struct mgmt *m, struct db *db, struct snapshot_record *s, int *errcode,
			char *errortext, size_t errlen)
{
	struct endpoint *e = calloc(1, sizeof(*e));
	struct volume_record v;
	struct vecs_err err = { 0 };
	char path[256];
	json_t *args, *res = NULL;
	int r;

	if (!e)
		return -ENOMEM;
	r = volume_get(db, s->volume_id, &v, &err);
	if (r == 0)
		r = endpoint_of(m, db, &v, e, &err);
	if (r == 0)
		r = pfx_map(m, &e->pool, &v, &e->host, &err);
	if (r < 0) {
		snapshot_set_result(db, s->id, "Error", NULL, 0, &err);
		free(e);
		return failed(r, errcode, errortext, errlen, "snapshot", &v, &err);
	}
	/* on secondary storage, an absolute path as the hosts see it */
	snprintf(path, sizeof(path), "%s/snapshots/%s/%s.qcow2", m->secondary ? m->secondary : "",
		 v.uuid, s->uuid);
	args = json_pack("{s:o, s:{s:s, s:s}}", "volume", volume_to(m, db, &v, &e->pool, &err),
			 "snapshot", "uuid", s->uuid, "path", path);
	r = cloud_agent_call(m, &e->host, "snapshot_volume", args, AGENT_TIMEOUT_COPY_MS, &res,
			     errortext, errlen);
	json_decref(args);
	if (r < 0) {
		*errcode = API_ERR_INTERNAL;
		snapshot_set_result(db, s->id, "Error", NULL, 0, &err);
		free(e);
		return r;
	}
	mgmt_crashpoint(m, "snapshot:after_agent");
	{
		const char *p = json_string_value(json_object_get(res, "path"));
		json_t *sz = json_object_get(res, "size");

		r = snapshot_set_result(db, s->id, "BackedUp", p ? p : path,
					json_is_integer(sz) ? (uint64_t)json_integer_value(sz) : v.size,
					&err);
	}
	json_decref(res);
	free(e);
	return r < 0 ? failed(r, errcode, errortext, errlen, "snapshot", &v, &err) : 0;
}

int volume_ops_revert(struct mgmt *m, struct db *db, struct snapshot_record *s, int *errcode,
		      char *errortext, size_t errlen)
{
	struct endpoint *e = calloc(1, sizeof(*e));
	struct volume_record v;
	struct vecs_err err = { 0 };
	json_t *args, *res = NULL;
	int r;

	if (!e)
		return -ENOMEM;
	r = volume_get(db, s->volume_id, &v, &err);
	if (r == 0)
		r = endpoint_of(m, db, &v, e, &err);
	if (r == 0)
		r = pfx_map(m, &e->pool, &v, &e->host, &err);
	if (r < 0) {
		free(e);
		return failed(r, errcode, errortext, errlen, "revert", &v, &err);
	}
	args = json_pack("{s:o, s:{s:s, s:s}}", "volume", volume_to(m, db, &v, &e->pool, &err),
			 "snapshot", "uuid", s->uuid, "path", s->path);
	r = cloud_agent_call(m, &e->host, "revert_snapshot", args, AGENT_TIMEOUT_COPY_MS, &res,
			     errortext, errlen);
	json_decref(args);
	json_decref(res);
	if (r < 0)
		*errcode = API_ERR_INTERNAL;
	free(e);
	return r;
}

/* The PowerFlex volume a migration copies into (migrateVolume onto a PowerFlex pool): a
 * gateway volume of the source's size (plus the LUKS header when encrypted), mapped to
 * the host that runs the copy, recorded as d's path (RAW, state Migrating) before the
 * agent formats it with the same passphrase (a new header) and converts the data. */
static int pfx_dest(struct mgmt *m, struct db *db, const struct volume_record *src,
		    struct volume_record *d, const struct pool_record *dp,
		    const struct host_record *h, struct vecs_err *err)
{
	uint64_t bytes = src->size ? src->size : GIB;
	char name[64], id[64];
	int r;

	if (volume_is_encrypted(db, src))
		bytes += PFX_LUKS_HEADER_BYTES;
	snprintf(name, sizeof(name), "vol-%lld-%.8s", (long long)d->id, d->uuid);
	if ((r = pfx_volume_create(m->pfx, dp, name, bytes, id, sizeof(id), err)) < 0)
		return r;
	if ((r = pfx_volume_map(m->pfx, dp, id, h, err)) == 0)
		r = volume_set_placement(db, d->id, dp->id, id, "RAW", d->size, "Migrating", err);
	if (r < 0) {
		struct vecs_err e2 = { 0 };
		pfx_volume_remove(m->pfx, dp, id, &e2);
		return r;
	}
	snprintf(d->path, sizeof(d->path), "%s", id);
	snprintf(d->format, sizeof(d->format), "RAW");
	mgmt_log(m, "powerflex: migration target of volume %s created as %s on pool %s, mapped "
		 "to host %s", src->uuid, id, dp->name, h->name);
	return 0;
}

int volume_ops_migrate(struct mgmt *m, struct db *db, struct volume_record *v, int64_t pool_id,
		       int *errcode, char *errortext, size_t errlen)
{
	struct endpoint *e = calloc(1, sizeof(*e));
	struct pool_record *dp = malloc(sizeof(*dp));
	struct volume_record d;
	struct vm_record vm;
	struct vecs_err err = { 0 };
	char orig[41], tmp[37];
	json_t *args, *res = NULL, *dstj;
	bool src_gone;
	int r;

	if (!e || !dp) {
		free(e);
		free(dp);
		return -ENOMEM;
	}
	r = endpoint_of(m, db, v, e, &err);
	if (r == 0)
		r = pool_get(db, pool_id, dp, &err);
	if (r == 0)
		r = pfx_map(m, &e->pool, v, &e->host, &err);
	if (r == 0 && is_pfx(dp) && !m->pfx)
		r = vecs_err_set(&err, -EOPNOTSUPP,
				 "pool %s is a PowerFlex pool and the management server has no "
				 "gateway password (start it with --powerflex-password-file)",
				 dp->name);
	if (r < 0)
		goto fail;
	/* the destination row: same everything, no passphrase yet */
	d = *v;
	d.id = 0;
	d.uuid[0] = '\0';
	d.passphrase_id = 0;
	d.encrypt_format[0] = '\0';
	d.pool_id = dp->id;
	d.instance_id = 0;
	d.has_device_id = 0;
	snprintf(d.state, sizeof(d.state), "Migrating");
	if ((r = volume_insert(db, &d, &err)) < 0 ||
	    (r = passphrase_copy_reference(db, v->id, d.id, &err)) < 0 ||
	    (r = volume_get(db, d.id, &d, &err)) < 0)
		goto fail;
	if (is_pfx(dp) && (r = pfx_dest(m, db, v, &d, dp, &e->host, &err)) < 0) {
		volume_remove(db, d.id, &err);
		goto fail;
	}
	mgmt_crashpoint(m, "migrate_volume:before_agent");
	dstj = volume_to(m, db, &d, dp, &err);
	args = json_pack("{s:o, s:O}", "src", volume_to(m, db, v, &e->pool, &err), "dst", dstj);
	if (v->instance_id && vm_get(db, v->instance_id, &vm, &err) == 0 &&
	    !strcmp(vm.state, "Running"))
		json_object_set_new(args, "vm", json_string(vm.instance_name));
	r = cloud_agent_call(m, &e->host, "copy_volume", args, AGENT_TIMEOUT_COPY_MS, &res,
			     errortext, errlen);
	json_decref(args);
	if (r < 0 && !is_pfx(dp))
		undo_unanswered(m, &e->host, dstj, r, "copy_volume", d.uuid);
	json_decref(dstj);
	if (r < 0) {
		struct vecs_err e2 = { 0 };

		*errcode = API_ERR_INTERNAL;
		if (is_pfx(dp) && pfx_volume_remove(m->pfx, dp, d.path, &e2) < 0)
			mgmt_log(m, "powerflex: volume %s left on pool %s: %s", d.path, dp->name,
				 e2.msg);
		volume_remove(db, d.id, &err);
		goto out;
	}
	mgmt_crashpoint(m, "migrate_volume:after_agent");
	snprintf(orig, sizeof(orig), "%s", v->uuid);
	{
		const char *p = json_string_value(json_object_get(res, "path"));
		json_t *sz = json_object_get(res, "size");
		struct db_stmt *st;

		r = db_begin(db, &err);
		/* PowerFlex: the gateway's id and the size asked for (the device is bigger:
		 * allocation unit, LUKS header), as volume_ops_create records them */
		if (is_pfx(dp)) {
			p = NULL;
			sz = NULL;
		}
		if (r == 0)
			r = volume_set_placement(db, d.id, dp->id, p ? p : d.path, d.format,
						 json_is_integer(sz) ? (uint64_t)json_integer_value(sz)
								     : d.size,
						 "Ready", &err);
		if (r == 0 && v->instance_id)
			r = volume_set_instance(db, d.id, v->instance_id, v->device_id, &err);
		if (r == 0)
			r = volume_set_instance(db, v->id, 0, 0, &err);
		/* the migrated volume keeps its uuid (CloudStack swaps them) */
		if (r == 0 && (r = db_uuid_v4(tmp, &err)) == 0 &&
		    (r = db_prepare(db, "UPDATE volumes SET uuid = ? WHERE id = ?", &st, &err)) == 0) {
			if ((r = db_bind_text(st, 1, tmp, &err)) == 0 &&
			    (r = db_bind_int64(st, 2, v->id, &err)) == 0 && (r = db_step(st, &err)) >= 0 &&
			    (r = db_reset(st, &err)) == 0 && (r = db_bind_text(st, 1, orig, &err)) == 0 &&
			    (r = db_bind_int64(st, 2, d.id, &err)) == 0)
				r = db_step(st, &err);
			db_finalize(st);
			if (r > 0)
				r = 0;
		}
		/* the source waits in Destroy until its storage is gone: a crash before
		 * that leaves it for recovery, not as an orphan on the old pool */
		if (r == 0)
			r = volume_set_state(db, v->id, "Destroy", &err);
		if (r == 0)
			r = db_commit(db, &err);
		else
			db_rollback(db);
	}
	json_decref(res);
	if (r < 0)
		goto fail;
	mgmt_crashpoint(m, "migrate_volume:after_commit");
	/* the source copy on the old pool */
	args = json_pack("{s:o}", "volume", volume_to(m, db, v, &e->pool, &err));
	json_object_set_new(json_object_get(args, "volume"), "uuid", json_string(tmp));
	json_object_del(json_object_get(args, "volume"), "passphrase");
	src_gone = cloud_agent_call(m, &e->host, "delete_volume", args, AGENT_TIMEOUT_MS, &res,
				    errortext, errlen) == 0;
	errortext[0] = '\0'; /* the migration itself succeeded; a failure is logged */
	json_decref(args);
	json_decref(res);
	if (src_gone && is_pfx(&e->pool) && v->path[0] &&
	    pfx_volume_remove(m->pfx, &e->pool, v->path, &err) < 0) {
		mgmt_log(m, "powerflex: source volume %s left on pool %s: %s", v->path,
			 e->pool.name, err.msg);
		src_gone = false;
	}
	/* the passphrase reference is shared with the destination: it stays */
	if (!src_gone)
		mgmt_log(m, "volume %s: source copy left in Destroy for recovery", tmp);
	else if (volume_remove(db, v->id, &err) < 0)
		mgmt_log(m, "volume %s: source row left in Destroy: %s", tmp, err.msg);
	goto out;
fail:
	failed(r, errcode, errortext, errlen, "migrate", v, &err);
out:
	free(e);
	free(dp);
	return r;
}

int volume_ops_discard_storage(struct mgmt *m, struct db *db, const struct volume_record *v,
			       struct vecs_err *err)
{
	struct endpoint *e = calloc(1, sizeof(*e));
	char errortext[512] = "";
	json_t *args, *res = NULL;
	int r;

	if (!e)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	r = endpoint_of(m, db, v, e, err);
	if (r < 0)
		goto out;
	args = json_pack("{s:o}", "volume", volume_to(m, db, v, &e->pool, err));
	r = cloud_agent_call(m, &e->host, "delete_volume", args, AGENT_TIMEOUT_MS, &res,
			     errortext, sizeof(errortext));
	json_decref(args);
	json_decref(res);
	if (r < 0) {
		vecs_err_set(err, r, "%s", errortext);
		goto out;
	}
	/* the gateway's volume: a missing one is already gone */
	if (is_pfx(&e->pool) && v->path[0] &&
	    (r = pfx_volume_remove(m->pfx, &e->pool, v->path, err)) == -ENOENT)
		r = 0;
out:
	free(e);
	return r;
}
