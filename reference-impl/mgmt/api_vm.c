/* Instance commands: deployVirtualMachine, start/stop/reboot, destroy/recover/expunge,
 * restoreVirtualMachine, changeServiceForVirtualMachine, migrateVirtualMachine[WithVolume],
 * createVMSnapshot, listVirtualMachines; and the command table of the VM/volume side. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/passphrase.h"
#include "mgmt/crashpoint.h"
#include "mgmt/cloud_ops.h"
#include "mgmt/volume_ops.h"

#define VMCMD(x) "org.apache.cloudstack.api.command.user.vm." x

extern const struct api_command api_volume_commands[];

struct vol_list {
	unsigned n;
	struct volume_record v[16];
};

static int vol_collect(void *ctx, const struct volume_record *v)
{
	struct vol_list *l = ctx;

	if (l->n < 16)
		l->v[l->n++] = *v;
	return 0;
}

static int vm_volumes(struct db *db, int64_t vm_id, struct vol_list *l, struct vecs_err *err)
{
	struct volume_filter f = { .instance_id = vm_id, .encrypted = -1 };

	l->n = 0;
	return volume_list(db, &f, vol_collect, l, err);
}

static bool any_encrypted(struct db *db, const struct vol_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (volume_is_encrypted(db, &l->v[i]))
			return true;
	return false;
}

/* The host a VM's local volumes pin it to (0: none). */
static int64_t pinned_host(struct db *db, const struct vol_list *l)
{
	struct pool_record *p = malloc(sizeof(*p));
	struct vecs_err err = { 0 };
	int64_t h = 0;

	for (unsigned i = 0; p && i < l->n && !h; i++)
		if (l->v[i].pool_id && pool_get(db, l->v[i].pool_id, p, &err) == 0 &&
		    !strcmp(p->scope, "HOST"))
			h = p->host_id;
	free(p);
	return h;
}

static int vm_result(struct db *db, struct json_writer *w, int64_t id)
{
	struct vm_record vm;
	struct vecs_err err = { 0 };

	if (vm_get(db, id, &vm, &err) < 0)
		return -EIO;
	jw_key(w, "virtualmachine");
	vm_json(db, w, &vm);
	return 0;
}

/* Refuse (530, CloudStack's endpoint text) when no capable host can run the VM. */
static int plan_host(struct api_ctx *c, int64_t zone_id, bool enc, int64_t only,
		     int64_t avoid, struct host_record *h)
{
	struct vecs_err err = { 0 };
	int r = alloc_host(c->m, c->db, zone_id, enc, only, avoid, h, &err);

	if (r == -ENODEV)
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, NO_ENCRYPTION_ENDPOINT_TEXT);
	if (r == -ENOSPC)
		return api_fail(c, 533, API_CSERR_SERVER_API,
				"Unable to create a deployment for VM: no host is available");
	if (r < 0)
		return api_fail_db(c, r, &err);
	return 0;
}

/* --- start (shared by deploy, start, restore) ---------------------------------------- */

static int start_on(struct mgmt *m, struct db *db, struct vm_record *vm, int64_t host_id,
		    int *errcode, char *errortext, size_t errlen)
{
	struct service_offering_record so;
	struct template_record t;
	struct host_record *h = malloc(sizeof(*h));
	struct pool_record *p = malloc(sizeof(*p));
	struct vol_list *l = malloc(sizeof(*l));
	struct vecs_err err = { 0 };
	json_t *disks, *args, *res = NULL;
	int r;

	if (!h || !p || !l) {
		r = -ENOMEM;
		goto out;
	}
	r = vm_volumes(db, vm->id, l, &err);
	for (unsigned i = 0; r == 0 && i < l->n; i++)
		if (!strcmp(l->v[i].state, "Allocated"))
			r = volume_ops_create(m, db, &l->v[i], host_id, NULL, NULL, errcode,
					      errortext, errlen);
	if (r < 0)
		goto out;
	if ((r = vm_volumes(db, vm->id, l, &err)) < 0 ||
	    (r = volume_ops_host(db, host_id, h, &err)) < 0 ||
	    (r = service_offering_get(db, vm->service_offering_id, &so, &err)) < 0 ||
	    (r = template_get(db, vm->template_id, &t, &err)) < 0)
		goto out;
	disks = json_array();
	for (unsigned i = 0; i < l->n; i++) {
		if (pool_get(db, l->v[i].pool_id, p, &err) < 0)
			continue;
		json_array_append_new(disks, json_pack("{s:o, s:I}", "volume",
						       volume_to(m, db, &l->v[i], p, &err), "device",
						       (json_int_t)l->v[i].device_id));
	}
	args = json_pack("{s:{s:s, s:i, s:i, s:o}}", "vm", "name", vm->instance_name, "memory_mb",
			 so.ram_size ? (int)so.ram_size : 256, "vcpus", so.cpu ? (int)so.cpu : 1,
			 "disks", disks);
	if (t.kernel[0])
		json_object_set_new(json_object_get(args, "vm"), "kernel", json_string(t.kernel));
	if (t.initrd[0])
		json_object_set_new(json_object_get(args, "vm"), "initrd", json_string(t.initrd));
	if (t.cmdline[0])
		json_object_set_new(json_object_get(args, "vm"), "cmdline", json_string(t.cmdline));
	/* PowerFlex volumes: mapped to this host's SDC before the agent opens them */
	r = volume_ops_pfx_vm(m, db, vm->id, host_id, true, errortext, errlen);
	if (r < 0) {
		json_decref(args);
		*errcode = API_ERR_INTERNAL;
		goto out;
	}
	r = cloud_agent_call(m, h, "start_vm", args, AGENT_TIMEOUT_MS, &res, errortext, errlen);
	json_decref(args);
	json_decref(res);
	if (r < 0) {
		*errcode = API_ERR_INTERNAL;
		goto out;
	}
	mgmt_crashpoint(m, "start_vm:after_agent");
	r = vm_transition(db, vm->id, vm->state, "Running", host_id, &err);
	if (r == 0)
		snprintf(vm->state, sizeof(vm->state), "Running");
out:
	if (r < 0 && !errortext[0])
		snprintf(errortext, errlen, "Unable to start VM %s: %s", vm->name, err.msg);
	free(h);
	free(p);
	free(l);
	return r;
}

