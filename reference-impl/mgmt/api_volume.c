/* Volume and snapshot commands: createVolume, attachVolume, detachVolume, resizeVolume,
 * deleteVolume, extractVolume, migrateVolume, listVolumes, createSnapshot,
 * listSnapshots, revertSnapshot, createSnapshotPolicy, createTemplate.
 *
 * Refusals (CLOUDSTACK.md, "Refusals") are decided here, before any row is written or
 * any agent command is sent, so a refused call changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/passphrase.h"
#include "mgmt/cloud_ops.h"
#include "mgmt/volume_ops.h"

#define CMD(x) "org.apache.cloudstack.api.command.user.volume." x

static int get_volume(struct api_ctx *c, const char *param, bool required,
		      struct volume_record *v, const char **uuid_out)
{
	struct vecs_err err = { 0 };
	const char *uuid;
	int r;

	if (api_get_uuid(c, param, required, &uuid) < 0)
		return -1;
	if (uuid_out)
		*uuid_out = uuid;
	if (!uuid)
		return 1;
	r = volume_get_by_uuid(c->db, uuid, v, &err);
	if (r == -ENOENT || (r == 0 && v->removed))
		return api_fail_no_entity(c, param, uuid);
	if (r < 0)
		return api_fail_db(c, r, &err);
	return 0;
}

/* The end of a job on volume v: when r == 0, v read again and written as the job's
 * "volume" result; when r < 0, errortext says "Failed to <what>: ..." unless the
 * operation already said why. Returns r, or the error of reading v again. */
static int finish_volume_job(struct db *db, int r, struct volume_record *v,
			     struct json_writer *result, struct vecs_err *err, char *errortext,
			     size_t errlen, const char *what)
{
	if (r == 0 && (r = volume_get(db, v->id, v, err)) == 0) {
		jw_key(result, "volume");
		volume_json(db, result, v);
	} else if (r < 0 && !errortext[0]) {
		snprintf(errortext, errlen, "Failed to %s: %s", what, err->msg);
	}
	return r;
}

/* --- createVolume -------------------------------------------------------------------- */

static int job_create_volume(struct mgmt *m, struct db *db, const char *job,
			     struct json_writer *result, int *errcode, char *errortext,
			     size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct volume_record v;
	struct vecs_err err = { 0 };
	int r = -EINVAL;

	if (!a)
		return -EINVAL;
	r = volume_get_by_uuid(db, json_string_value(json_object_get(a, "volume")), &v, &err);
	if (r == 0 && json_object_get(a, "snapshot"))
		r = volume_ops_create_on_primary(m, db, &v, 0,
						 json_string_value(json_object_get(a, "snapshot")),
						 errcode, errortext, errlen);
	r = finish_volume_job(db, r, &v, result, &err, errortext, errlen, "create volume");
	json_decref(a);
	return r;
}

