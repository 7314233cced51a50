/* The API commands of the control plane, as CloudStack 4.18 names and shapes them
 * (CLOUDSTACK.md, "API"). Each handler reads its parameters with the api_get_*
 * helpers (431 naming the parameter), does its work through the DAOs (prepared
 * statements only: any name is stored verbatim) and writes the members of its
 * "<command>response" object. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/async_job_dao.h"
#include "db/host_dao.h"
#include "db/offering_dao.h"
#include "mgmt/api_internal.h"
#include "mgmt/jobs.h"

#define GiB (1024ULL * 1024 * 1024)
#define NAME_MAX_LEN 255
#define TEXT_MAX_LEN 4096

/* --- zones --------------------------------------------------------------------- */

static int zone_row(void *ctx, const struct zone_record *z)
{
	struct api_list *l = ctx;
	struct json_writer *j = &l->rows;

	if (!api_list_take(l))
		return 0;
	jw_obj_begin(j);
	jw_kv_str(j, "id", z->uuid);
	jw_kv_str(j, "name", z->name);
	jw_kv_str(j, "networktype", z->networktype);
	jw_kv_str(j, "allocationstate", z->allocation_state);
	jw_kv_bool(j, "localstorageenabled", true);
	jw_kv_bool(j, "securitygroupsenabled", false);
	jw_obj_end(j);
	return 0;
}

static int cmd_list_zones(struct api_ctx *c)
{
	struct zone_filter f = { 0 };
	struct vecs_err err = { 0 };
	struct api_list l;
	int r;

	if (api_list_begin(&l, c) < 0 || api_get_uuid(c, "id", false, &f.uuid) < 0 ||
	    api_get_str(c, "name", false, NAME_MAX_LEN, &f.name) < 0)
		return api_list_abandon(&l);
	r = zone_list(c->db, &f, zone_row, &l, &err);
	if (r >= 0 && f.uuid && l.total == 0) {
		api_fail_no_entity(c, "id", f.uuid);
		return api_list_abandon(&l);
	}
	return api_list_finish(&l, r, &err, "zone");
}

/* --- disk offerings -------------------------------------------------------------- */

static void disk_offering_json(struct json_writer *j, const struct disk_offering_record *o)
{
	jw_obj_begin(j);
	jw_kv_str(j, "id", o->uuid);
	jw_kv_str(j, "name", o->name);
	jw_kv_str(j, "displaytext", o->display_text);
	jw_kv_int(j, "disksize", (int64_t)(o->disk_size / GiB));
	jw_kv_bool(j, "iscustomized", o->disk_size == 0);
	api_kv_date(j, "created", o->created);
	jw_kv_str(j, "storagetype", o->use_local_storage ? "local" : "shared");
	if (o->tags[0])
		jw_kv_str(j, "tags", o->tags);
	jw_kv_str(j, "provisioningtype", "thin");
	jw_kv_bool(j, "encrypt", o->encrypt);
	jw_kv_bool(j, "displayoffering", true);
	jw_obj_end(j);
}

static int cmd_create_disk_offering(struct api_ctx *c)
{
	struct disk_offering_record o = { 0 }, back;
	const char *name, *text;
	int64_t size = 0;
	bool has_size;
	int customized, encrypt, r;
	struct vecs_err err = { 0 };

	if (api_get_str(c, "name", true, NAME_MAX_LEN, &name) < 0 ||
	    api_get_str(c, "displaytext", false, TEXT_MAX_LEN, &text) < 0 ||
	    api_get_long(c, "disksize", false, 0, 1 << 20, &size, &has_size) < 0 ||
	    api_get_bool(c, "customized", !has_size, &customized) < 0 ||
	    api_get_bool(c, "encrypt", 0, &encrypt) < 0 ||
	    api_get_storage_placement(c, o.tags, sizeof(o.tags), &o.use_local_storage) < 0)
		return -1;
	if (!customized && !has_size)
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Disksize is required for a non-customized disk offering");
	if (!customized && size < 1)
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Please specify a disk size of at least 1 GB.");
	snprintf(o.name, sizeof(o.name), "%s", name);
	snprintf(o.display_text, sizeof(o.display_text), "%s", text ? text : name);
	o.disk_size = customized ? 0 : (uint64_t)size * GiB;
	o.encrypt = encrypt;
	r = disk_offering_insert(c->db, &o, &err);
	if (r == 0)
		r = disk_offering_get(c->db, o.id, &back, &err);
	if (r < 0)
		return api_fail_db(c, r, &err);
	jw_key(c->out, "diskoffering");
	disk_offering_json(c->out, &back);
	return 0;
}