/* Choose the host at job time: encryption capable when any volume is encrypted. */
static int choose_host(struct mgmt *m, struct db *db, const struct vm_record *vm, int64_t want,
		       int64_t *host_id, int *errcode, char *errortext, size_t errlen)
{
	struct vol_list *l = malloc(sizeof(*l));
	struct host_record *h = malloc(sizeof(*h));
	struct vecs_err err = { 0 };
	int r = -ENOMEM;

	if (l && h && (r = vm_volumes(db, vm->id, l, &err)) == 0) {
		int64_t pin = pinned_host(db, l);

		r = alloc_host(m, db, vm->zone_id, any_encrypted(db, l), pin ? pin : want, 0, h,
			       &err);
		if (r == 0)
			*host_id = h->id;
	}
	if (r < 0) {
		*errcode = API_ERR_INTERNAL;
		snprintf(errortext, errlen, "%s", r == -ENODEV ? NO_ENCRYPTION_ENDPOINT_TEXT : err.msg);
	}
	free(l);
	free(h);
	return r;
}

static int job_deploy(struct mgmt *m, struct db *db, const char *job, struct json_writer *result,
		      int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct vm_record vm;
	struct template_record t;
	struct vol_list *l = malloc(sizeof(*l));
	struct vecs_err err = { 0 };
	int64_t host_id = 0;
	int r;

	if (!a || !l) {
		json_decref(a);
		free(l);
		return -EINVAL;
	}
	r = vm_get_by_uuid(db, json_string_value(json_object_get(a, "vm")), &vm, &err);
	if (r == 0)
		r = choose_host(m, db, &vm, json_integer_value(json_object_get(a, "host")), &host_id,
				errcode, errortext, errlen);
	if (r == 0 && (r = template_get(db, vm.template_id, &t, &err)) == 0 &&
	    (r = vm_volumes(db, vm.id, l, &err)) == 0) {
		for (unsigned i = 0; r == 0 && i < l->n; i++)
			r = volume_ops_create(m, db, &l->v[i], host_id,
					      !strcmp(l->v[i].volume_type, "ROOT") ? &t : NULL, NULL,
					      errcode, errortext, errlen);
	}
	if (r == 0 && json_is_true(json_object_get(a, "start")))
		r = start_on(m, db, &vm, host_id, errcode, errortext, errlen);
	if (r < 0) {
		if (!errortext[0])
			snprintf(errortext, errlen, "Unable to deploy VM: %s", err.msg);
		/* as upstream: the instance stays, in state Error */
		vm_transition(db, vm.id, vm.state, "Error", 0, &err);
	} else {
		r = vm_result(db, result, vm.id);
	}
	json_decref(a);
	free(l);
	return r;
}