static int cmd_create_volume(struct api_ctx *c)
{
	struct disk_offering_record off;
	struct snapshot_record snap;
	struct volume_record v = { 0 }, src;
	const char *name, *off_uuid, *snap_uuid, *zone_uuid;
	int64_t size = 0, off_id = 0;
	bool has_size;
	struct vecs_err err = { 0 };
	json_t *args;
	int r;

	if (api_get_str(c, "name", false, 255, &name) < 0 ||
	    api_get_uuid(c, "diskofferingid", false, &off_uuid) < 0 ||
	    api_get_uuid(c, "snapshotid", false, &snap_uuid) < 0 ||
	    api_get_uuid(c, "zoneid", false, &zone_uuid) < 0 ||
	    api_get_long(c, "size", false, 1, 1 << 20, &size, &has_size) < 0)
		return -1;
	if (!off_uuid && !snap_uuid)
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Either disk Offering Id or snapshot Id must be passed whilst "
				"creating volume");
	if (snap_uuid) {
		r = snapshot_get_by_uuid(c->db, snap_uuid, &snap, &err);
		if (r == -ENOENT)
			return api_fail_no_entity(c, "snapshotid", snap_uuid);
		if (r == 0)
			r = volume_get(c->db, snap.volume_id, &src, &err);
		if (r < 0)
			return api_fail_db(c, r, &err);
		if (volume_is_encrypted(c->db, &src))
			return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
					"Cannot create new volumes from encrypted volume snapshots");
		off_id = src.disk_offering_id;
		v.zone_id = snap.zone_id;
		v.size = src.size;
	} else {
		if (!zone_uuid)
			return api_fail(c, API_ERR_PARAM, API_CSERR_SERVER_API,
					"Unable to execute API command createvolume due to missing "
					"parameter zoneid");
		if (cloud_zone_id(c, "zoneid", zone_uuid, &v.zone_id) < 0)
			return -1;
		r = disk_offering_id_by_uuid(c->db, off_uuid, &off_id, &err);
		if (r == -ENOENT)
			return api_fail_no_entity(c, "diskofferingid", off_uuid);
		if (r < 0)
			return api_fail_db(c, r, &err);
	}
	if ((r = disk_offering_get(c->db, off_id, &off, &err)) < 0)
		return api_fail_db(c, r, &err);
	if (!snap_uuid) {
		if (off.disk_size == 0 && !has_size)
			return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
					"This disk offering requires a custom size specified");
		v.size = off.disk_size ? off.disk_size : (uint64_t)size * GIB;
	}
	if ((r = db_uuid_v4(v.uuid, &err)) < 0)
		return api_fail_db(c, r, &err);
	snprintf(v.name, sizeof(v.name), "%s", name ? name : v.uuid);
	snprintf(v.volume_type, sizeof(v.volume_type), "DATADISK");
	snprintf(v.state, sizeof(v.state), "Allocated");
	snprintf(v.format, sizeof(v.format), "QCOW2");
	v.disk_offering_id = off_id;
	if ((r = volume_insert(c->db, &v, &err)) < 0)
		return api_fail_db(c, r, &err);
	args = json_pack("{s:s}", "volume", v.uuid);
	if (snap_uuid)
		json_object_set_new(args, "snapshot", json_string(snap_uuid));
	r = cloud_job_submit(c, CMD("CreateVolumeCmd"), "Volume", v.uuid, args, job_create_volume);
	json_decref(args);
	return r;
}

/* --- attach / detach ------------------------------------------------------------------- */

static int job_attach(struct mgmt *m, struct db *db, const char *job, struct json_writer *result,
		      int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct volume_record v;
	struct vm_record vm;
	struct vecs_err err = { 0 };
	int r;

	if (!a)
		return -EINVAL;
	r = volume_get_by_uuid(db, json_string_value(json_object_get(a, "volume")), &v, &err);
	if (r == 0)
		r = vm_get_by_uuid(db, json_string_value(json_object_get(a, "vm")), &vm, &err);
	if (r == 0)
		r = volume_ops_attach(m, db, &v, &vm,
				      json_integer_value(json_object_get(a, "deviceid")), errcode,
				      errortext, errlen);
	r = finish_volume_job(db, r, &v, result, &err, errortext, errlen, "attach volume");
	json_decref(a);
	return r;
}

