#include "mgmt/cloud_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/async_job_dao.h"
#include "db/passphrase.h"
#include "mgmt/agent_channel.h"

int volume_is_encrypted(struct db *db, const struct volume_record *v)
{
	struct disk_offering_record off;
	struct vecs_err err = { 0 };

	if (v->passphrase_id)
		return 1;
	return disk_offering_get(db, v->disk_offering_id, &off, &err) == 0 && off.encrypt;
}

bool host_supports_encryption(const struct host_record *h)
{
	for (unsigned i = 0; i < h->n_details; i++)
		if (!strcmp(h->details[i].name, HOST_DETAIL_VOLUME_ENCRYPTION))
			return strcasecmp(h->details[i].value, "true") == 0;
	return false;
}

/* --- pools ------------------------------------------------------------------------ */

struct pool_pick {
	int64_t zone_id, host_id, avoid;
	const struct disk_offering_record *off;
	bool encrypted, found;
	struct pool_record *out;
};

static int pool_pick_cb(void *ctx, const struct pool_record *p)
{
	struct pool_pick *k = ctx;
	bool local = !strcmp(p->scope, "HOST");

	if (k->found || p->zone_id != k->zone_id || strcmp(p->status, "Up") || p->id == k->avoid)
		return 0;
	if (local != (k->off->use_local_storage != 0))
		return 0;
	if (local && k->host_id && p->host_id != k->host_id)
		return 0;
	if (k->encrypted && !pool_type_supports_encryption(p->pool_type))
		return 0;
	if (!pool_has_tags(p, k->off->tags))
		return 0;
	*k->out = *p;
	k->found = true;
	return 0;
}

int alloc_pool(struct db *db, int64_t zone_id, const struct disk_offering_record *off,
	       bool encrypted, int64_t host_id, int64_t avoid, struct pool_record *out,
	       struct vecs_err *err)
{
	struct pool_filter f = { 0 };
	struct pool_pick k = { .zone_id = zone_id, .host_id = host_id, .avoid = avoid,
			       .off = off, .encrypted = encrypted, .out = out };
	int r = pool_list(db, &f, pool_pick_cb, &k, err);

	if (r < 0)
		return r;
	if (!k.found)
		return vecs_err_set(err, -ENOSPC,
				    "no suitable storage pool for disk offering %s (%s%s%s)",
				    off->name, off->use_local_storage ? "local" : "shared",
				    encrypted ? ", encryption" : "", off->tags[0] ? ", tags" : "");
	return 0;
}

/* --- hosts ------------------------------------------------------------------------- */

struct host_pick {
	struct mgmt *m;
	int64_t zone_id, only, avoid;
	bool encrypted;
	unsigned candidates;
	bool found;
	struct host_record *out;
};

static int host_pick_cb(void *ctx, const struct host_record *h)
{
	struct host_pick *k = ctx;

	if (k->found || h->zone_id != k->zone_id || strcmp(h->status, "Up") ||
	    strcmp(h->resource_state, "Enabled") || (k->only && h->id != k->only) ||
	    h->id == k->avoid)
		return 0;
	if (k->m->agents && !agent_channel_host_connected(k->m->agents, h->name))
		return 0;
	k->candidates++;
	if (k->encrypted && !host_supports_encryption(h))
		return 0;
	*k->out = *h;
	k->found = true;
	return 0;
}

int alloc_host(struct mgmt *m, struct db *db, int64_t zone_id, bool encrypted, int64_t only,
	       int64_t avoid, struct host_record *out, struct vecs_err *err)
{
	struct host_filter f = { 0 };
	struct host_pick k = { .m = m, .zone_id = zone_id, .only = only, .avoid = avoid,
			       .encrypted = encrypted, .out = out };
	int r = host_list(db, &f, host_pick_cb, &k, err);

	if (r < 0)
		return r;
	if (k.found)
		return 0;
	if (k.candidates)
		return vecs_err_set(err, -ENODEV, NO_ENCRYPTION_ENDPOINT_TEXT);
	return vecs_err_set(err, -ENOSPC, "no host is up in the zone");
}

struct host_by_id {
	int64_t id;
	bool found;
	struct host_record *out;
};

static int host_by_id_cb(void *ctx, const struct host_record *h)
{
	struct host_by_id *k = ctx;

	if (h->id == k->id) {
		*k->out = *h;
		k->found = true;
	}
	return 0;
}