static int cmd_deploy(struct api_ctx *c)
{
	struct service_offering_record so;
	struct disk_offering_record root_off, data_off;
	struct template_record t;
	struct host_record *h = malloc(sizeof(*h));
	struct pool_record *p = malloc(sizeof(*p));
	struct vm_record vm = { 0 };
	struct volume_record root = { 0 }, data = { 0 };
	const char *so_uuid, *t_uuid, *zone_uuid, *name, *disp, *do_uuid, *host_uuid;
	int64_t so_id = 0, t_id = 0, do_id = 0, size = 0;
	bool has_size;
	int start;
	struct vecs_err err = { 0 };
	struct service_offering_filter sf = { .encrypt_root = -1 };
	json_t *args;
	int r = -1;

	(void)sf;
	if (!h || !p) {
		api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, "out of memory");
		goto out;
	}
	if (api_get_uuid(c, "serviceofferingid", true, &so_uuid) < 0 ||
	    api_get_uuid(c, "templateid", true, &t_uuid) < 0 ||
	    api_get_uuid(c, "zoneid", true, &zone_uuid) < 0 ||
	    api_get_str(c, "name", false, 63, &name) < 0 ||
	    api_get_str(c, "displayname", false, 255, &disp) < 0 ||
	    api_get_uuid(c, "diskofferingid", false, &do_uuid) < 0 ||
	    api_get_uuid(c, "hostid", false, &host_uuid) < 0 ||
	    api_get_long(c, "size", false, 1, 1 << 20, &size, &has_size) < 0 ||
	    api_get_bool(c, "startvm", 1, &start) < 0 ||
	    cloud_zone_id(c, "zoneid", zone_uuid, &vm.zone_id) < 0)
		goto out;
	if (volume_ops_service_offering(c->db, so_uuid, &so, &err) < 0) {
		api_fail_no_entity(c, "serviceofferingid", so_uuid);
		goto out;
	}
	so_id = so.id;
	if (volume_ops_template(c->db, t_uuid, &t, &err) < 0) {
		api_fail_no_entity(c, "templateid", t_uuid);
		goto out;
	}
	t_id = t.id;
	if ((r = disk_offering_get(c->db, so.disk_offering_id, &root_off, &err)) < 0) {
		r = api_fail_db(c, r, &err);
		goto out;
	}
	r = -1;
	if (do_uuid) {
		if (disk_offering_id_by_uuid(c->db, do_uuid, &do_id, &err) < 0 ||
		    disk_offering_get(c->db, do_id, &data_off, &err) < 0) {
			api_fail_no_entity(c, "diskofferingid", do_uuid);
			goto out;
		}
	}
	if (host_uuid) {
		if (host_get_by_uuid(c->db, host_uuid, h, &err) < 0) {
			api_fail_no_entity(c, "hostid", host_uuid);
			goto out;
		}
		vm.host_id = h->id;
	}
	/* Plan now, so an impossible deployment is refused before anything is written. */
	if (plan_host(c, vm.zone_id, root_off.encrypt || (do_id && data_off.encrypt), vm.host_id, 0,
		      h) < 0)
		goto out;
	if (alloc_pool(c->db, vm.zone_id, &root_off, root_off.encrypt, h->id, 0, p, &err) < 0 ||
	    (do_id && alloc_pool(c->db, vm.zone_id, &data_off, data_off.encrypt, h->id, 0, p, &err) < 0)) {
		api_fail(c, 533, API_CSERR_SERVER_API,
			 "Unable to create a deployment for VM: %s", err.msg);
		goto out;
	}
	if ((r = db_uuid_v4(vm.uuid, &err)) < 0 || (r = db_begin(c->db, &err)) < 0) {
		r = api_fail_db(c, r, &err);
		goto out;
	}
	snprintf(vm.name, sizeof(vm.name), "%s", name ? name : vm.uuid);
	snprintf(vm.display_name, sizeof(vm.display_name), "%s", disp ? disp : vm.name);
	snprintf(vm.state, sizeof(vm.state), start ? "Starting" : "Stopped");
	vm.host_id = 0;
	vm.service_offering_id = so_id;
	vm.template_id = t_id;
	r = vm_insert(c->db, &vm, &err);
	root.zone_id = data.zone_id = vm.zone_id;
	root.instance_id = data.instance_id = vm.id;
	root.has_device_id = data.has_device_id = 1;
	root.device_id = 0;
	data.device_id = 1;
	snprintf(root.name, sizeof(root.name), "ROOT-%lld", (long long)vm.id);
	snprintf(root.volume_type, sizeof(root.volume_type), "ROOT");
	snprintf(root.state, sizeof(root.state), "Allocated");
	snprintf(root.format, sizeof(root.format), "QCOW2");
	root.disk_offering_id = so.disk_offering_id;
	root.template_id = t_id;
	root.size = root_off.disk_size > t.size ? root_off.disk_size : t.size;
	if (has_size && (uint64_t)size * GIB > root.size)
		root.size = (uint64_t)size * GIB;
	if (r == 0)
		r = volume_insert(c->db, &root, &err);
	if (r == 0 && do_id) {
		snprintf(data.name, sizeof(data.name), "DATA-%lld", (long long)vm.id);
		snprintf(data.volume_type, sizeof(data.volume_type), "DATADISK");
		snprintf(data.state, sizeof(data.state), "Allocated");
		snprintf(data.format, sizeof(data.format), "QCOW2");
		data.disk_offering_id = do_id;
		data.size = data_off.disk_size ? data_off.disk_size : GIB;
		r = volume_insert(c->db, &data, &err);
	}
	if (r == 0)
		r = db_commit(c->db, &err);
	else
		db_rollback(c->db);
	if (r < 0) {
		r = api_fail_db(c, r, &err);
		goto out;
	}
	args = json_pack("{s:s, s:b, s:I}", "vm", vm.uuid, "start", start, "host",
			 (json_int_t)(host_uuid ? h->id : 0));
	r = cloud_job_submit(c, VMCMD("DeployVMCmd"), "VirtualMachine", vm.uuid, args, job_deploy);
	json_decref(args);
out:
	free(h);
	free(p);
	return r;
}

/* --- start / stop / reboot ------------------------------------------------------------------ */

static int job_start(struct mgmt *m, struct db *db, const char *job, struct json_writer *result,
		     int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct vm_record vm;
	struct vecs_err err = { 0 };
	int64_t host_id = 0;
	int r;

	if (!a)
		return -EINVAL;
	r = vm_get_by_uuid(db, json_string_value(json_object_get(a, "vm")), &vm, &err);
	if (r == 0 && strcmp(vm.state, "Stopped")) {
		snprintf(errortext, errlen, "VM %s is %s, not Stopped", vm.name, vm.state);
		r = -EAGAIN;
	}
	if (r == 0)
		r = choose_host(m, db, &vm, json_integer_value(json_object_get(a, "host")), &host_id,
				errcode, errortext, errlen);
	if (r == 0)
		r = start_on(m, db, &vm, host_id, errcode, errortext, errlen);
	if (r == 0)
		r = vm_result(db, result, vm.id);
	else if (!errortext[0])
		snprintf(errortext, errlen, "Unable to start VM: %s", err.msg);
	json_decref(a);
	return r;
}