static int cmd_attach_volume(struct api_ctx *c)
{
	struct volume_record v;
	struct vm_record vm;
	struct host_record *h;
	int64_t dev = 0;
	bool has_dev;
	struct vecs_err err = { 0 };
	json_t *args;
	int r;

	if (get_volume(c, "id", true, &v, NULL) < 0 || cloud_get_vm(c, "virtualmachineid", &vm) < 0 ||
	    api_get_long(c, "deviceid", false, 1, 15, &dev, &has_dev) < 0)
		return -1;
	if (v.instance_id)
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Please specify a volume that is not attached to any VM.");
	if (strcmp(v.volume_type, "DATADISK"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Please specify a volume with the valid type: DATADISK");
	if (strcmp(v.state, "Allocated") && strcmp(v.state, "Ready"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Volume %s is in state %s, not Allocated or Ready", v.name, v.state);
	if (strcmp(vm.state, "Running") && strcmp(vm.state, "Stopped"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Please specify a VM that is either running or stopped.");
	if (volume_is_encrypted(c->db, &v) && vm.host_id) {
		h = malloc(sizeof(*h));
		if (!h)
			return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, "out of memory");
		r = volume_ops_host(c->db, vm.host_id, h, &err);
		if (r == 0 && !host_supports_encryption(h)) {
			api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
				 "Failed to attach volume %s to VM %s because target host %s doesn't "
				 "support volume encryption",
				 v.name, vm.name, h->name);
			free(h);
			return -1;
		}
		free(h);
	}
	args = json_pack("{s:s, s:s, s:I}", "volume", v.uuid, "vm", vm.uuid, "deviceid",
			 (json_int_t)(has_dev ? dev : 0));
	r = cloud_job_submit(c, CMD("AttachVolumeCmd"), "Volume", NULL, args, job_attach);
	json_decref(args);
	return r;
}

static int job_detach(struct mgmt *m, struct db *db, const char *job, struct json_writer *result,
		      int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct volume_record v;
	struct vecs_err err = { 0 };
	int r;

	if (!a)
		return -EINVAL;
	r = volume_get_by_uuid(db, json_string_value(json_object_get(a, "volume")), &v, &err);
	if (r == 0)
		r = volume_ops_detach(m, db, &v, errcode, errortext, errlen);
	r = finish_volume_job(db, r, &v, result, &err, errortext, errlen, "detach volume");
	json_decref(a);
	return r;
}

static int cmd_detach_volume(struct api_ctx *c)
{
	struct volume_record v;
	json_t *args;
	int r;

	if (get_volume(c, "id", true, &v, NULL) < 0)
		return -1;
	if (!v.instance_id)
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Please specify a volume that is attached to a VM.");
	if (!strcmp(v.volume_type, "ROOT"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Please specify a volume with the valid type: DATADISK");
	args = json_pack("{s:s}", "volume", v.uuid);
	r = cloud_job_submit(c, CMD("DetachVolumeCmd"), "Volume", NULL, args, job_detach);
	json_decref(args);
	return r;
}

/* --- resize ---------------------------------------------------------------------------- */

static int job_resize(struct mgmt *m, struct db *db, const char *job, struct json_writer *result,
		      int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct volume_record v;
	struct vecs_err err = { 0 };
	int r;

	if (!a)
		return -EINVAL;
	r = volume_get_by_uuid(db, json_string_value(json_object_get(a, "volume")), &v, &err);
	if (r == 0)
		r = volume_ops_resize(m, db, &v,
				      (uint64_t)json_integer_value(json_object_get(a, "size")),
				      json_integer_value(json_object_get(a, "offering")), errcode,
				      errortext, errlen);
	r = finish_volume_job(db, r, &v, result, &err, errortext, errlen, "resize volume");
	json_decref(a);
	return r;
}

static int cmd_resize_volume(struct api_ctx *c)
{
	struct disk_offering_record cur, to;
	struct volume_record v;
	const char *off_uuid;
	int64_t size = 0, off_id = 0;
	bool has_size;
	int shrinkok;
	uint64_t new_size;
	struct vecs_err err = { 0 };
	json_t *args;
	int r;

	if (get_volume(c, "id", true, &v, NULL) < 0 ||
	    api_get_long(c, "size", false, 1, 1 << 20, &size, &has_size) < 0 ||
	    api_get_uuid(c, "diskofferingid", false, &off_uuid) < 0 ||
	    api_get_bool(c, "shrinkok", 0, &shrinkok) < 0)
		return -1;
	if ((r = disk_offering_get(c->db, v.disk_offering_id, &cur, &err)) < 0)
		return api_fail_db(c, r, &err);
	to = cur;
	if (off_uuid) {
		r = disk_offering_id_by_uuid(c->db, off_uuid, &off_id, &err);
		if (r == -ENOENT)
			return api_fail_no_entity(c, "diskofferingid", off_uuid);
		if (r == 0)
			r = disk_offering_get(c->db, off_id, &to, &err);
		if (r < 0)
			return api_fail_db(c, r, &err);
		if (!!to.encrypt != !!cur.encrypt)
			return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
					"Current disk offering's encryption(%s) does not match target "
					"disk offering's encryption(%s)",
					cur.encrypt ? "true" : "false", to.encrypt ? "true" : "false");
	}
	if (has_size)
		new_size = (uint64_t)size * GIB;
	else if (off_uuid && to.disk_size)
		new_size = to.disk_size;
	else
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"No size or disk offering with a size given for volume %s", v.name);
	if (new_size < v.size && !shrinkok)
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Going from existing size of %llu to size of %llu would shrink the "
				"volume.Need to sign off by supplying the shrinkok parameter with "
				"value of true.",
				(unsigned long long)v.size, (unsigned long long)new_size);
	if (strcmp(v.state, "Allocated") && strcmp(v.state, "Ready"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Volume %s should be in Ready or Allocated state before resizing, "
				"it is %s", v.name, v.state);
	args = json_pack("{s:s, s:I, s:I}", "volume", v.uuid, "size", (json_int_t)new_size,
			 "offering", (json_int_t)off_id);
	r = cloud_job_submit(c, CMD("ResizeVolumeCmd"), "Volume", NULL, args, job_resize);
	json_decref(args);
	return r;
}

/* --- delete (synchronous, as upstream) ---------------------------------------------------- */

static int cmd_delete_volume(struct api_ctx *c)
{
	struct volume_record v;
	char errortext[512] = "";
	int errcode = API_ERR_INTERNAL;

	if (get_volume(c, "id", true, &v, NULL) < 0)
		return -1;
	if (v.instance_id)
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Please specify a volume that is not attached to any VM.");
	if (volume_ops_destroy(c->m, c->db, &v, &errcode, errortext, sizeof(errortext)) < 0)
		return api_fail(c, errcode, API_CSERR_SERVER_API, "%s", errortext);
	jw_kv_bool(c->out, "success", true);
	return 0;
}

/* --- refused upstream for encrypted volumes -------------------------------------------------- */

static int cmd_extract_volume(struct api_ctx *c)
{
	struct volume_record v;
	const char *mode, *zone;

	if (get_volume(c, "id", true, &v, NULL) < 0 ||
	    api_get_str(c, "mode", true, 32, &mode) < 0 ||
	    api_get_uuid(c, "zoneid", true, &zone) < 0)
		return -1;
	if (volume_is_encrypted(c->db, &v))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Extraction of encrypted volumes is unsupported");
	return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
			"Volume extraction is not implemented by the vecs reference management "
			"server");
}

static int cmd_create_template(struct api_ctx *c)
{
	struct volume_record v;
	struct snapshot_record s;
	const char *name, *text, *snap_uuid;
	struct vecs_err err = { 0 };
	int r;

	if (api_get_str(c, "name", true, 255, &name) < 0 ||
	    api_get_str(c, "displaytext", false, 4096, &text) < 0 ||
	    (r = get_volume(c, "volumeid", false, &v, NULL)) < 0 ||
	    api_get_uuid(c, "snapshotid", false, &snap_uuid) < 0)
		return -1;
	if (r == 1 && !snap_uuid)
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Failed to create private template record, need to specify snapshotId "
				"or volumeId");
	if (r == 0 && volume_is_encrypted(c->db, &v))
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
				"Cannot create templates from encrypted volumes");
	if (snap_uuid) {
		r = snapshot_get_by_uuid(c->db, snap_uuid, &s, &err);
		if (r == -ENOENT)
			return api_fail_no_entity(c, "snapshotid", snap_uuid);
		if (r == 0)
			r = volume_get(c->db, s.volume_id, &v, &err);
		if (r < 0)
			return api_fail_db(c, r, &err);
		if (volume_is_encrypted(c->db, &v))
			return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
					"Cannot create templates from snapshots of encrypted volumes");
	}
	return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
			"Templates from volumes or snapshots are not implemented by the vecs "
			"reference management server");
}

