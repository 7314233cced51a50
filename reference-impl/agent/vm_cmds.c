/* Domain commands of vecs-agent (COMMANDS.md): start, stop, reboot, attach, detach,
 * and live migration (prepare on the destination, migrate on the source, post on the
 * source). Secrets are libvirt's ephemeral private secrets named by the volume path
 * (agent_uuid.h), their value set with virSecretSetValue only. */
#include <errno.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/agent_xml.h"

#define A(ctx) ((struct agent *)(ctx))

int agent_secret_define(struct agent *a, virConnectPtr conn, const struct agent_vol *v,
			struct vecs_err *err)
{
	char *xml = NULL;
	virSecretPtr sec;
	int r;

	if ((r = agent_secret_xml(v->secret_uuid, v->usage, &xml, err)) < 0)
		return r;
	if ((r = agent_ledger_add(a, VECS_OBJ_SECRET, a->uri, v->secret_uuid, NULL, err)) < 0) {
		free(xml);
		return r;
	}
	sec = virSecretDefineXML(conn, xml, 0);
	free(xml);
	if (!sec) {
		vecs_err_set(err, -EIO, "cannot define the secret of volume %s on host %s: %s",
			     v->name, a->name, agent_virt_error());
		agent_ledger_forget(a, VECS_OBJ_SECRET, a->uri, v->secret_uuid);
		return -EIO;
	}
	r = virSecretSetValue(sec, v->pass->data, v->pass->len, 0);
	virSecretFree(sec);
	if (r < 0) {
		vecs_err_set(err, -EIO, "cannot set the secret of volume %s on host %s: %s", v->name,
			     a->name, agent_virt_error());
		agent_secret_undefine(a, conn, v->secret_uuid);
		return -EIO;
	}
	return 0;
}

void agent_secret_undefine(struct agent *a, virConnectPtr conn, const char *uuid)
{
	virSecretPtr sec = virSecretLookupByUUIDString(conn, uuid);

	if (sec) {
		if (virSecretUndefine(sec) < 0)
			agent_log(a, "cannot undefine secret %s: %s", uuid, agent_virt_error());
		virSecretFree(sec);
	}
	agent_ledger_forget(a, VECS_OBJ_SECRET, a->uri, uuid);
}

/* --- the secrets of each domain (agent.h, doms): what stop_vm undefines when the
 * domain itself is gone ----------------------------------------------------------- */

/* The slot of domain name (made when `make` and there is room); dom_lock held. */
static struct agent_dom_secrets *dom_slot(struct agent *a, const char *name, bool make)
{
	struct agent_dom_secrets *empty = NULL;

	if (strlen(name) >= sizeof(a->doms[0].name))
		return NULL;
	for (size_t i = 0; i < AGENT_MAX_DOMAINS; i++) {
		if (!strcmp(a->doms[i].name, name))
			return &a->doms[i];
		if (!empty && !a->doms[i].name[0])
			empty = &a->doms[i];
	}
	if (!make || !empty)
		return NULL;
	memset(empty, 0, sizeof(*empty));
	snprintf(empty->name, sizeof(empty->name), "%s", name);
	return empty;
}

/* Add (or, with add false, remove) one secret of domain name. */
static void dom_secret_note(struct agent *a, const char *name, const char *uuid, bool add)
{
	struct agent_dom_secrets *d;

	pthread_mutex_lock(&a->dom_lock);
	if ((d = dom_slot(a, name, add))) {
		size_t i = 0;
		while (i < d->n && strcmp(d->uuids[i], uuid))
			i++;
		if (add && i == d->n && d->n < AGENT_DOM_SECRETS)
			snprintf(d->uuids[d->n++], sizeof(d->uuids[0]), "%s", uuid);
		else if (!add && i < d->n)
			memmove(d->uuids[i], d->uuids[i + 1], (d->n-- - i - 1) * sizeof(d->uuids[0]));
	}
	pthread_mutex_unlock(&a->dom_lock);
	if (add && !d)
		agent_log(a, "domain %s: no room to remember its secrets", name);
}