static int cmd_start(struct api_ctx *c)
{
	struct vm_record vm;
	struct vol_list *l = malloc(sizeof(*l));
	struct host_record *h = malloc(sizeof(*h));
	struct vecs_err err = { 0 };
	const char *host_uuid;
	int64_t only = 0;
	json_t *args;
	int r = -1;

	if (!l || !h) {
		api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, "out of memory");
		goto out;
	}
	if (cloud_get_vm(c, "id", &vm) < 0 || api_get_uuid(c, "hostid", false, &host_uuid) < 0)
		goto out;
	if (!strcmp(vm.state, "Running")) {
		/* upstream answers a running VM as it is */
	} else if (strcmp(vm.state, "Stopped")) {
		api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
			 "VM %s is in state %s and cannot be started", vm.name, vm.state);
		goto out;
	}
	if (host_uuid) {
		if (host_get_by_uuid(c->db, host_uuid, h, &err) < 0) {
			api_fail_no_entity(c, "hostid", host_uuid);
			goto out;
		}
		only = h->id;
	}
	if (vm_volumes(c->db, vm.id, l, &err) < 0) {
		api_fail_db(c, -EIO, &err);
		goto out;
	}
	if (strcmp(vm.state, "Running") &&
	    plan_host(c, vm.zone_id, any_encrypted(c->db, l), pinned_host(c->db, l) ? pinned_host(c->db, l) : only, 0, h) < 0)
		goto out;
	args = json_pack("{s:s, s:I}", "vm", vm.uuid, "host", (json_int_t)only);
	r = cloud_job_submit(c, VMCMD("StartVMCmd"), "VirtualMachine", NULL, args, job_start);
	json_decref(args);
out:
	free(l);
	free(h);
	return r;
}

/* stop_vm / reboot_vm on the VM's host. */
static int power_op(struct mgmt *m, struct db *db, struct vm_record *vm, const char *cmd,
		    int *errcode, char *errortext, size_t errlen)
{
	struct host_record *h = malloc(sizeof(*h));
	struct vecs_err err = { 0 };
	json_t *args, *res = NULL;
	int r = -ENOMEM;

	if (h && (r = volume_ops_host(db, vm->host_id, h, &err)) == 0) {
		args = json_pack("{s:s}", "name", vm->instance_name);
		r = cloud_agent_call(m, h, cmd, args, AGENT_TIMEOUT_MS, &res, errortext, errlen);
		json_decref(args);
		json_decref(res);
	}
	if (r < 0) {
		*errcode = API_ERR_INTERNAL;
		if (!errortext[0])
			snprintf(errortext, errlen, "Unable to %s VM %s: %s", cmd, vm->name, err.msg);
	}
	free(h);
	return r;
}

static int stop_vm(struct mgmt *m, struct db *db, struct vm_record *vm, int *errcode,
		   char *errortext, size_t errlen)
{
	struct vecs_err err = { 0 };
	int r;

	if (strcmp(vm->state, "Running"))
		return 0;
	r = power_op(m, db, vm, "stop_vm", errcode, errortext, errlen);
	/* PowerFlex volumes: unmapped from the host it ran on (logged on failure) */
	if (r == 0 && volume_ops_pfx_vm(m, db, vm->id, vm->host_id, false, errortext, errlen) < 0)
		errortext[0] = '\0';
	if (r == 0)
		r = vm_transition(db, vm->id, "Running", "Stopped", 0, &err);
	if (r == 0)
		snprintf(vm->state, sizeof(vm->state), "Stopped");
	return r;
}

static int job_stop(struct mgmt *m, struct db *db, const char *job, struct json_writer *result,
		    int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct vm_record vm;
	struct vecs_err err = { 0 };
	int r;

	if (!a)
		return -EINVAL;
	r = vm_get_by_uuid(db, json_string_value(json_object_get(a, "vm")), &vm, &err);
	if (r == 0 && !strcmp(json_string_value(json_object_get(a, "op")), "reboot"))
		r = power_op(m, db, &vm, "reboot_vm", errcode, errortext, errlen);
	else if (r == 0)
		r = stop_vm(m, db, &vm, errcode, errortext, errlen);
	if (r == 0)
		r = vm_result(db, result, vm.id);
	else if (!errortext[0])
		snprintf(errortext, errlen, "Failed: %s", err.msg);
	json_decref(a);
	return r;
}