static int disk_offering_row(void *ctx, const struct disk_offering_record *o)
{
	struct api_list *l = ctx;

	if (api_list_take(l))
		disk_offering_json(&l->rows, o);
	return 0;
}

static int cmd_list_disk_offerings(struct api_ctx *c)
{
	struct disk_offering_filter f = { .encrypt = -1 };
	struct vecs_err err = { 0 };
	struct api_list l;
	int r;

	if (api_list_begin(&l, c) < 0 || api_get_uuid(c, "id", false, &f.uuid) < 0 ||
	    api_get_str(c, "name", false, NAME_MAX_LEN, &f.name) < 0 ||
	    api_get_bool(c, "encrypt", -1, &f.encrypt) < 0)
		return api_list_abandon(&l);
	r = disk_offering_list(c->db, &f, disk_offering_row, &l, &err);
	return api_list_finish(&l, r, &err, "diskoffering");
}

/* --- service offerings ----------------------------------------------------------- */

static void service_offering_json(struct json_writer *j, const struct service_offering_record *o)
{
	jw_obj_begin(j);
	jw_kv_str(j, "id", o->uuid);
	jw_kv_str(j, "name", o->name);
	jw_kv_str(j, "displaytext", o->display_text);
	if (o->cpu)
		jw_kv_int(j, "cpunumber", o->cpu);
	if (o->speed)
		jw_kv_int(j, "cpuspeed", o->speed);
	if (o->ram_size)
		jw_kv_int(j, "memory", o->ram_size);
	api_kv_date(j, "created", o->created);
	jw_kv_str(j, "storagetype", "shared");
	jw_kv_bool(j, "offerha", false);
	jw_kv_bool(j, "limitcpuuse", false);
	jw_kv_bool(j, "iscustomized", o->cpu == 0 || o->ram_size == 0);
	if (o->disk_offering_uuid[0])
		jw_kv_str(j, "diskofferingid", o->disk_offering_uuid);
	jw_kv_bool(j, "encryptroot", o->encrypt_root);
	jw_obj_end(j);
}

static int cmd_create_service_offering(struct api_ctx *c)
{
	struct service_offering_record so = { 0 }, back;
	struct disk_offering_record root = { 0 };
	const char *name, *text, *disk_uuid;
	int64_t cpu = 0, speed = 0, mem = 0;
	struct vecs_err err = { 0 };
	int encrypt_root, r;

	if (api_get_str(c, "name", true, NAME_MAX_LEN, &name) < 0 ||
	    api_get_str(c, "displaytext", false, TEXT_MAX_LEN, &text) < 0 ||
	    api_get_long(c, "cpunumber", false, 1, 1024, &cpu, NULL) < 0 ||
	    api_get_long(c, "cpuspeed", false, 1, 1000000, &speed, NULL) < 0 ||
	    api_get_long(c, "memory", false, 1, 1 << 30, &mem, NULL) < 0 ||
	    api_get_bool(c, "encryptroot", 0, &encrypt_root) < 0 ||
	    api_get_uuid(c, "diskofferingid", false, &disk_uuid) < 0 ||
	    api_get_storage_placement(c, root.tags, sizeof(root.tags), &root.use_local_storage) < 0)
		return -1;
	snprintf(so.name, sizeof(so.name), "%s", name);
	snprintf(so.display_text, sizeof(so.display_text), "%s", text ? text : name);
	so.cpu = (unsigned)cpu;
	so.speed = (unsigned)speed;
	so.ram_size = (unsigned)mem;
	r = db_begin(c->db, &err);
	if (r < 0)
		return api_fail_db(c, r, &err);
	if (disk_uuid) {
		/* That offering decides whether the root volume is encrypted. */
		r = disk_offering_id_by_uuid(c->db, disk_uuid, &so.disk_offering_id, &err);
		if (r == -ENOENT) {
			db_rollback(c->db);
			return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
					"Please specify a valid disk offering.");
		}
	} else {
		/* Its own compute-only disk offering carries encryptroot. */
		snprintf(root.name, sizeof(root.name), "%s", name);
		snprintf(root.display_text, sizeof(root.display_text), "%s", so.display_text);
		root.encrypt = encrypt_root;
		root.compute_only = 1;
		r = disk_offering_insert(c->db, &root, &err);
		so.disk_offering_id = root.id;
	}
	if (r == 0)
		r = service_offering_insert(c->db, &so, &err);
	if (r == 0)
		r = db_commit(c->db, &err);
	else
		db_rollback(c->db);
	if (r == 0)
		r = service_offering_get(c->db, so.id, &back, &err);
	if (r < 0)
		return api_fail_db(c, r, &err);
	jw_key(c->out, "serviceoffering");
	service_offering_json(c->out, &back);
	return 0;
}