/* Forget domain name; its secrets go to uuids (at most max): how many. */
static size_t dom_secrets_take(struct agent *a, const char *name, char (*uuids)[37], size_t max)
{
	struct agent_dom_secrets *d;
	size_t n = 0;

	pthread_mutex_lock(&a->dom_lock);
	if ((d = dom_slot(a, name, false))) {
		for (; n < d->n && n < max; n++)
			memcpy(uuids[n], d->uuids[n], sizeof(uuids[0]));
		memset(d, 0, sizeof(*d));
	}
	pthread_mutex_unlock(&a->dom_lock);
	return n;
}

/* A volume's disk: file, block device (ScaleIO) or network disk (NFS, by its path on
 * the server). */
static void disk_of(const struct agent_vol *v, struct agent_disk_spec *ds)
{
	ds->kind = v->pool == POOL_SCALEIO ? AGENT_DISK_BLOCK
		   : v->pool == POOL_NFS   ? AGENT_DISK_NFS
					   : AGENT_DISK_FILE;
	ds->source = v->pool == POOL_NFS ? v->nfs_path : v->path;
	ds->nfs_host = v->pool == POOL_NFS ? v->nfs_host : NULL;
}

/* A VM argument: the spec for agent_domain_xml and the volumes of its disks. */
struct vm_arg {
	struct agent_vm_spec spec;
	struct agent_vol vols[AGENT_VM_MAX_DISKS];
	char serial[PATH_MAX]; /* the default serial log <serial dir>/<name>.log */
};

static int vm_parse(struct agent *a, json_t *vm, const struct chan_secrets *s, bool need_device,
		    struct vm_arg *out, struct vecs_err *err)
{
	json_t *disks = json_object_get(vm, "disks"), *mem = json_object_get(vm, "memory_mb"),
	       *cpus = json_object_get(vm, "vcpus");
	struct agent_vm_spec *sp = &out->spec;
	int r;

	memset(out, 0, sizeof(*out));
	sp->name = json_string_value(json_object_get(vm, "name"));
	if (!sp->name)
		return vecs_err_set(err, -EINVAL, "the command has no vm name");
	sp->domain_type = a->domain_type;
	sp->emulator = a->emulator;
	sp->memory_mb = mem ? (unsigned)json_integer_value(mem) : 64;
	sp->vcpus = cpus ? (unsigned)json_integer_value(cpus) : 1;
	sp->kernel = json_string_value(json_object_get(vm, "kernel"));
	sp->initrd = json_string_value(json_object_get(vm, "initrd"));
	sp->cmdline = json_string_value(json_object_get(vm, "cmdline"));
	sp->serial_log = json_string_value(json_object_get(vm, "serial_log"));
	if (!sp->serial_log) {
		/* a domain name is a libvirt name: a path component only without '/' */
		if (strchr(sp->name, '/') || sp->name[0] == '.' ||
		    (size_t)snprintf(out->serial, sizeof(out->serial), "%s/%s.log", a->serial_dir,
				     sp->name) >= sizeof(out->serial))
			return vecs_err_set(err, -EINVAL, "vm %s: the name cannot name a serial log "
					    "file", sp->name);
		sp->serial_log = out->serial;
	}
	if (disks && !json_is_array(disks))
		return vecs_err_set(err, -EINVAL, "vm %s: disks must be an array", sp->name);
	if (json_array_size(disks) > AGENT_VM_MAX_DISKS)
		return vecs_err_set(err, -EINVAL, "vm %s: at most %d disks", sp->name,
				    AGENT_VM_MAX_DISKS);
	for (size_t i = 0; i < json_array_size(disks); i++) {
		json_t *d = json_array_get(disks, i);
		char sp_path[CHAN_SECRET_PATH_MAX];
		struct agent_vol *v = &out->vols[i];
		struct agent_disk_spec *ds = &sp->disks[i];

		snprintf(sp_path, sizeof(sp_path), "vm.disks.%zu.volume.passphrase", i);
		if ((r = agent_vol_parse(a, json_object_get(d, "volume"), s, sp_path, need_device, v,
					 err)) < 0)
			return r;
		disk_of(v, ds);
		ds->format = v->format;
		agent_disk_set_target(ds, json_object_get(d, "device"));
		ds->secret_uuid = v->encrypted ? v->secret_uuid : NULL;
		sp->ndisks++;
	}
	return 0;
}