int alloc_endpoint(struct mgmt *m, struct db *db, const struct volume_record *v,
		   const struct pool_record *p, struct host_record *out, struct vecs_err *err)
{
	bool enc = volume_is_encrypted(db, v);
	struct vm_record vm;

	if (p && !strcmp(p->scope, "HOST"))
		return alloc_host(m, db, p->zone_id, enc, p->host_id, 0, out, err);
	if (v->instance_id && vm_get(db, v->instance_id, &vm, err) == 0 && vm.host_id) {
		struct host_filter f = { 0 };
		struct host_by_id k = { .id = vm.host_id, .out = out };
		int r = host_list(db, &f, host_by_id_cb, &k, err);

		if (r < 0)
			return r;
		if (k.found && (!enc || host_supports_encryption(out)))
			return 0;
	}
	return alloc_host(m, db, p ? p->zone_id : v->zone_id, enc, 0, 0, out, err);
}

/* --- transfer objects ------------------------------------------------------------- */

json_t *pool_to(const struct pool_record *p)
{
	const char *type = pool_type_agent_name(p->pool_type);
	json_t *o = json_pack("{s:s?, s:s, s:s}", "type", type, "uuid", p->uuid, "name", p->name);

	if (!o)
		return NULL;
	if (!strcmp(p->pool_type, POOL_POWERFLEX)) {
		json_object_set_new(o, "gateway_url", json_string(p->gateway_url));
		json_object_set_new(o, "system_id", json_string(p->system_id));
		json_object_set_new(o, "storage_pool", json_string(p->path));
	} else {
		json_object_set_new(o, "path", json_string(p->path));
		if (!strcmp(p->pool_type, POOL_NFS))
			json_object_set_new(o, "host", json_string(p->host_address));
	}
	return o;
}

json_t *volume_to(struct mgmt *m, struct db *db, const struct volume_record *v,
		  const struct pool_record *p, struct vecs_err *err)
{
	char pass[PASSPHRASE_BUF_LEN];
	char fmt[16];
	json_t *o;
	size_t i;

	for (i = 0; v->format[i] && i + 1 < sizeof(fmt); i++)
		fmt[i] = (char)(v->format[i] | 0x20); /* QCOW2 -> qcow2 */
	fmt[i] = '\0';
	o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:I, s:s?}", "uuid", v->uuid, "name", v->name,
		      "pool", p ? pool_to(p) : json_null(), "path",
		      v->path[0] ? v->path : v->uuid, "format", fmt[0] ? fmt : "qcow2", "size",
		      (json_int_t)v->size, "encrypt_format",
		      v->encrypt_format[0] ? v->encrypt_format : NULL);
	if (!o) {
		vecs_err_set(err, -ENOMEM, "out of memory building volume %s", v->uuid);
		return NULL;
	}
	if (v->passphrase_id) {
		int r = passphrase_fetch(db, &m->enc, v->passphrase_id, pass, err);

		if (r == 0)
			r = json_object_set_new(o, "passphrase", json_stringn(pass, PASSPHRASE_LEN))
				    ? -ENOMEM
				    : 0;
		explicit_bzero(pass, sizeof(pass));
		if (r < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int cloud_agent_call(struct mgmt *m, const struct host_record *h, const char *name,
		     json_t *args, unsigned timeout_ms, json_t **result, char *errortext,
		     size_t errlen)
{
	struct vecs_err err = { 0 };
	int r;

	*result = NULL;
	if (!m->agents) {
		snprintf(errortext, errlen,
			 "Unable to send %s to host %s: the management server has no agent channel",
			 name, h->name);
		return -EHOSTDOWN;
	}
	if (m->agent_timeout_ms && m->agent_timeout_ms < timeout_ms)
		timeout_ms = m->agent_timeout_ms;
	r = agent_call(m->agents, h->name, name, args, timeout_ms, result, &err);
	if (r < 0) {
		mgmt_log(m, "agent command %s on host %s failed (%d): %s", name, h->name, r, err.msg);
		snprintf(errortext, errlen, "%s on host %s failed: %s", name, h->name, err.msg);
	} else {
		mgmt_log(m, "agent command %s on host %s done", name, h->name);
	}
	return r;
}

/* --- jobs --------------------------------------------------------------------------- */

int cloud_job_submit(struct api_ctx *c, const char *cmd, const char *instance_type,
		     const char *id_uuid, json_t *args, job_fn fn)
{
	struct async_job_record job = { 0 };
	struct vecs_err err = { 0 };
	char *info = json_dumps(args, JSON_COMPACT);
	int r;

	if (!info)
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, "out of memory");
	job.user_id = c->user->id;
	snprintf(job.cmd, sizeof(job.cmd), "%s", cmd);
	snprintf(job.instance_type, sizeof(job.instance_type), "%s", instance_type);
	r = async_job_insert(c->db, &job, info, &err);
	free(info);
	if (r < 0)
		return api_fail_db(c, r, &err);
	r = jobs_submit(c->m->jobs, job.id, fn, job.uuid, &err);
	if (r < 0) {
		(void)async_job_complete(c->db, job.id, ASYNC_JOB_FAILED, API_ERR_INTERNAL,
					 "{\"errorcode\":530,\"errortext\":\"the management server "
					 "is shutting down\"}",
					 &err);
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
				"Unable to execute API command %s: the management server is "
				"shutting down",
				c->cmd_lc);
	}
	if (id_uuid)
		jw_kv_str(c->out, "id", id_uuid);
	jw_kv_str(c->out, "jobid", job.uuid);
	return 0;
}