static int service_offering_row(void *ctx, const struct service_offering_record *o)
{
	struct api_list *l = ctx;

	if (api_list_take(l))
		service_offering_json(&l->rows, o);
	return 0;
}

static int cmd_list_service_offerings(struct api_ctx *c)
{
	struct service_offering_filter f = { .encrypt_root = -1 };
	struct vecs_err err = { 0 };
	struct api_list l;
	int r;

	if (api_list_begin(&l, c) < 0 || api_get_uuid(c, "id", false, &f.uuid) < 0 ||
	    api_get_str(c, "name", false, NAME_MAX_LEN, &f.name) < 0 ||
	    api_get_bool(c, "encryptroot", -1, &f.encrypt_root) < 0)
		return api_list_abandon(&l);
	r = service_offering_list(c->db, &f, service_offering_row, &l, &err);
	return api_list_finish(&l, r, &err, "serviceoffering");
}

/* --- hosts ------------------------------------------------------------------------ */

/* As HostJoinDaoImpl: encryptionsupported from host.volume.encryption
 * (Boolean.parseBoolean, default false), and that detail left out of `details`. */
static void host_json(struct json_writer *j, const struct host_record *h)
{
	bool enc = false;

	jw_obj_begin(j);
	jw_kv_str(j, "id", h->uuid);
	jw_kv_str(j, "name", h->name);
	jw_kv_str(j, "state", h->status);
	jw_kv_str(j, "type", h->type);
	if (h->ip[0])
		jw_kv_str(j, "ipaddress", h->ip);
	jw_kv_str(j, "zoneid", h->zone_uuid);
	jw_kv_str(j, "zonename", h->zone_name);
	jw_kv_str(j, "hypervisor", h->hypervisor);
	jw_kv_str(j, "resourcestate", h->resource_state);
	api_kv_date(j, "created", h->created);
	jw_key(j, "details");
	jw_obj_begin(j);
	for (unsigned i = 0; i < h->n_details; i++) {
		if (strcmp(h->details[i].name, HOST_DETAIL_VOLUME_ENCRYPTION) == 0) {
			enc = strcasecmp(h->details[i].value, "true") == 0;
			continue;
		}
		jw_kv_str(j, h->details[i].name, h->details[i].value);
	}
	jw_obj_end(j);
	jw_kv_bool(j, "encryptionsupported", enc);
	jw_obj_end(j);
}

static int host_row(void *ctx, const struct host_record *h)
{
	struct api_list *l = ctx;

	if (api_list_take(l))
		host_json(&l->rows, h);
	return 0;
}