static void undefine_vols(struct agent *a, virConnectPtr conn, const struct vm_arg *vm, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (vm->vols[i].encrypted) {
			agent_secret_undefine(a, conn, vm->vols[i].secret_uuid);
			dom_secret_note(a, vm->spec.name, vm->vols[i].secret_uuid, false);
		}
}

/* Define the secrets of vm's encrypted disks; on failure those defined are undefined. */
static int define_vols(struct agent *a, virConnectPtr conn, const struct vm_arg *vm,
		       struct vecs_err *err)
{
	for (size_t i = 0; i < vm->spec.ndisks; i++) {
		if (!vm->vols[i].encrypted)
			continue;
		int r = agent_secret_define(a, conn, &vm->vols[i], err);
		if (r < 0) {
			undefine_vols(a, conn, vm, i);
			return r;
		}
	}
	for (size_t i = 0; i < vm->spec.ndisks; i++)
		if (vm->vols[i].encrypted)
			dom_secret_note(a, vm->spec.name, vm->vols[i].secret_uuid, true);
	return 0;
}

int h_start_vm(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
	       struct vecs_err *err)
{
	struct agent *a = A(ctx);
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	char uuid[VIR_UUID_STRING_BUFLEN];
	char *xml = NULL;
	struct vm_arg *vm = calloc(1, sizeof(*vm));
	int r;

	if (!vm)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	if ((r = vm_parse(a, json_object_get(args, "vm"), s, true, vm, err)) < 0 ||
	    (r = agent_domain_xml(&vm->spec, &xml, err)) < 0)
		goto out;
	if (!(conn = agent_conn(a, err))) {
		r = -ECONNREFUSED;
		goto out;
	}
	if ((r = define_vols(a, conn, vm, err)) < 0)
		goto out;
	if ((r = agent_ledger_add(a, VECS_OBJ_DOMAIN, a->uri, vm->spec.name, NULL, err)) < 0) {
		undefine_vols(a, conn, vm, vm->spec.ndisks);
		goto out;
	}
	if (!(dom = virDomainCreateXML(conn, xml, 0))) {
		r = vecs_err_set(err, -EIO, "cannot start VM %s on host %s: %s", vm->spec.name,
				 a->name, agent_virt_error());
		agent_ledger_forget(a, VECS_OBJ_DOMAIN, a->uri, vm->spec.name);
		undefine_vols(a, conn, vm, vm->spec.ndisks);
		goto out;
	}
	virDomainGetUUIDString(dom, uuid);
	agent_log(a, "start_vm %s: running (%zu disks)", vm->spec.name, vm->spec.ndisks);
	*result = json_pack("{s:s, s:s}", "domain_uuid", uuid, "serial_log", vm->spec.serial_log);
out:
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
	free(xml);
	free(vm);
	return r;
}

/* The secrets a running domain uses (from its live XML). */
static size_t domain_secrets(virDomainPtr dom, char (*uuids)[37], size_t max)
{
	char *xml = virDomainGetXMLDesc(dom, 0);
	size_t n = xml ? agent_xml_secret_uuids(xml, uuids, max) : 0;

	free(xml);
	return n;
}

static virDomainPtr lookup(struct agent *a, virConnectPtr conn, const char *name,
			   struct vecs_err *err)
{
	virDomainPtr dom;

	if (!name)
		return vecs_err_set(err, -EINVAL, "the command has no vm name"), NULL;
	if (!(dom = virDomainLookupByName(conn, name)))
		vecs_err_set(err, -ENOENT, "VM %s is not running on host %s", name, a->name);
	return dom;
}

/* Whether libvirt's last error of this thread says the domain does not exist. */
static bool no_such_domain(void)
{
	virErrorPtr e = virGetLastError();

	return e && e->code == VIR_ERR_NO_DOMAIN;
}

/* stop_vm of a domain that does not exist (QEMU died, libvirtd restarted): the VM is
 * stopped, as CloudStack's agent answers a StopCommand for an unknown domain; the
 * secrets it was started with are undefined all the same. */
static int stop_gone(struct agent *a, virConnectPtr conn, const char *name, json_t **result,
		     struct vecs_err *err)
{
	char uuids[AGENT_DOM_SECRETS][37];
	size_t n = dom_secrets_take(a, name, uuids, AGENT_DOM_SECRETS);