static int cmd_create_snapshot_policy(struct api_ctx *c)
{
	struct snapshot_policy_record p = { 0 };
	struct volume_record v;
	const char *type, *sched, *tz;
	int64_t max = 0;
	struct vecs_err err = { 0 };
	static const char *const types[] = { "HOURLY", "DAILY", "WEEKLY", "MONTHLY" };
	int r;

	if (get_volume(c, "volumeid", true, &v, NULL) < 0 ||
	    api_get_str(c, "intervaltype", true, 16, &type) < 0 ||
	    api_get_str(c, "schedule", true, 100, &sched) < 0 ||
	    api_get_str(c, "timezone", true, 100, &tz) < 0 ||
	    api_get_long(c, "maxsnaps", true, 1, 1000, &max, NULL) < 0)
		return -1;
	if (volume_is_encrypted(c->db, &v))
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
				"Encrypted volumes don't support snapshot schedules, cannot create "
				"snapshot policy for the volume [%s]",
				v.uuid);
	p.interval = -1;
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(type, types[i]))
			p.interval = i;
	if (p.interval < 0)
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Unsupported interval type %.16s", type);
	p.volume_id = v.id;
	p.max_snaps = (int)max;
	snprintf(p.schedule, sizeof(p.schedule), "%s", sched);
	snprintf(p.timezone, sizeof(p.timezone), "%s", tz);
	if ((r = snapshot_policy_insert(c->db, &p, &err)) < 0)
		return api_fail_db(c, r, &err);
	/* The policy is recorded; vecs-mgmt runs no snapshot scheduler. */
	jw_key(c->out, "snapshotpolicy");
	jw_obj_begin(c->out);
	jw_kv_str(c->out, "id", p.uuid);
	jw_kv_str(c->out, "volumeid", v.uuid);
	jw_kv_str(c->out, "schedule", p.schedule);
	jw_kv_int(c->out, "intervaltype", p.interval);
	jw_kv_int(c->out, "maxsnaps", p.max_snaps);
	jw_kv_str(c->out, "timezone", p.timezone);
	jw_obj_end(c->out);
	return 0;
}