static int submit_power(struct api_ctx *c, const char *op, const char *cmd)
{
	struct vm_record vm;
	json_t *args;
	int r;

	if (cloud_get_vm(c, "id", &vm) < 0)
		return -1;
	if (!strcmp(op, "reboot") && strcmp(vm.state, "Running"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"VM %s is not running, cannot reboot it", vm.name);
	if (!strcmp(op, "stop") && strcmp(vm.state, "Running") && strcmp(vm.state, "Stopped"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"VM %s is in state %s and cannot be stopped", vm.name, vm.state);
	args = json_pack("{s:s, s:s}", "vm", vm.uuid, "op", op);
	r = cloud_job_submit(c, cmd, "VirtualMachine", NULL, args, job_stop);
	json_decref(args);
	return r;
}

static int cmd_stop(struct api_ctx *c)
{
	return submit_power(c, "stop", VMCMD("StopVMCmd"));
}

static int cmd_reboot(struct api_ctx *c)
{
	return submit_power(c, "reboot", VMCMD("RebootVMCmd"));
}

/* --- destroy / recover / expunge -------------------------------------------------------------- */

/* ROOT volumes deleted (passphrase released), data disks detached, row expunged. */
static int expunge_vm(struct mgmt *m, struct db *db, struct vm_record *vm, int *errcode,
		      char *errortext, size_t errlen)
{
	struct vol_list *l = malloc(sizeof(*l));
	struct vecs_err err = { 0 };
	int r = -ENOMEM;

	if (l && (r = vm_volumes(db, vm->id, l, &err)) == 0) {
		for (unsigned i = 0; r == 0 && i < l->n; i++) {
			if (!strcmp(l->v[i].volume_type, "ROOT")) {
				r = volume_set_instance(db, l->v[i].id, 0, 0, &err);
				l->v[i].instance_id = 0;
				if (r == 0)
					r = volume_ops_destroy(m, db, &l->v[i], errcode, errortext, errlen);
			} else {
				r = volume_set_instance(db, l->v[i].id, 0, 0, &err);
			}
		}
	}
	if (r == 0)
		r = vm_transition(db, vm->id, vm->state, "Expunging", 0, &err);
	if (r == 0)
		r = vm_mark_expunged(db, vm->id, &err);
	if (r < 0 && !errortext[0])
		snprintf(errortext, errlen, "Failed to expunge VM %s: %s", vm->name, err.msg);
	free(l);
	return r;
}

static int job_destroy(struct mgmt *m, struct db *db, const char *job,
		       struct json_writer *result, int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct vm_record vm;
	struct vecs_err err = { 0 };
	bool expunge;
	int r;

	if (!a)
		return -EINVAL;
	expunge = json_is_true(json_object_get(a, "expunge"));
	r = vm_get_by_uuid(db, json_string_value(json_object_get(a, "vm")), &vm, &err);
	if (r == 0 && strcmp(vm.state, "Destroyed"))
		r = stop_vm(m, db, &vm, errcode, errortext, errlen);
	if (r == 0 && strcmp(vm.state, "Destroyed") &&
	    (r = vm_transition(db, vm.id, vm.state, "Destroyed", 0, &err)) == 0)
		snprintf(vm.state, sizeof(vm.state), "Destroyed");
	if (r == 0) {
		/* the response shows the instance before the expunge removed it */
		jw_key(result, "virtualmachine");
		vm_json(db, result, &vm);
	}
	if (r == 0 && expunge)
		r = expunge_vm(m, db, &vm, errcode, errortext, errlen);
	if (r < 0 && !errortext[0])
		snprintf(errortext, errlen, "Failed to destroy VM: %s", err.msg);
	json_decref(a);
	return r;
}

static int cmd_destroy(struct api_ctx *c)
{
	struct vm_record vm;
	int expunge;
	json_t *args;
	int r;

	if (cloud_get_vm(c, "id", &vm) < 0 || api_get_bool(c, "expunge", 0, &expunge) < 0)
		return -1;
	if (strcmp(vm.state, "Running") && strcmp(vm.state, "Stopped") &&
	    strcmp(vm.state, "Error") && !(expunge && !strcmp(vm.state, "Destroyed")))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"VM %s is in state %s and cannot be destroyed", vm.name, vm.state);
	args = json_pack("{s:s, s:b}", "vm", vm.uuid, "expunge", expunge);
	r = cloud_job_submit(c, VMCMD("DestroyVMCmd"), "VirtualMachine", NULL, args, job_destroy);
	json_decref(args);
	return r;
}

static int job_expunge(struct mgmt *m, struct db *db, const char *job,
		       struct json_writer *result, int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct vm_record vm;
	struct vecs_err err = { 0 };
	int r;

	if (!a)
		return -EINVAL;
	r = vm_get_by_uuid(db, json_string_value(json_object_get(a, "vm")), &vm, &err);
	if (r == 0)
		r = expunge_vm(m, db, &vm, errcode, errortext, errlen);
	if (r == 0)
		jw_kv_bool(result, "success", true);
	json_decref(a);
	return r;
}

static int cmd_expunge(struct api_ctx *c)
{
	struct vm_record vm;
	json_t *args;
	int r;

	if (cloud_get_vm(c, "id", &vm) < 0)
		return -1;
	if (strcmp(vm.state, "Destroyed"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Please specify a VM in Destroyed state: %s is %s", vm.name, vm.state);
	args = json_pack("{s:s}", "vm", vm.uuid);
	r = cloud_job_submit(c, "org.apache.cloudstack.api.command.admin.vm.ExpungeVMCmd",
			     "VirtualMachine", NULL, args, job_expunge);
	json_decref(args);
	return r;
}

/* synchronous, as upstream */
static int cmd_recover(struct api_ctx *c)
{
	struct vm_record vm;
	struct vecs_err err = { 0 };
	int r;

	if (cloud_get_vm(c, "id", &vm) < 0)
		return -1;
	if (strcmp(vm.state, "Destroyed"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Unable to recover VM %s: it is %s, not Destroyed", vm.name, vm.state);
	if ((r = vm_transition(c->db, vm.id, "Destroyed", "Stopped", 0, &err)) < 0)
		return api_fail_db(c, r, &err);
	vm_result(c->db, c->out, vm.id);
	return 0;
}

/* --- restore: a new ROOT volume, a NEW passphrase ----------------------------------------------- */

static int job_restore(struct mgmt *m, struct db *db, const char *job,
		       struct json_writer *result, int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct vm_record vm;
	struct template_record t;
	struct vol_list *l = malloc(sizeof(*l));
	struct volume_record nr = { 0 }, *old = NULL;
	struct vecs_err err = { 0 };
	int64_t host_id = 0, pin_host = 0;
	bool was_running;
	int r;

	if (!a || !l) {
		json_decref(a);
		free(l);
		return -EINVAL;
	}
	r = vm_get_by_uuid(db, json_string_value(json_object_get(a, "vm")), &vm, &err);
	was_running = r == 0 && !strcmp(vm.state, "Running");
	host_id = vm.host_id;
	if (r == 0)
		r = stop_vm(m, db, &vm, errcode, errortext, errlen);
	if (r == 0)
		r = template_get(db, json_integer_value(json_object_get(a, "template")), &t, &err);
	if (r == 0)
		r = vm_volumes(db, vm.id, l, &err);
	for (unsigned i = 0; r == 0 && i < l->n; i++)
		if (!strcmp(l->v[i].volume_type, "ROOT"))
			old = &l->v[i];
	if (r == 0 && !old) {
		snprintf(errortext, errlen, "VM %s has no ROOT volume", vm.name);
		r = -ENOENT;
	}
	if (r == 0) {
		struct pool_record *p = malloc(sizeof(*p));

		if (p && pool_get(db, old->pool_id, p, &err) == 0 && !strcmp(p->scope, "HOST"))
			pin_host = p->host_id;
		free(p);
		nr.zone_id = vm.zone_id;
		snprintf(nr.name, sizeof(nr.name), "ROOT-%lld", (long long)vm.id);
		snprintf(nr.volume_type, sizeof(nr.volume_type), "ROOT");
		snprintf(nr.state, sizeof(nr.state), "Allocated");
		snprintf(nr.format, sizeof(nr.format), "QCOW2");
		nr.disk_offering_id = old->disk_offering_id;
		nr.template_id = t.id;
		nr.size = old->size > t.size ? old->size : t.size;
		r = volume_insert(db, &nr, &err);
	}
	/* the old root goes first: delete_volume, passphrase released */
	if (r == 0 && (r = volume_set_instance(db, old->id, 0, 0, &err)) == 0) {
		old->instance_id = 0;
		r = volume_ops_destroy(m, db, old, errcode, errortext, errlen);
	}
	if (r == 0)
		r = volume_ops_create(m, db, &nr, pin_host, &t, NULL, errcode, errortext, errlen);
	if (r == 0)
		r = volume_set_instance(db, nr.id, vm.id, 0, &err);
	if (r == 0 && t.id != vm.template_id) {
		struct db_stmt *st;

		if ((r = db_prepare(db, "UPDATE vm_instance SET vm_template_id = ? WHERE id = ?", &st,
				    &err)) == 0) {
			if ((r = db_bind_int64(st, 1, t.id, &err)) == 0 &&
			    (r = db_bind_int64(st, 2, vm.id, &err)) == 0)
				r = db_step(st, &err);
			db_finalize(st);
			if (r > 0)
				r = 0;
		}
	}
	if (r == 0 && was_running) {
		if (vm_get(db, vm.id, &vm, &err) == 0)
			r = choose_host(m, db, &vm, host_id, &host_id, errcode, errortext, errlen);
		if (r == 0)
			r = start_on(m, db, &vm, host_id, errcode, errortext, errlen);
	}
	if (r == 0)
		r = vm_result(db, result, vm.id);
	else if (!errortext[0])
		snprintf(errortext, errlen, "Failed to restore VM: %s", err.msg);
	json_decref(a);
	free(l);
	return r;
}

static int cmd_restore(struct api_ctx *c)
{
	struct vm_record vm;
	struct template_record t;
	const char *t_uuid;
	struct vecs_err err = { 0 };
	json_t *args;
	int r;

	if (cloud_get_vm(c, "virtualmachineid", &vm) < 0 ||
	    api_get_uuid(c, "templateid", false, &t_uuid) < 0)
		return -1;
	if (t_uuid && volume_ops_template(c->db, t_uuid, &t, &err) < 0)
		return api_fail_no_entity(c, "templateid", t_uuid);
	if (strcmp(vm.state, "Running") && strcmp(vm.state, "Stopped"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"VM %s is %s: only running or stopped VMs can be restored", vm.name,
				vm.state);
	args = json_pack("{s:s, s:I}", "vm", vm.uuid, "template",
			 (json_int_t)(t_uuid ? t.id : vm.template_id));
	r = cloud_job_submit(c, VMCMD("RestoreVMCmd"), "VirtualMachine", NULL, args, job_restore);
	json_decref(args);
	return r;
}

/* --- change offering (synchronous, as upstream) ------------------------------------------------ */

static int cmd_change_service(struct api_ctx *c)
{
	struct service_offering_record cur, to;
	struct disk_offering_record cur_d, to_d;
	struct vm_record vm;
	const char *so_uuid;
	struct vecs_err err = { 0 };
	int r;

	if (cloud_get_vm(c, "id", &vm) < 0 || api_get_uuid(c, "serviceofferingid", true, &so_uuid) < 0)
		return -1;
	if (volume_ops_service_offering(c->db, so_uuid, &to, &err) < 0)
		return api_fail_no_entity(c, "serviceofferingid", so_uuid);
	if ((r = service_offering_get(c->db, vm.service_offering_id, &cur, &err)) < 0 ||
	    (r = disk_offering_get(c->db, cur.disk_offering_id, &cur_d, &err)) < 0 ||
	    (r = disk_offering_get(c->db, to.disk_offering_id, &to_d, &err)) < 0)
		return api_fail_db(c, r, &err);
	if (!!cur_d.encrypt != !!to_d.encrypt)
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Cannot change the encryption type of a volume, please check the "
				"selected offering");
	if (strcmp(vm.state, "Stopped"))
		return api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				"Unable to upgrade virtual machine %s: it must be Stopped (dynamic "
				"scaling is not supported)", vm.name);
	if ((r = vm_set_service_offering(c->db, vm.id, to.id, &err)) < 0)
		return api_fail_db(c, r, &err);
	vm_result(c->db, c->out, vm.id);
	return 0;
}

/* --- migrate ---------------------------------------------------------------------------------------- */

static int job_migrate(struct mgmt *m, struct db *db, const char *job,
		       struct json_writer *result, int *errcode, char *errortext, size_t errlen)
{
	json_t *a = cloud_job_args(db, job, errortext, errlen);
	struct host_record *src = malloc(sizeof(*src)), *dst = malloc(sizeof(*dst));
	struct pool_record *p = malloc(sizeof(*p)), *dp = malloc(sizeof(*dp));
	struct vol_list *l = malloc(sizeof(*l));
	struct disk_offering_record off;
	struct vm_record vm;
	struct service_offering_record so;
	struct vecs_err err = { 0 };
	json_t *disks, *vmo, *args, *res = NULL;
	/* storage is copied only for volumes on host-local pools: shared pools (SMP, NFS,
	 * ScaleIO) stay where they are, also for migrateVirtualMachineWithVolume */
	bool copy = false;
	char uri[300];
	int r = -ENOMEM;

	if (!a || !src || !dst || !p || !dp || !l)
		goto out;
	r = vm_get_by_uuid(db, json_string_value(json_object_get(a, "vm")), &vm, &err);
	if (r == 0)
		r = volume_ops_host(db, vm.host_id, src, &err);
	if (r == 0)
		r = volume_ops_host(db, json_integer_value(json_object_get(a, "host")), dst, &err);
	if (r == 0)
		r = vm_volumes(db, vm.id, l, &err);
	if (r == 0)
		r = service_offering_get(db, vm.service_offering_id, &so, &err);
	if (r < 0)
		goto out;
	/* local volumes move to the destination host's local pool (same passphrase) */
	disks = json_array();
	for (unsigned i = 0; i < l->n; i++) {
		if (pool_get(db, l->v[i].pool_id, p, &err) < 0)
			continue;
		if (!strcmp(p->scope, "HOST")) {
			copy = true;
			if (disk_offering_get(db, l->v[i].disk_offering_id, &off, &err) == 0 &&
			    alloc_pool(db, vm.zone_id, &off, volume_is_encrypted(db, &l->v[i]), dst->id,
				       0, dp, &err) == 0)
				*p = *dp;
		}
		json_array_append_new(disks, json_pack("{s:o, s:I}", "volume",
						       volume_to(m, db, &l->v[i], p, &err), "device",
						       (json_int_t)l->v[i].device_id));
		if (!strcmp(p->scope, "HOST"))
			l->v[i].pool_id = p->id;
	}
	vmo = json_pack("{s:s, s:i, s:i, s:o}", "name", vm.instance_name, "memory_mb",
			so.ram_size ? (int)so.ram_size : 256, "vcpus", so.cpu ? (int)so.cpu : 1,
			"disks", disks);
	args = json_pack("{s:o}", "vm", vmo);
	/* PowerFlex volumes: mapped to the destination too (allowMultipleMappings) */
	r = volume_ops_pfx_vm(m, db, vm.id, dst->id, true, errortext, errlen);
	if (r < 0) {
		json_decref(args);
		goto fail;
	}
	r = cloud_agent_call(m, dst, "prepare_migration", args, AGENT_TIMEOUT_COPY_MS, &res,
			     errortext, errlen);
	json_decref(args);
	json_decref(res);
	res = NULL;
	if (r < 0)
		goto fail_unmap;
	snprintf(uri, sizeof(uri), "qemu+tcp://%s/system", dst->ip[0] ? dst->ip : dst->name);
	args = json_pack("{s:s, s:s, s:b}", "name", vm.instance_name, "dest_uri", uri,
			 "copy_storage", copy);
	r = cloud_agent_call(m, src, "migrate_vm", args, AGENT_TIMEOUT_COPY_MS, &res, errortext,
			     errlen);
	json_decref(args);
	json_decref(res);
	res = NULL;
	if (r < 0)
		goto fail_unmap;
	args = json_pack("{s:s}", "name", vm.instance_name);
	if (cloud_agent_call(m, src, "post_migration", args, AGENT_TIMEOUT_MS, &res, errortext,
			     errlen) < 0)
		errortext[0] = '\0'; /* logged; the VM runs on the destination */
	json_decref(args);
	json_decref(res);
	/* PowerFlex volumes: unmapped from the source (logged on failure) */
	if (volume_ops_pfx_vm(m, db, vm.id, src->id, false, errortext, errlen) < 0)
		errortext[0] = '\0';
	for (unsigned i = 0; i < l->n; i++)
		volume_set_placement(db, l->v[i].id, l->v[i].pool_id, l->v[i].path, l->v[i].format,
				     l->v[i].size, l->v[i].state, &err);
	r = vm_transition(db, vm.id, "Running", "Running", dst->id, &err);
	if (r == 0)
		r = vm_result(db, result, vm.id);
	goto out;
fail_unmap:
	{
		char ignored[256] = "";
		volume_ops_pfx_vm(m, db, vm.id, dst->id, false, ignored, sizeof(ignored));
	}
fail:
	*errcode = API_ERR_INTERNAL;
out:
	if (r < 0 && !errortext[0])
		snprintf(errortext, errlen, "Failed to migrate VM: %s", err.msg);
	json_decref(a);
	free(src);
	free(dst);
	free(p);
	free(dp);
	free(l);
	return r;
}

static int submit_migrate(struct api_ctx *c, bool with_volume)
{
	struct host_record *h = malloc(sizeof(*h));
	struct vol_list *l = malloc(sizeof(*l));
	struct vm_record vm;
	const char *host_uuid;
	struct vecs_err err = { 0 };
	json_t *args;
	int r = -1;

	if (!h || !l) {
		api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, "out of memory");
		goto out;
	}
	if (cloud_get_vm(c, "virtualmachineid", &vm) < 0 ||
	    api_get_uuid(c, "hostid", true, &host_uuid) < 0)
		goto out;
	if (host_get_by_uuid(c->db, host_uuid, h, &err) < 0) {
		api_fail_no_entity(c, "hostid", host_uuid);
		goto out;
	}
	if (strcmp(vm.state, "Running")) {
		api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
			 "VM is not Running, unable to migrate the vm %s", vm.name);
		goto out;
	}
	if (h->id == vm.host_id) {
		api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
			 "Cannot migrate VM, destination host is same as current host");
		goto out;
	}
	if (vm_volumes(c->db, vm.id, l, &err) < 0 ||
	    plan_host(c, vm.zone_id, any_encrypted(c->db, l), h->id, 0, h) < 0)
		goto out;
	args = json_pack("{s:s, s:I, s:b}", "vm", vm.uuid, "host", (json_int_t)h->id,
			 "with_volume", with_volume);
	r = cloud_job_submit(c, with_volume ? "org.apache.cloudstack.api.command.admin.vm.MigrateVirtualMachineWithVolumeCmd"
					    : "org.apache.cloudstack.api.command.admin.vm.MigrateVMCmd",
			     "VirtualMachine", NULL, args, job_migrate);
	json_decref(args);
out:
	free(h);
	free(l);
	return r;
}

static int cmd_migrate(struct api_ctx *c)
{
	return submit_migrate(c, false);
}

static int cmd_migrate_with_volume(struct api_ctx *c)
{
	return submit_migrate(c, true);
}

/* --- VM snapshots: refused (seed: Instance Snapshot No) ------------------------------------------------- */

static int cmd_create_vm_snapshot(struct api_ctx *c)
{
	struct vol_list *l = malloc(sizeof(*l));
	struct vm_record vm;
	struct vecs_err err = { 0 };
	int memory, enc = 0;
	const char *name;

	if (!l)
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, "out of memory");
	if (cloud_get_vm(c, "virtualmachineid", &vm) < 0 ||
	    api_get_bool(c, "snapshotmemory", 0, &memory) < 0 ||
	    api_get_str(c, "name", false, 255, &name) < 0) {
		free(l);
		return -1;
	}
	if (vm_volumes(c->db, vm.id, l, &err) == 0)
		enc = any_encrypted(c->db, l);
	free(l);
	if (enc && memory)
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
				"Cannot create VM memory snapshots on KVM from encrypted root volumes");
	if (enc)
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
				"Cannot create VM snapshots on KVM from encrypted volumes");
	return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API,
			"VM snapshots are not implemented by the vecs reference management server");
}