static int cmd_list_hosts(struct api_ctx *c)
{
	struct host_filter f = { 0 };
	struct vecs_err err = { 0 };
	struct api_list l;
	int r;

	if (api_list_begin(&l, c) < 0 || api_get_uuid(c, "id", false, &f.uuid) < 0 ||
	    api_get_str(c, "name", false, NAME_MAX_LEN, &f.name) < 0 ||
	    api_get_uuid(c, "zoneid", false, &f.zone_uuid) < 0 ||
	    api_get_str(c, "type", false, 32, &f.type) < 0)
		return api_list_abandon(&l);
	r = host_list(c->db, &f, host_row, &l, &err);
	if (r >= 0 && f.uuid && l.total == 0) {
		api_fail_no_entity(c, "id", f.uuid);
		return api_list_abandon(&l);
	}
	return api_list_finish(&l, r, &err, "host");
}

/* --- async: host maintenance --------------------------------------------------------- */

static int host_state_job(struct db *db, const char *uuid, const char *from, const char *to,
			  const char *verb, struct json_writer *result, int *errcode, char *errortext,
			  size_t errlen)
{
	struct host_record *h = malloc(sizeof(*h));
	struct vecs_err err = { 0 };
	int r;

	if (!h) {
		snprintf(errortext, errlen, "out of memory");
		return -ENOMEM;
	}
	r = host_get_by_uuid(db, uuid, h, &err);
	if (r == 0)
		r = host_change_resource_state(db, h->id, from, to, &err);
	if (r == -EAGAIN) {
		*errcode = API_ERR_INTERNAL;
		snprintf(errortext, errlen, "Cannot perform %s when resource state is %s, hostId = %s",
			 verb, h->resource_state, h->uuid);
	} else if (r < 0) {
		*errcode = API_ERR_INTERNAL;
		snprintf(errortext, errlen, "Failed to %s host %s", verb, uuid);
	} else if ((r = host_get_by_uuid(db, uuid, h, &err)) == 0) {
		jw_key(result, "host");
		host_json(result, h);
	}
	free(h);
	return r;
}

static int job_prepare_maintenance(struct mgmt *m, struct db *db, const char *uuid,
				   struct json_writer *result, int *errcode, char *errortext,
				   size_t errlen)
{
	/* No VMs yet to migrate away: PrepareForMaintenance completes at once. */
	return host_state_job(db, uuid, "Enabled", "Maintenance", "maintain", result, errcode,
			      errortext, errlen);
}

static int job_cancel_maintenance(struct mgmt *m, struct db *db, const char *uuid,
				  struct json_writer *result, int *errcode, char *errortext,
				  size_t errlen)
{
	return host_state_job(db, uuid, "Maintenance", "Enabled", "cancelMaintenance", result,
			      errcode, errortext, errlen);
}

static int submit_host_job(struct api_ctx *c, const char *java_cmd, job_fn fn)
{
	struct async_job_record job = { 0 };
	struct host_record *h;
	struct vecs_err err = { 0 };
	const char *uuid;
	char info[128];
	int r;

	if (api_get_uuid(c, "id", true, &uuid) < 0)
		return -1;
	h = malloc(sizeof(*h));
	if (!h)
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, "out of memory");
	r = host_get_by_uuid(c->db, uuid, h, &err);
	free(h);
	if (r == -ENOENT)
		return api_fail_no_entity(c, "id", uuid);
	if (r < 0)
		return api_fail_db(c, r, &err);
	job.user_id = c->user->id;
	snprintf(job.cmd, sizeof(job.cmd), "%s", java_cmd);
	snprintf(job.instance_type, sizeof(job.instance_type), "Host");
	snprintf(info, sizeof(info), "{\"id\":\"%s\"}", uuid);
	r = async_job_insert(c->db, &job, info, &err);
	if (r < 0)
		return api_fail_db(c, r, &err);
	r = jobs_submit(c->m->jobs, job.id, fn, uuid, &err);
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
	jw_kv_str(c->out, "jobid", job.uuid);
	return 0;
}

static int cmd_prepare_host_for_maintenance(struct api_ctx *c)
{
	return submit_host_job(c, "org.apache.cloudstack.api.command.admin.host.PrepareForMaintenanceCmd",
			       job_prepare_maintenance);
}