json_t *cloud_job_args(struct db *db, const char *job_uuid, char *errortext, size_t errlen)
{
	struct vecs_err err = { 0 };
	char *info = NULL;
	json_t *j = NULL;

	if (async_job_cmd_info(db, job_uuid, &info, &err) == 0 && info)
		j = json_loads(info, 0, NULL);
	free(info);
	if (!j)
		snprintf(errortext, errlen, "the parameters of job %s cannot be read", job_uuid);
	return j;
}

/* --- responses ----------------------------------------------------------------------- */

static void kv_host(struct db *db, struct json_writer *w, int64_t host_id)
{
	struct host_filter f = { 0 };
	struct host_record *h = malloc(sizeof(*h));
	struct host_by_id k = { .id = host_id, .out = h };
	struct vecs_err err = { 0 };

	if (h && host_id && host_list(db, &f, host_by_id_cb, &k, &err) == 0 && k.found) {
		jw_kv_str(w, "hostid", h->uuid);
		jw_kv_str(w, "hostname", h->name);
	}
	free(h);
}

struct zone_name {
	int64_t id;
	char uuid[41], name[256];
};

static int zone_cb(void *ctx, const struct zone_record *z)
{
	struct zone_name *n = ctx;

	if (z->id == n->id) {
		snprintf(n->uuid, sizeof(n->uuid), "%s", z->uuid);
		snprintf(n->name, sizeof(n->name), "%s", z->name);
	}
	return 0;
}

static void kv_zone(struct db *db, struct json_writer *w, int64_t zone_id)
{
	struct zone_filter f = { 0 };
	struct zone_name n = { .id = zone_id };
	struct vecs_err err = { 0 };

	if (zone_id && zone_list(db, &f, zone_cb, &n, &err) == 0 && n.uuid[0]) {
		jw_kv_str(w, "zoneid", n.uuid);
		jw_kv_str(w, "zonename", n.name);
	}
}

void vm_json(struct db *db, struct json_writer *w, const struct vm_record *v)
{
	struct service_offering_record so;
	struct template_record t;
	struct vecs_err err = { 0 };

	jw_obj_begin(w);
	jw_kv_str(w, "id", v->uuid);
	jw_kv_str(w, "name", v->name);
	jw_kv_str(w, "displayname", v->display_name);
	jw_kv_str(w, "instancename", v->instance_name);
	jw_kv_str(w, "state", v->state);
	jw_kv_str(w, "hypervisor", "KVM");
	kv_zone(db, w, v->zone_id);
	kv_host(db, w, v->host_id);
	if (service_offering_get(db, v->service_offering_id, &so, &err) == 0) {
		jw_kv_str(w, "serviceofferingid", so.uuid);
		jw_kv_str(w, "serviceofferingname", so.name);
		if (so.cpu)
			jw_kv_int(w, "cpunumber", so.cpu);
		if (so.speed)
			jw_kv_int(w, "cpuspeed", so.speed);
		if (so.ram_size)
			jw_kv_int(w, "memory", so.ram_size);
	}
	if (template_get(db, v->template_id, &t, &err) == 0) {
		jw_kv_str(w, "templateid", t.uuid);
		jw_kv_str(w, "templatename", t.name);
	}
	api_kv_date(w, "created", v->created);
	jw_obj_end(w);
}