/* --- listVirtualMachines ----------------------------------------------------------------------------------- */

static int vm_row(void *ctx, const struct vm_record *v)
{
	struct api_list *l = ctx;

	if (api_list_take(l))
		vm_json(l->c->db, &l->rows, v);
	return 0;
}

static int cmd_list_vms(struct api_ctx *c)
{
	struct vm_filter f = { 0 };
	struct host_record *h = malloc(sizeof(*h));
	const char *host_uuid;
	struct vecs_err err = { 0 };
	struct api_list l;
	int r;

	if (!h)
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, "out of memory");
	if (api_list_begin(&l, c) < 0 || api_get_uuid(c, "id", false, &f.uuid) < 0 ||
	    api_get_str(c, "name", false, 255, &f.name) < 0 ||
	    api_get_str(c, "state", false, 32, &f.state) < 0 ||
	    api_get_uuid(c, "hostid", false, &host_uuid) < 0)
		goto fail;
	if (host_uuid) {
		if (host_get_by_uuid(c->db, host_uuid, h, &err) < 0) {
			api_fail_no_entity(c, "hostid", host_uuid);
			goto fail;
		}
		f.host_id = h->id;
	}
	r = vm_list(c->db, &f, vm_row, &l, &err);
	free(h);
	return api_list_finish(&l, r, &err, "virtualmachine");