	for (size_t i = 0; i < n; i++)
		agent_secret_undefine(a, conn, uuids[i]);
	agent_ledger_forget(a, VECS_OBJ_DOMAIN, a->uri, name);
	agent_log(a, "stop_vm %s: not running on this host, %zu secrets undefined", name, n);
	*result = json_pack("{s:b, s:I}", "was_running", 0, "secrets_undefined", (json_int_t)n);
	return *result ? 0 : vecs_err_set(err, -ENOMEM, "out of memory");
}

int h_stop_vm(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
	      struct vecs_err *err)
{
	struct agent *a = A(ctx);
	const char *name = json_string_value(json_object_get(args, "name"));
	virConnectPtr conn;
	virDomainPtr dom;
	char uuids[AGENT_VM_MAX_DISKS][37], ignored[AGENT_DOM_SECRETS][37];
	size_t n;
	int r = 0;

	if (!name)
		return vecs_err_set(err, -EINVAL, "the command has no vm name");
	if (!(conn = agent_conn(a, err)))
		return -ECONNREFUSED;
	if (!(dom = virDomainLookupByName(conn, name))) {
		if (no_such_domain())
			r = stop_gone(a, conn, name, result, err);
		else
			r = vecs_err_set(err, -EIO, "cannot look up VM %s on host %s: %s", name,
					 a->name, agent_virt_error());
		virConnectClose(conn);
		return r;
	}
	n = domain_secrets(dom, uuids, AGENT_VM_MAX_DISKS);
	if (virDomainDestroy(dom) < 0 && !no_such_domain())
		r = vecs_err_set(err, -EIO, "cannot stop VM %s on host %s: %s", name, a->name,
				 agent_virt_error());
	virDomainFree(dom);
	if (r == 0) {
		agent_ledger_forget(a, VECS_OBJ_DOMAIN, a->uri, name);
		for (size_t i = 0; i < n; i++)
			agent_secret_undefine(a, conn, uuids[i]);
		/* secrets defined for it that its XML no longer names go too */
		size_t more = dom_secrets_take(a, name, ignored, AGENT_DOM_SECRETS);
		for (size_t i = 0; i < more; i++)
			agent_secret_undefine(a, conn, ignored[i]);
		agent_log(a, "stop_vm %s: stopped, %zu secrets undefined", name, n);
		*result = json_pack("{s:b, s:I}", "was_running", 1, "secrets_undefined",
				    (json_int_t)n);
	}
	virConnectClose(conn);
	return r;
}

int h_reboot_vm(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		struct vecs_err *err)
{
	struct agent *a = A(ctx);
	const char *name = json_string_value(json_object_get(args, "name"));
	virConnectPtr conn = agent_conn(a, err);
	virDomainPtr dom;
	int r = 0;

	if (!conn)
		return -ECONNREFUSED;
	if (!(dom = lookup(a, conn, name, err))) {
		virConnectClose(conn);
		return -ENOENT;
	}
	/* a guest without ACPI ignores a reboot request: reset it then */
	if (virDomainReboot(dom, 0) < 0 && virDomainReset(dom, 0) < 0)
		r = vecs_err_set(err, -EIO, "cannot reboot VM %s: %s", name, agent_virt_error());
	virDomainFree(dom);
	virConnectClose(conn);
	return r;
}

/* Whether the running domain still has a disk with target dev (its live XML). */
static bool disk_present(virDomainPtr dom, const char *dev)
{
	char *xml = virDomainGetXMLDesc(dom, 0), a[32], b[32];
	bool present;

	if (!xml)
		return true;
	snprintf(a, sizeof(a), "<target dev='%s'", dev);
	snprintf(b, sizeof(b), "<target dev=\"%s\"", dev);
	present = strstr(xml, a) || strstr(xml, b);
	free(xml);
	return present;
}