void volume_json(struct db *db, struct json_writer *w, const struct volume_record *v)
{
	struct disk_offering_record off;
	struct pool_record *p = malloc(sizeof(*p));
	struct vm_record vm;
	struct vecs_err err = { 0 };

	jw_obj_begin(w);
	jw_kv_str(w, "id", v->uuid);
	jw_kv_str(w, "name", v->name);
	kv_zone(db, w, v->zone_id);
	jw_kv_str(w, "type", v->volume_type);
	if (v->instance_id && vm_get(db, v->instance_id, &vm, &err) == 0) {
		jw_kv_str(w, "virtualmachineid", vm.uuid);
		jw_kv_str(w, "vmname", vm.name);
		jw_kv_str(w, "vmdisplayname", vm.display_name);
		jw_kv_str(w, "vmstate", vm.state);
		if (v->has_device_id)
			jw_kv_int(w, "deviceid", v->device_id);
	}
	jw_kv_uint(w, "size", v->size);
	jw_kv_str(w, "state", v->state);
	if (disk_offering_get(db, v->disk_offering_id, &off, &err) == 0) {
		jw_kv_str(w, off.compute_only ? "serviceofferingid" : "diskofferingid", off.uuid);
		jw_kv_str(w, off.compute_only ? "serviceofferingname" : "diskofferingname",
			  off.name);
		jw_kv_str(w, "storagetype", off.use_local_storage ? "local" : "shared");
	}
	if (p && v->pool_id && pool_get(db, v->pool_id, p, &err) == 0) {
		jw_kv_str(w, "storageid", p->uuid);
		jw_kv_str(w, "storage", p->name);
	}
	if (v->path[0])
		jw_kv_str(w, "path", v->path);
	jw_kv_str(w, "provisioningtype", "thin");
	jw_kv_str(w, "hypervisor", "KVM");
	jw_kv_bool(w, "isextractable", true);
	/* 4.19.1: encryptformat, present once the agent has encrypted the volume */
	if (v->encrypt_format[0])
		jw_kv_str(w, "encryptformat", v->encrypt_format);
	api_kv_date(w, "created", v->created);
	jw_obj_end(w);
	free(p);
}

void pool_json(struct json_writer *w, const struct pool_record *p)
{
	jw_obj_begin(w);
	jw_kv_str(w, "id", p->uuid);
	jw_kv_str(w, "name", p->name);
	jw_kv_str(w, "zoneid", p->zone_uuid);
	jw_kv_str(w, "zonename", p->zone_name);
	jw_kv_str(w, "type", p->pool_type);
	jw_kv_str(w, "ipaddress", p->host_address);
	jw_kv_str(w, "path", p->path);
	jw_kv_str(w, "state", p->status);
	jw_kv_str(w, "scope", p->scope);
	jw_kv_str(w, "provider", p->provider);
	if (p->host_uuid[0]) {
		jw_kv_str(w, "hostid", p->host_uuid);
		jw_kv_str(w, "hostname", p->host_name);
	}
	if (p->tags[0])
		jw_kv_str(w, "tags", p->tags);
	jw_kv_uint(w, "disksizetotal", p->capacity);
	jw_kv_uint(w, "disksizeused", p->used);
	jw_kv_str(w, "hypervisor", "KVM");
	api_kv_date(w, "created", p->created);
	jw_obj_end(w);
}

void template_json(struct json_writer *w, const struct template_record *t)
{
	jw_obj_begin(w);
	jw_kv_str(w, "id", t->uuid);
	jw_kv_str(w, "name", t->name);
	jw_kv_str(w, "displaytext", t->display_text);
	jw_kv_str(w, "format", t->format);
	jw_kv_str(w, "hypervisor", t->hypervisor);
	jw_kv_uint(w, "size", t->size);
	jw_kv_bool(w, "isready", true);
	jw_kv_str(w, "status", "Download Complete");
	jw_kv_bool(w, "ispublic", true);
	jw_kv_bool(w, "isfeatured", true);
	jw_kv_str(w, "templatetype", "USER");
	api_kv_date(w, "created", t->created);
	jw_obj_end(w);
}

void snapshot_json(struct db *db, struct json_writer *w, const struct snapshot_record *s)
{
	struct volume_record v;
	struct vecs_err err = { 0 };

	jw_obj_begin(w);
	jw_kv_str(w, "id", s->uuid);
	jw_kv_str(w, "name", s->name);
	if (volume_get(db, s->volume_id, &v, &err) == 0) {
		jw_kv_str(w, "volumeid", v.uuid);
		jw_kv_str(w, "volumename", v.name);
		jw_kv_str(w, "volumetype", v.volume_type);
	}
	kv_zone(db, w, s->zone_id);
	jw_kv_str(w, "snapshottype", "MANUAL");
	jw_kv_str(w, "intervaltype", "MANUAL");
	jw_kv_str(w, "state", s->status);
	jw_kv_uint(w, "physicalsize", s->size);
	jw_kv_bool(w, "revertable", true);
	api_kv_date(w, "created", s->created);
	jw_obj_end(w);
}