fail:
	free(h);
	return api_list_abandon(&l);
}

static const struct api_command vm_commands[] = {
	{ "deployVirtualMachine", cmd_deploy, true },
	{ "startVirtualMachine", cmd_start, true },
	{ "stopVirtualMachine", cmd_stop, true },
	{ "rebootVirtualMachine", cmd_reboot, true },
	{ "destroyVirtualMachine", cmd_destroy, true },
	{ "recoverVirtualMachine", cmd_recover, false },
	{ "expungeVirtualMachine", cmd_expunge, true },
	{ "restoreVirtualMachine", cmd_restore, true },
	{ "changeServiceForVirtualMachine", cmd_change_service, false },
	{ "migrateVirtualMachine", cmd_migrate, true },
	{ "migrateVirtualMachineWithVolume", cmd_migrate_with_volume, true },
	{ "createVMSnapshot", cmd_create_vm_snapshot, true },
	{ "listVirtualMachines", cmd_list_vms, false },
	{ "createStoragePool", cmd_create_storage_pool, false },
	{ "listStoragePools", cmd_list_storage_pools, false },
	{ "registerTemplate", cmd_register_template, false },
	{ "listTemplates", cmd_list_templates, false },
	{ NULL, NULL, false },
};

const struct api_command *api_cloud_command_find(const char *name)
{
	for (const struct api_command *c = vm_commands; c->name; c++)
		if (!strcasecmp(c->name, name))
			return c;
	for (const struct api_command *c = api_volume_commands; c->name; c++)
		if (!strcasecmp(c->name, name))
			return c;
	return NULL;
}