static int attach_detach(struct agent *a, json_t *args, const struct chan_secrets *s,
			 bool attach, struct vecs_err *err)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	struct agent_disk_spec ds = { 0 };
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	struct agent_vol v;
	char *xml = NULL;
	int r;

	if ((r = agent_vol_parse(a, json_object_get(args, "volume"), s, "volume.passphrase", true,
				 &v, err)) < 0)
		return r;
	disk_of(&v, &ds);
	ds.format = v.format;
	agent_disk_set_target(&ds, json_object_get(args, "device"));
	ds.secret_uuid = v.encrypted ? v.secret_uuid : NULL;
	if ((r = agent_disk_xml(&ds, &xml, err)) < 0)
		return r;
	if (!(conn = agent_conn(a, err))) {
		r = -ECONNREFUSED;
		goto out;
	}
	if (!(dom = lookup(a, conn, name, err))) {
		r = -ENOENT;
		goto out;
	}
	if (attach) {
		if (v.encrypted && (r = agent_secret_define(a, conn, &v, err)) < 0)
			goto out;
		if (virDomainAttachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_LIVE) < 0) {
			r = vecs_err_set(err, -EIO, "cannot attach volume %s to VM %s: %s", v.name,
					 name, agent_virt_error());
			if (v.encrypted)
				agent_secret_undefine(a, conn, v.secret_uuid);
		} else if (v.encrypted) {
			dom_secret_note(a, name, v.secret_uuid, true);
		}
	} else {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (virDomainDetachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_LIVE) < 0) {
			r = vecs_err_set(err, -EIO, "cannot detach volume %s from VM %s: %s", v.name,
					 name, agent_virt_error());
		} else {
			/* libvirt returns once the unplug is requested (after waiting 5 s for
			 * QEMU's DEVICE_DELETED): the disk goes only when the guest ejects it */
			bool gone = false;
			for (int i = 0; i < 50 && !(gone = !disk_present(dom, ds.target)); i++)
				usleep(100000);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			agent_log(a, "detach_volume %s from VM %s: %s after %.1f s", v.name, name,
				  gone ? "gone" : "still there",
				  (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
			if (!gone)
				r = vecs_err_set(err, -EBUSY,
						 "cannot detach volume %s from VM %s: the guest did not "
						 "release disk %s (no OS acknowledged the hot-unplug)",
						 v.name, name, ds.target);
			else if (v.encrypted) {
				agent_secret_undefine(a, conn, v.secret_uuid);
				dom_secret_note(a, name, v.secret_uuid, false);
			}
		}
	}
	if (r == 0)
		agent_log(a, "%s_volume %s %s VM %s", attach ? "attach" : "detach", v.name,
			  attach ? "to" : "from", name);
out:
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
	free(xml);
	return r;
}

int h_attach_volume(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		    struct vecs_err *err)
{
	return attach_detach(A(ctx), args, s, true, err);
}

int h_detach_volume(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		    struct vecs_err *err)
{
	return attach_detach(A(ctx), args, s, false, err);
}

/* Destination side, before the migration: the secrets, and for local storage the
 * destination volumes (encrypted with the same passphrase, empty: libvirt's storage
 * copy fills them). */
int h_prepare_migration(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
			struct vecs_err *err)
{
	struct agent *a = A(ctx);
	struct vm_arg *vm = calloc(1, sizeof(*vm));
	virConnectPtr conn = NULL;
	size_t made = 0;
	int r;

	if (!vm)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	if ((r = vm_parse(a, json_object_get(args, "vm"), s, true, vm, err)) < 0)
		goto out;
	for (; made < vm->spec.ndisks; made++) {
		struct agent_vol *v = &vm->vols[made];
		json_t *res = NULL, *cargs;
		struct chan_secrets one = { 0 };
		struct stat st;

		if (v->pool != POOL_LOCAL || stat(v->path, &st) == 0)
			continue;
		if (!v->size) {
			r = vecs_err_set(err, -EINVAL, "vm %s: local volume %s needs its size to be "
					 "created on the destination", vm->spec.name, v->name);
			goto undo;
		}
		/* create_volume's handler with this disk's volume and secret */
		cargs = json_pack("{s:O}", "volume",
				  json_object_get(json_array_get(json_object_get(json_object_get(args, "vm"), "disks"), made), "volume"));
		if (v->encrypted) {
			one.n = 1;
			snprintf(one.v[0].path, sizeof(one.v[0].path), "volume.passphrase");
			one.v[0].s = *v->pass; /* borrowed: not released here */
		}
		r = h_create_volume(a, cargs, &one, &res, err);
		explicit_bzero(&one, sizeof(one));
		json_decref(cargs);
		json_decref(res);
		if (r < 0)
			goto undo;
	}
	if (!(conn = agent_conn(a, err))) {
		r = -ECONNREFUSED;
		goto undo;
	}
	if ((r = define_vols(a, conn, vm, err)) < 0)
		goto undo;
	/* the domain arrives with the migration: recorded here first, as an intent */
	if ((r = agent_ledger_add(a, VECS_OBJ_DOMAIN, a->uri, vm->spec.name, NULL, err)) < 0) {
		undefine_vols(a, conn, vm, vm->spec.ndisks);
		goto undo;
	}
	agent_log(a, "prepare_migration %s: %zu disks ready", vm->spec.name, vm->spec.ndisks);
	goto out;
undo:
	for (size_t i = 0; i < made; i++)
		if (vm->vols[i].pool == POOL_LOCAL)
			unlink(vm->vols[i].path);
out:
	if (conn)
		virConnectClose(conn);
	free(vm);
	return r;
}