static int cmd_cancel_host_maintenance(struct api_ctx *c)
{
	return submit_host_job(c, "org.apache.cloudstack.api.command.admin.host.CancelMaintenanceCmd",
			       job_cancel_maintenance);
}

static int cmd_query_async_job_result(struct api_ctx *c)
{
	struct async_job_record job;
	struct vecs_err err = { 0 };
	const char *uuid;
	int r;

	if (api_get_uuid(c, "jobid", true, &uuid) < 0)
		return -1;
	r = async_job_get(c->db, uuid, c->user->id, &job, &err);
	if (r == -ENOENT)
		return api_fail_no_entity(c, "jobid", uuid);
	if (r < 0)
		return api_fail_db(c, r, &err);
	jw_kv_str(c->out, "jobid", job.uuid);
	jw_kv_str(c->out, "userid", c->user->uuid);
	jw_kv_str(c->out, "cmd", job.cmd);
	jw_kv_int(c->out, "jobstatus", job.status);
	jw_kv_int(c->out, "jobprocstatus", 0);
	jw_kv_int(c->out, "jobresultcode", job.result_code);
	if (job.instance_type[0])
		jw_kv_str(c->out, "jobinstancetype", job.instance_type);
	if (job.status != ASYNC_JOB_PENDING) {
		jw_kv_str(c->out, "jobresulttype", "object");
		jw_key(c->out, "jobresult");
		if (job.result)
			jw_raw(c->out, job.result, strlen(job.result));
		else
			jw_raw(c->out, "{}", 2);
		api_kv_date(c->out, "completed", job.last_updated);
	}
	api_kv_date(c->out, "created", job.created);
	async_job_record_free(&job);
	return 0;
}

/* --- capabilities ------------------------------------------------------------------- */

static int cmd_list_capabilities(struct api_ctx *c)
{
	struct json_writer *j = c->out;

	jw_key(j, "capability");
	jw_obj_begin(j);
	jw_kv_str(j, "cloudstackversion", "4.18.0.0");
	jw_kv_bool(j, "securitygroupsenabled", false);
	jw_kv_bool(j, "userpublictemplateenabled", true);
	jw_kv_bool(j, "kvmsnapshotenabled", false);
	jw_kv_int(j, "customdiskofferingminsize", 1);
	jw_kv_int(j, "customdiskofferingmaxsize", 1024);
	jw_kv_bool(j, "dynamicrolesenabled", false);
	jw_kv_bool(j, "kubernetesserviceenabled", false);
	jw_obj_end(j);
	return 0;
}

static const struct api_command commands[] = {
	{ "listZones", cmd_list_zones, false },
	{ "listCapabilities", cmd_list_capabilities, false },
	{ "createDiskOffering", cmd_create_disk_offering, false },
	{ "listDiskOfferings", cmd_list_disk_offerings, false },
	{ "createServiceOffering", cmd_create_service_offering, false },
	{ "listServiceOfferings", cmd_list_service_offerings, false },
	{ "listHosts", cmd_list_hosts, false },
	{ "prepareHostForMaintenance", cmd_prepare_host_for_maintenance, true },
	{ "cancelHostMaintenance", cmd_cancel_host_maintenance, true },
	{ "queryAsyncJobResult", cmd_query_async_job_result, false },
};

const struct api_command *api_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	/* the VM and volume side (api_vm.c, api_volume.c, api_storage.c) */
	return api_cloud_command_find(name);
}

int api_get_storage_placement(struct api_ctx *c, char *tags, size_t tags_size, int *local)
{
	const char *type, *t;

	if (api_get_str(c, "storagetype", false, 16, &type) < 0 ||
	    api_get_str(c, "tags", false, 1000, &t) < 0)
		return -1;
	*local = 0;
	if (type && !strcasecmp(type, "local"))
		*local = 1;
	else if (type && strcasecmp(type, "shared"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Invalid storage type %.16s: use shared or local", type);
	snprintf(tags, tags_size, "%s", t ? t : "");
	return 0;
}