/* --- snapshots -------------------------------------------------------------------------- */

static int job_snapshot(struct mgmt *m, struct db *db, const char *job,
			struct json_writer *result, int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct snapshot_record s;
	struct vecs_err err = { 0 };
	int r;

	if (!a)
		return -EINVAL;
	r = snapshot_get_by_uuid(db, json_string_value(json_object_get(a, "snapshot")), &s, &err);
	if (r == 0)
		r = volume_ops_snapshot(m, db, &s, errcode, errortext, errlen);
	if (r == 0 && (r = snapshot_get(db, s.id, &s, &err)) == 0) {
		jw_key(result, "snapshot");
		snapshot_json(db, result, &s);
	} else if (r < 0 && !errortext[0]) {
		snprintf(errortext, errlen, "Failed to create snapshot: %s", err.msg);
	}
	json_decref(a);
	return r;
}

static int cmd_create_snapshot(struct api_ctx *c)
{
	struct snapshot_record s = { 0 };
	struct volume_record v;
	struct vm_record vm;
	const char *name;
	struct vecs_err err = { 0 };
	json_t *args;
	int r;

	if (get_volume(c, "volumeid", true, &v, NULL) < 0 ||
	    api_get_str(c, "name", false, 255, &name) < 0)
		return -1;
	if (strcmp(v.state, "Ready"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"VolumeId: %s is not in Ready state but %s. Cannot take snapshot.",
				v.uuid, v.state);
	if (volume_is_encrypted(c->db, &v) && v.instance_id &&
	    vm_get(c->db, v.instance_id, &vm, &err) == 0 && strcmp(vm.state, "Stopped"))
		return api_fail(c, API_ERR_UNSUPPORTED, API_CSERR_SERVER_API,
				"Failed to create snapshot due to unsupported operation: Volume "
				"snapshots for encrypted volumes are not supported if VM is running");
	s.volume_id = v.id;
	s.zone_id = v.zone_id;
	snprintf(s.status, sizeof(s.status), "Allocated");
	if ((r = db_uuid_v4(s.uuid, &err)) < 0)
		return api_fail_db(c, r, &err);
	snprintf(s.name, sizeof(s.name), "%s", name ? name : s.uuid);
	if ((r = snapshot_insert(c->db, &s, &err)) < 0)
		return api_fail_db(c, r, &err);
	args = json_pack("{s:s}", "snapshot", s.uuid);
	r = cloud_job_submit(c, "org.apache.cloudstack.api.command.user.snapshot.CreateSnapshotCmd",
			     "Snapshot", s.uuid, args, job_snapshot);
	json_decref(args);
	return r;
}

static int job_revert(struct mgmt *m, struct db *db, const char *job, struct json_writer *result,
		      int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct snapshot_record s;
	struct vecs_err err = { 0 };
	int r;

	if (!a)
		return -EINVAL;
	r = snapshot_get_by_uuid(db, json_string_value(json_object_get(a, "snapshot")), &s, &err);
	if (r == 0)
		r = volume_ops_revert(m, db, &s, errcode, errortext, errlen);
	if (r == 0) {
		jw_key(result, "snapshot");
		snapshot_json(db, result, &s);
	} else if (!errortext[0]) {
		snprintf(errortext, errlen, "Failed to revert snapshot: %s", err.msg);
	}
	json_decref(a);
	return r;
}

static int cmd_revert_snapshot(struct api_ctx *c)
{
	struct snapshot_record s;
	struct volume_record v;
	struct vm_record vm;
	const char *uuid;
	struct vecs_err err = { 0 };
	json_t *args;
	int r;

	if (api_get_uuid(c, "id", true, &uuid) < 0)
		return -1;
	r = snapshot_get_by_uuid(c->db, uuid, &s, &err);
	if (r == -ENOENT)
		return api_fail_no_entity(c, "id", uuid);
	if (r == 0)
		r = volume_get(c->db, s.volume_id, &v, &err);
	if (r < 0)
		return api_fail_db(c, r, &err);
	if (strcmp(s.status, "BackedUp"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Snapshot %s is not in BackedUp state", s.uuid);
	if (v.removed || strcmp(v.state, "Ready"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"The volume of snapshot %s is not Ready", s.uuid);
	if (v.instance_id && vm_get(c->db, v.instance_id, &vm, &err) == 0 &&
	    strcmp(vm.state, "Stopped"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"The VM the specified disk is attached to is not in the shutdown "
				"state.");
	args = json_pack("{s:s}", "snapshot", s.uuid);
	r = cloud_job_submit(c, "org.apache.cloudstack.api.command.user.snapshot.RevertSnapshotCmd",
			     "Snapshot", NULL, args, job_revert);
	json_decref(args);
	return r;
}

static int snapshot_row(void *ctx, const struct snapshot_record *s)
{
	struct api_list *l = ctx;

	if (api_list_take(l))
		snapshot_json(l->c->db, &l->rows, s);
	return 0;
}

static int cmd_list_snapshots(struct api_ctx *c)
{
	struct volume_record v = { 0 };
	const char *uuid;
	struct vecs_err err = { 0 };
	struct api_list l;
	int r;

	if (api_list_begin(&l, c) < 0 || api_get_uuid(c, "id", false, &uuid) < 0 ||
	    get_volume(c, "volumeid", false, &v, NULL) < 0)
		return api_list_abandon(&l);
	r = snapshot_list(c->db, uuid, v.id, snapshot_row, &l, &err);
	return api_list_finish(&l, r, &err, "snapshot");
}

/* --- migrateVolume (seed: supported; same passphrase, new LUKS header) ---------------------- */

static int job_migrate_volume(struct mgmt *m, struct db *db, const char *job,
			      struct json_writer *result, int *errcode, char *errortext,
			      size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct volume_record v;
	struct vecs_err err = { 0 };
	int r;

	if (!a)
		return -EINVAL;
	r = volume_get_by_uuid(db, json_string_value(json_object_get(a, "volume")), &v, &err);
	if (r == 0)
		r = volume_ops_migrate(m, db, &v, json_integer_value(json_object_get(a, "pool")),
				       errcode, errortext, errlen);
	if (r == 0 &&
	    (r = volume_get_by_uuid(db, json_string_value(json_object_get(a, "volume")), &v,
				    &err)) == 0) {
		jw_key(result, "volume");
		volume_json(db, result, &v);
	} else if (r < 0 && !errortext[0]) {
		snprintf(errortext, errlen, "Failed to migrate volume: %s", err.msg);
	}
	json_decref(a);
	return r;
}

static int cmd_migrate_volume(struct api_ctx *c)
{
	struct pool_record *p = malloc(sizeof(*p));
	struct pool_filter f = { 0 };
	struct volume_record v;
	struct vecs_err err = { 0 };
	int live;
	json_t *args;
	int r = -1;

	if (!p)
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, "out of memory");
	if (get_volume(c, "volumeid", true, &v, NULL) < 0 ||
	    api_get_uuid(c, "storageid", true, &f.uuid) < 0 ||
	    api_get_bool(c, "livemigrate", 0, &live) < 0)
		goto out;
	if (volume_ops_pool_by_uuid(c->db, f.uuid, p, &err) < 0) {
		api_fail_no_entity(c, "storageid", f.uuid);
		goto out;
	}
	if (strcmp(v.state, "Ready")) {
		api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
			 "Volume must be in ready state");
		goto out;
	}
	if (p->id == v.pool_id) {
		api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
			 "Volume %s is already on storage pool %s", v.name, p->name);
		goto out;
	}
	if (volume_is_encrypted(c->db, &v) && !pool_type_supports_encryption(p->pool_type)) {
		api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
			 "Storage pool %s (%s) does not support volume encryption", p->name,
			 p->pool_type);
		goto out;
	}
	args = json_pack("{s:s, s:I, s:b}", "volume", v.uuid, "pool", (json_int_t)p->id, "live",
			 live);
	r = cloud_job_submit(c, CMD("MigrateVolumeCmd"), "Volume", NULL, args,
			     job_migrate_volume);
	json_decref(args);
out:
	free(p);
	return r;
}

/* --- listVolumes ---------------------------------------------------------------------------- */

static int volume_row(void *ctx, const struct volume_record *v)
{
	struct api_list *l = ctx;

	if (api_list_take(l))
		volume_json(l->c->db, &l->rows, v);
	return 0;
}

int cmd_list_volumes(struct api_ctx *c)
{
	struct volume_filter f = { .encrypted = -1 };
	struct vm_record vm;
	struct pool_record *p = NULL;
	const char *vm_uuid, *pool_uuid;
	struct vecs_err err = { 0 };
	struct api_list l;
	int r;

	if (api_list_begin(&l, c) < 0 || api_get_uuid(c, "id", false, &f.uuid) < 0 ||
	    api_get_str(c, "name", false, 255, &f.name) < 0 ||
	    api_get_str(c, "type", false, 16, &f.type) < 0 ||
	    api_get_uuid(c, "virtualmachineid", false, &vm_uuid) < 0 ||
	    api_get_uuid(c, "storageid", false, &pool_uuid) < 0 ||
	    api_get_bool(c, "isencrypted", -1, &f.encrypted) < 0)
		return api_list_abandon(&l);
	if (vm_uuid) {
		if (vm_get_by_uuid(c->db, vm_uuid, &vm, &err) < 0) {
			api_fail_no_entity(c, "virtualmachineid", vm_uuid);
			return api_list_abandon(&l);
		}
		f.instance_id = vm.id;
	}
	if (pool_uuid) {
		p = malloc(sizeof(*p));
		if (!p || volume_ops_pool_by_uuid(c->db, pool_uuid, p, &err) < 0) {
			free(p);
			api_fail_no_entity(c, "storageid", pool_uuid);
			return api_list_abandon(&l);
		}
		f.pool_id = p->id;
		free(p);
	}
	r = volume_list(c->db, &f, volume_row, &l, &err);
	return api_list_finish(&l, r, &err, "volume");
}

/* The table of api_vm.c's and these commands. */
int cmd_list_volumes(struct api_ctx *c);
const struct api_command api_volume_commands[] = {
	{ "createVolume", cmd_create_volume, true },
	{ "attachVolume", cmd_attach_volume, true },
	{ "detachVolume", cmd_detach_volume, true },
	{ "resizeVolume", cmd_resize_volume, true },
	{ "deleteVolume", cmd_delete_volume, false },
	{ "extractVolume", cmd_extract_volume, true },
	{ "migrateVolume", cmd_migrate_volume, true },
	{ "listVolumes", cmd_list_volumes, false },
	{ "createSnapshot", cmd_create_snapshot, true },
	{ "listSnapshots", cmd_list_snapshots, false },
	{ "revertSnapshot", cmd_revert_snapshot, true },
	{ "createSnapshotPolicy", cmd_create_snapshot_policy, false },
	{ "createTemplate", cmd_create_template, true },
	{ NULL, NULL, false },
};