/* Replace every occurrence of from by to in *xml (a malloc'ed string). */
static int replace_all(char **xml, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	char *out, *o;
	const char *p;

	if (!fl || !strcmp(from, to))
		return 0;
	for (p = *xml; (p = strstr(p, from)); p += fl)
		n++;
	if (!n)
		return 0;
	if (!(out = malloc(strlen(*xml) + n * tl + 1)))
		return -ENOMEM;
	o = out;
	for (p = *xml;;) {
		const char *q = strstr(p, from);
		if (!q) {
			strcpy(o, p);
			break;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, tl);
		o += tl;
		p = q + fl;
	}
	free(*xml);
	*xml = out;
	return 0;
}

/* The destination's libvirt, reached as the source libvirtd reaches it: from this host's
 * network namespace (entered by this thread only, for the connect). */
static virConnectPtr dest_conn(struct agent *a, const char *uri, struct vecs_err *err)
{
	char path[128];
	virConnectPtr c = NULL;
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), ns;

	snprintf(path, sizeof(path), "/run/netns/%s", a->netns);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
		vecs_err_set(err, -errno, "cannot enter %s to reach %s: %s", path, uri,
			     strerror(errno));
	} else {
		c = virConnectOpen(uri);
		if (setns(self, CLONE_NEWNET) < 0) {
			/* this worker would stay in the host's netns: never go on like that */
			agent_log(a, "cannot return to the agent's netns: %s", strerror(errno));
			abort();
		}
		if (!c)
			vecs_err_set(err, -EIO, "cannot connect to %s: %s", uri, agent_virt_error());
	}
	if (self >= 0)
		close(self);
	if (ns >= 0)
		close(ns);
	return c;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Without dest_vm (vecs-mgmt sends only name, dest_uri, copy_storage): the destination
 * XML derived here. prepare_migration defined, on the destination, a secret per
 * encrypted disk named by the disk's destination path (the volume's file name under the
 * destination host's pool): each file disk of the running domain whose secret is on the
 * destination under another path with the same file name moves to that path and secret.
 * Unencrypted file disks follow the directory mapping of an encrypted one; those with
 * none keep their path (shared storage). */
static int derive_dest_xml(struct agent *a, virDomainPtr dom, const char *dest, char **xml,
			   struct vecs_err *err)
{
	char (*paths)[4096] = calloc(AGENT_VM_MAX_DISKS, sizeof(*paths));
	char (*to)[4096] = calloc(AGENT_VM_MAX_DISKS, sizeof(*to));
	char uuids[AGENT_VM_MAX_DISKS][37], touu[AGENT_VM_MAX_DISKS][37];
	virConnectPtr dc = NULL;
	virSecretPtr *secs = NULL;
	int nsec = 0, r = 0;
	size_t n;

	if (!paths || !to) {
		r = vecs_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (!(*xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_MIGRATABLE))) {
		r = vecs_err_set(err, -EIO, "cannot read the domain XML: %s", agent_virt_error());
		goto out;
	}
	n = agent_xml_file_disks(*xml, paths, uuids, AGENT_VM_MAX_DISKS);
	if (!n)
		goto out;
	if (!(dc = dest_conn(a, dest, err))) {
		r = -EIO;
		goto out;
	}
	if ((nsec = virConnectListAllSecrets(dc, &secs, 0)) < 0) {
		r = vecs_err_set(err, -EIO, "cannot list the secrets on %s: %s", dest,
				 agent_virt_error());
		nsec = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		to[i][0] = touu[i][0] = '\0';
		if (!uuids[i][0])
			continue;
		for (int j = 0; j < nsec; j++) {
			const char *u = virSecretGetUsageID(secs[j]);
			if (virSecretGetUsageType(secs[j]) != VIR_SECRET_USAGE_TYPE_VOLUME || !u ||
			    !strcmp(u, paths[i]) || strcmp(base_name(u), base_name(paths[i])))
				continue;
			snprintf(to[i], sizeof(to[i]), "%s", u);
			virSecretGetUUIDString(secs[j], touu[i]);
			break;
		}
	}
	/* unencrypted disks: the directory mapping of an encrypted disk in the same dir */
	for (size_t i = 0; i < n; i++) {
		size_t dl = (size_t)(base_name(paths[i]) - paths[i]);
		if (uuids[i][0])
			continue;
		for (size_t k = 0; k < n; k++)
			if (to[k][0] && (size_t)(base_name(paths[k]) - paths[k]) == dl &&
			    !strncmp(paths[k], paths[i], dl)) {
				snprintf(to[i], sizeof(to[i]), "%.*s%s",
					 (int)(base_name(to[k]) - to[k]), to[k], base_name(paths[i]));
				break;
			}
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!to[i][0])
			continue;
		agent_log(a, "migrate: disk %s -> %s on the destination", paths[i], to[i]);
		r = replace_all(xml, paths[i], to[i]);
		if (r == 0 && touu[i][0])
			r = replace_all(xml, uuids[i], touu[i]);
		if (r < 0)
			vecs_err_set(err, r, "out of memory");
	}
out:
	for (int j = 0; j < nsec; j++)
		virSecretFree(secs[j]);
	free(secs);
	if (dc)
		virConnectClose(dc);
	free(paths);
	free(to);
	return r;
}

int h_migrate_vm(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		 struct vecs_err *err)
{
	struct agent *a = A(ctx);
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *dest = json_string_value(json_object_get(args, "dest_uri"));
	bool copy = json_is_true(json_object_get(args, "copy_storage"));
	json_t *dvm = json_object_get(args, "dest_vm");
	struct vm_arg *src = NULL, *dst = NULL;
	virTypedParameterPtr params = NULL;
	int nparams = 0, maxparams = 0, r = 0;
	unsigned long flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER;
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	char uuids[8][37];
	char *xml = NULL;
	size_t n;

	if (!dest || strncmp(dest, "qemu+tcp://", 11))
		return vecs_err_set(err, -EINVAL, "migrate_vm: dest_uri must be a qemu+tcp:// URI");
	if (!(conn = agent_conn(a, err)))
		return -ECONNREFUSED;
	if (!(dom = lookup(a, conn, name, err))) {
		r = -ENOENT;
		goto out;
	}
	n = domain_secrets(dom, uuids, 8);
	if (copy) {
		flags |= VIR_MIGRATE_NON_SHARED_DISK;
	} else {
		/* smp and ScaleIO: shared storage libvirt cannot recognise as shared
		 * (DESIGN.md, "Hazards") */
		flags |= VIR_MIGRATE_UNSAFE;
	}
	if (dvm) {
		/* the destination's paths differ (local storage): the same domain with
		 * each disk's source and secret replaced by the destination's */
		src = calloc(1, sizeof(*src));
		dst = calloc(1, sizeof(*dst));
		if (!src || !dst) {
			r = vecs_err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		json_t *svm = json_object_get(args, "vm");
		if ((r = vm_parse(a, svm, s, false, src, err)) < 0 ||
		    (r = vm_parse(a, dvm, s, false, dst, err)) < 0)
			goto out;
		if (src->spec.ndisks != dst->spec.ndisks) {
			r = vecs_err_set(err, -EINVAL, "migrate_vm %s: vm and dest_vm differ in disks",
					 name);
			goto out;
		}
		xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_MIGRATABLE);
		for (size_t i = 0; xml && r == 0 && i < src->spec.ndisks; i++) {
			r = replace_all(&xml, src->vols[i].path, dst->vols[i].path);
			if (r == 0)
				r = replace_all(&xml, src->vols[i].secret_uuid, dst->vols[i].secret_uuid);
		}
		if (!xml || r < 0 ||
		    virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_DEST_XML,
					    xml) < 0) {
			r = vecs_err_set(err, -ENOMEM, "migrate_vm %s: cannot build the destination XML",
					 name);
			goto out;
		}
	} else if (copy) {
		if ((r = derive_dest_xml(a, dom, dest, &xml, err)) < 0 ||
		    virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_DEST_XML,
					    xml) < 0) {
			if (r == 0)
				r = vecs_err_set(err, -ENOMEM, "out of memory");
			else {
				char why[sizeof(err->msg)];
				snprintf(why, sizeof(why), "%s", err->msg);
				vecs_err_set(err, r, "migrate_vm %s: cannot build the destination XML: %s",
					     name, why);
			}
			goto out;
		}
	}
	agent_log(a, "migrate_vm %s -> %s%s", name, dest, copy ? " (copy storage)" : "");
	if (virDomainMigrateToURI3(dom, dest, params, (unsigned)nparams, flags) < 0) {
		r = vecs_err_set(err, -EIO, "cannot migrate VM %s from host %s to %s: %s", name,
				 a->name, dest, agent_virt_error());
		goto out;
	}
	agent_ledger_forget(a, VECS_OBJ_DOMAIN, a->uri, name);
	{
		char gone[AGENT_DOM_SECRETS][37];
		(void)dom_secrets_take(a, name, gone, AGENT_DOM_SECRETS);
	}
	/* post_migration undefines these on this host */
	pthread_mutex_lock(&a->mig_lock);
	for (size_t i = 0; i < AGENT_MAX_MIGRATIONS; i++) {
		if (a->migrated[i].name[0] && strcmp(a->migrated[i].name, name))
			continue;
		snprintf(a->migrated[i].name, sizeof(a->migrated[i].name), "%s", name);
		memcpy(a->migrated[i].uuids, uuids, sizeof(uuids));
		a->migrated[i].n = n;
		break;
	}
	pthread_mutex_unlock(&a->mig_lock);
	agent_log(a, "migrate_vm %s: done", name);
out:
	virTypedParamsFree(params, nparams);
	free(xml);
	free(src);
	free(dst);
	if (dom)
		virDomainFree(dom);
	virConnectClose(conn);
	return r;
}

int h_post_migration(void *ctx, json_t *args, const struct chan_secrets *s, json_t **result,
		     struct vecs_err *err)
{
	struct agent *a = A(ctx);
	const char *name = json_string_value(json_object_get(args, "name"));
	json_t *vmj = json_object_get(args, "vm");
	virConnectPtr conn;
	size_t undefined = 0;

	if (!name)
		return vecs_err_set(err, -EINVAL, "post_migration: no vm name");
	if (!(conn = agent_conn(a, err)))
		return -ECONNREFUSED;
	pthread_mutex_lock(&a->mig_lock);
	for (size_t i = 0; i < AGENT_MAX_MIGRATIONS; i++) {
		if (strcmp(a->migrated[i].name, name))
			continue;
		for (size_t j = 0; j < a->migrated[i].n; j++, undefined++)
			agent_secret_undefine(a, conn, a->migrated[i].uuids[j]);
		memset(&a->migrated[i], 0, sizeof(a->migrated[i]));
	}
	pthread_mutex_unlock(&a->mig_lock);
	if (!undefined && vmj) {
		/* an agent restarted since the migration: the VM's disks name the secrets */
		struct vm_arg *vm = calloc(1, sizeof(*vm));
		if (vm && vm_parse(a, vmj, s, false, vm, NULL) == 0)
			for (size_t i = 0; i < vm->spec.ndisks; i++)
				if (vm->vols[i].encrypted) {
					agent_secret_undefine(a, conn, vm->vols[i].secret_uuid);
					undefined++;
				}
		free(vm);
	}
	virConnectClose(conn);
	agent_log(a, "post_migration %s: %zu secrets undefined", name, undefined);
	*result = json_pack("{s:I}", "secrets_undefined", (json_int_t)undefined);
	return 0;
}
