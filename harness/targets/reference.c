/* Paths here are the stack or work directory (checked shorter than PATH_MAX - 256 at
 * open) plus short suffixes; GCC cannot see that bound through snprintf. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include "targets/reference.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oracle/canary.h"
#include "oracle/inspect.h"
#include "oracle/scan.h"
#include "targets/api_client.h"
#include "targets/db_probe.h"
#include "targets/stack.h"
#include "util/secret.h"
#include "util/spawn.h"

#define ENV_MAX 16
/* guest_report: how long the tiny guest has to boot, write and read back (TCG boots in
 * ~2.5 s on this machine; the matrix may run beside it on 2 cores) */
#define GUEST_REPORT_TIMEOUT_S 120
#define CANARY_DEFAULT_SIZE (1u << 20)

struct vecs_reference {
	char stack_dir[PATH_MAX];
	char bin[PATH_MAX];
	char work[PATH_MAX];
	bool started;
	FILE *progress;
	json_t *stack;    /* the target configuration (targets/README.md); for the reference
			   * target, stack.json plus the probes only this stack has */
	virConnectPtr conn[16]; /* one libvirt connection per configured host, for the run */
	size_t n_conn;
	struct vecs_api *api;
	struct vecs_dbprobe *db;
	const struct vecs_cell *cell;
	char env_key[ENV_MAX][32];
	char env_val[ENV_MAX][PATH_MAX / 8];
	int n_env;
	json_t *seen;     /* volume id -> {"sha": passphrase digest} of this cell */
	json_t *states;   /* label -> recorded state text */
	json_t *canaries; /* label -> {"volume", "size"} */
	bool other_pool_fixed;
	json_t *baseline;        /* pool files and gateway volumes before the cell */
	int64_t orphans_before;  /* passphrase rows no volume used before the cell */
};

#define strf vecs_strf

/* ---- API helpers -------------------------------------------------------------------- */

/* Call and return the response object (new reference) or NULL with *why. */
static json_t *call(struct vecs_reference *t, const char *cmd, const char *const *params,
		    char **why)
{
	struct vecs_api_reply res;
	struct vecs_err err = { 0 };
	json_t *out;

	if (vecs_api_call(t->api, cmd, params, &res, &err) < 0) {
		*why = strf("%s: %s", cmd, err.msg);
		return NULL;
	}
	if (res.errorcode) {
		*why = strf("%s refused with %d: %s", cmd, res.errorcode, res.errortext);
		vecs_api_reply_clear(&res);
		return NULL;
	}
	out = json_incref(res.response);
	vecs_api_reply_clear(&res);
	return out;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- the target operations ---------------------------------------------------------- */

static void env_set(struct vecs_reference *t, const char *k, const char *v)
{
	if (!v || t->n_env >= ENV_MAX)
		return;
	snprintf(t->env_key[t->n_env], sizeof(t->env_key[0]), "%s", k);
	snprintf(t->env_val[t->n_env], sizeof(t->env_val[0]), "%s", v);
	t->n_env++;
}

static json_t *call(struct vecs_reference *t, const char *cmd, const char *const *params,
		    char **why);
static json_t *storage_listing(struct vecs_reference *t);

/* Another pool for migrateVolume: of the cell's storage type, not the one the cell's
 * newest data volume is on, and for host-local storage on that volume's host. Decided
 * when the step runs, since only then is it known where the volume landed. */
/* Does a listStoragePools entry carry tag (its comma-separated "tags")? The filter is
 * applied here: listStoragePools takes no tags parameter, and an API that ignores an
 * unknown parameter would hand back every pool. */
static bool pool_tagged(json_t *pool, const char *tag)
{
	const char *tags = jstr(pool, "tags") ?: "";
	size_t n = strlen(tag);

	for (const char *p = tags; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && !strncmp(p, tag, n))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

static const char *other_pool(struct vecs_reference *t)
{
	const char *lv[] = { "listall", "true", "type", "DATADISK", NULL };
	char tag[48], cur[64] = "", host[64] = "", *why = NULL;
	const char *lp[] = { NULL };
	json_t *r, *o, *found = NULL;
	size_t i;

	snprintf(tag, sizeof(tag), "vecs-%s", t->cell->storage);
	if ((r = call(t, "listVolumes", lv, &why))) {
		json_array_foreach(json_object_get(r, "volume"), i, o)
			if (jstr(o, "storageid"))
				snprintf(cur, sizeof(cur), "%s", jstr(o, "storageid"));
		json_decref(r);
	}
	if (cur[0] && (r = call(t, "listStoragePools", lp, &why))) {
		json_array_foreach(json_object_get(r, "storagepool"), i, o)
			if (!strcmp(jstr(o, "id") ?: "", cur))
				snprintf(host, sizeof(host), "%s", jstr(o, "hostid") ?: "");
		json_array_foreach(json_object_get(r, "storagepool"), i, o)
			if (!found && pool_tagged(o, tag) && strcmp(jstr(o, "id") ?: "", cur) &&
			    (!host[0] || !strcmp(jstr(o, "hostid") ?: "", host)))
				found = o;
		if (found) {
			for (int k = 0; k < t->n_env; k++)
				if (!strcmp(t->env_key[k], "otherpoolid"))
					snprintf(t->env_val[k], sizeof(t->env_val[k]), "%s", jstr(found, "id"));
		}
		json_decref(r);
	}
	free(why);
	return NULL;
}

static const char *ref_env(void *target, const char *key)
{
	struct vecs_reference *t = target;

	/* decided once per cell: a later step compares against the same value */
	if (!strcmp(key, "otherpoolid") && !t->other_pool_fixed) {
		other_pool(t);
		t->other_pool_fixed = true;
	}

	for (int i = 0; i < t->n_env; i++)
		if (!strcmp(t->env_key[i], key))
			return t->env_val[i];
	return NULL;
}

static int count_pools(struct vecs_reference *t, const char *storage)
{
	json_t *p;
	size_t i;
	int n = 0;

	/* a full_disk pool (a small filesystem for the full-disk fault) is not one a
	 * scenario may count on */
	json_array_foreach(json_object_get(t->stack, "pools"), i, p)
		n += !strcmp(jstr(p, "type") ?: "", storage) &&
		     !json_is_true(json_object_get(p, "full_disk"));
	return n;
}

/* ${env.guestkernel}, guestinitrd, guestimage: the tiny guest (fixtures/make-guest) in
 * $VECS_GUEST_DIR, else build/guest beside build/bin; unset when it is not built, and on
 * a target without the reference stack's hosts (guest_report reads the serial logs the
 * agents write there; a cloudstack target's hosts neither see these files nor keep
 * such logs). */
static void guest_env(struct vecs_reference *t)
{
	const char *dir = getenv("VECS_GUEST_DIR");
	char cand[PATH_MAX + 16], real[PATH_MAX], f[PATH_MAX + 24];
	static const char *const files[][2] = { { "guestkernel", "vmlinuz" },
						{ "guestinitrd", "initrd.img" },
						{ "guestimage", "disk.qcow2" } };
	struct stat st;

	snprintf(f, sizeof(f), "%s/hosts", t->stack_dir);
	if (!t->stack_dir[0] || stat(f, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	snprintf(cand, sizeof(cand), "%s", dir && *dir ? dir : t->bin);
	if (!(dir && *dir))
		snprintf(cand, sizeof(cand), "%s/../guest", t->bin);
	if (!realpath(cand, real))
		return;
	for (size_t i = 0; i < 3; i++) {
		snprintf(f, sizeof(f), "%s/%s", real, files[i][1]);
		if (access(f, R_OK) < 0)
			return;
	}
	for (size_t i = 0; i < 3; i++) {
		/* the image as registerTemplate takes it: a file:// URL */
		snprintf(f, sizeof(f), "%s%s/%s", i == 2 ? "file://" : "", real, files[i][1]);
		env_set(t, files[i][0], f);
	}
}

static bool uses_guest_report(const struct vecs_scenario *sc)
{
	for (size_t i = 0; i < sc->n_steps; i++)
		if (sc->steps[i].kind == VECS_STEP_CHECKPOINT &&
		    sc->steps[i].checkpoint == VECS_CP_GUEST_REPORT)
			return true;
	return false;
}

static int ref_setup(void *target, const struct vecs_cell *cell, const char **skip,
		     struct vecs_err *err)
{
	struct vecs_reference *t = target;
	const struct vecs_needs *nd = &cell->scenario->needs;
	char tag[48], *why = NULL;
	json_t *r;
	size_t hosts = json_array_size(json_object_get(t->stack, "hosts"));
	const char *p_zone[] = { NULL }, *p_tpl[] = { "templatefilter", "all", NULL },
		   *p_host[] = { "type", "Routing", NULL };
	const char *p_pool[] = { NULL };

	t->cell = cell;
	t->n_env = 0;
	t->other_pool_fixed = false;
	json_decref(t->baseline);
	t->baseline = storage_listing(t);
	if (vecs_dbprobe_orphans(t->db, &t->orphans_before, NULL) < 0)
		t->orphans_before = 0;
	json_decref(t->seen);
	json_decref(t->states);
	json_decref(t->canaries);
	t->seen = json_object();
	t->states = json_object();
	t->canaries = json_object();
	*skip = NULL;
	if (nd->hosts > hosts) {
		*skip = "the scenario needs more KVM hosts than this stack has";
		return 0;
	}
	if (count_pools(t, cell->storage) == 0) {
		*skip = "this stack has no pool of the cell's storage type";
		return 0;
	}
	if (nd->pools > 1 && strcmp(cell->storage, "local") && count_pools(t, cell->storage) < (int)nd->pools) {
		*skip = "the scenario needs more pools of the cell's storage type than this stack has";
		return 0;
	}
	snprintf(tag, sizeof(tag), "vecs-%s", cell->storage);
	env_set(t, "hypervisor", "KVM");
	env_set(t, "storagetype", !strcmp(cell->storage, "local") ? "local" : "shared");
	env_set(t, "storagetag", tag);
	/* a deployment's configuration may choose the zone and template (zone_id,
	 * template_id); otherwise the first the API lists */
	if (jstr(t->stack, "zone_id"))
		env_set(t, "zoneid", jstr(t->stack, "zone_id"));
	else if ((r = call(t, "listZones", p_zone, &why))) {
		env_set(t, "zoneid", jstr(json_array_get(json_object_get(r, "zone"), 0), "id"));
		json_decref(r);
	}
	if (!why && (r = call(t, "listTemplates", p_tpl, &why))) {
		json_t *tpl = json_array_get(json_object_get(r, "template"), 0), *o;
		size_t k;
		json_array_foreach(json_object_get(r, "template"), k, o)
			if (jstr(t->stack, "template_id") && !strcmp(jstr(o, "id") ?: "", jstr(t->stack, "template_id")))
				tpl = o;
		env_set(t, "templateid", jstr(tpl, "id"));
		/* vecs-mgmt has no guest OS types; CloudStack's API only needs a uuid here */
		env_set(t, "ostypeid", jstr(tpl, "ostypeid") ?: "8a0e8a6c-0000-4000-8000-000000000001");
		json_decref(r);
	}
	if (!why && (r = call(t, "listHosts", p_host, &why))) {
		json_t *h = json_object_get(r, "host");
		env_set(t, "hostid", jstr(json_array_get(h, 0), "id"));
		env_set(t, "otherhostid", jstr(json_array_get(h, 1), "id"));
		json_decref(r);
	}
	if (!why && (r = call(t, "listStoragePools", p_pool, &why))) {
		json_t *p, *tagged[2] = { NULL, NULL };
		size_t k = 0, i;
		json_array_foreach(json_object_get(r, "storagepool"), i, p)
			if (k < 2 && pool_tagged(p, tag))
				tagged[k++] = p;
		env_set(t, "poolid", jstr(tagged[0], "id"));
		env_set(t, "otherpoolid", jstr(tagged[1], "id"));
		json_decref(r);
	}
	if (why) {
		int rc = vecs_err_set(err, -EIO, "reading the zone, template, hosts and pools: %s", why);
		free(why);
		return rc;
	}
	if (!ref_env(t, "templateid")) {
		*skip = "the stack has no template registered";
		return 0;
	}
	guest_env(t);
	if (uses_guest_report(cell->scenario) && !ref_env(t, "guestkernel")) {
		*skip = "no tiny guest for this target (make build/guest/vmlinuz, or VECS_GUEST_DIR; "
			"guest_report needs the reference stack's hosts)";
		return 0;
	}
	return 0;
}

static int ref_api_call(void *target, const char *command, const struct vecs_api_param *params,
			size_t n, bool async, unsigned timeout_s, struct vecs_api_result *res,
			struct vecs_err *err)
{
	struct vecs_reference *t = target;
	const char *kv[2 * 64 + 1];
	struct vecs_api_reply r;
	json_t *body;
	size_t k = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	for (size_t i = 0; i < n && i < 64; i++) {
		kv[k++] = params[i].name;
		kv[k++] = params[i].value;
	}
	kv[k] = NULL;
	rc = vecs_api_call(t->api, command, kv, &r, err);
	if (rc < 0)
		return rc;
	if (async && !r.errorcode && jstr(r.response, "jobid")) {
		char jobid[64];
		snprintf(jobid, sizeof(jobid), "%s", jstr(r.response, "jobid"));
		vecs_api_reply_clear(&r);
		rc = vecs_api_wait_job(t->api, jobid, (int)timeout_s * 1000, &r, err);
		if (rc < 0)
			return rc;
	}
	res->ok = r.errorcode == 0;
	res->errorcode = r.errorcode;
	res->errortext = r.errorcode ? strdup(r.errortext) : NULL;
	body = r.response;
	res->json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	vecs_api_reply_clear(&r);
	return 0;
}

static void ref_free_result(struct vecs_api_result *res)
{
	free(res->errortext);
	free(res->json);
	memset(res, 0, sizeof(*res));
}

/* ---- where a volume's bytes are ---------------------------------------------------- */

struct located {
	char path[PATH_MAX];  /* file or block device holding the LUKS container */
	bool qcow2;           /* qcow2 file (else raw LUKS on a block device) */
	char uuid[64];
	char vm[64];          /* virtualmachineid, or "" */
	char state[32];
};

static json_t *pool_of(struct vecs_reference *t, const char *pool_id, char **why)
{
	const char *p[] = { "id", pool_id, NULL };
	json_t *r = call(t, "listStoragePools", p, why), *pool;

	pool = json_incref(json_array_get(json_object_get(r, "storagepool"), 0));
	json_decref(r);
	if (!pool && !*why)
		*why = strf("no storage pool %s", pool_id);
	return pool;
}

/* A probe setting of the configured pool of this storage type, or NULL. */
static const char *pool_probe(struct vecs_reference *t, const char *type, const char *key)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(t->stack, "pools"), i, p)
		if (!strcmp(jstr(p, "type") ?: "", type) && jstr(json_object_get(p, "probe"), key))
			return jstr(json_object_get(p, "probe"), key);
	return NULL;
}

/* The block device of ScaleIO volume id: the emulated gateway's state file names its
 * loop device (probe.state_file); on a real SDC host, without a state file, it is
 * /dev/disk/by-id/emc-vol-<probe.system_id>-<id>. */
static int scaleio_device(struct vecs_reference *t, const char *vol_id, char *out, size_t len)
{
	const char *state = pool_probe(t, "scaleio", "state_file");
	json_t *st, *v;
	size_t i;
	int r = -ENOENT;

	if (!state)
		return -ENOENT;
	st = json_load_file(state, 0, NULL);
	json_array_foreach(json_object_get(st, "volumes"), i, v)
		if (!strcmp(jstr(v, "id") ?: "", vol_id) && jstr(v, "loop")) {
			snprintf(out, len, "%s", jstr(v, "loop"));
			r = 0;
		}
	json_decref(st);
	return r;
}

static int locate(struct vecs_reference *t, const char *volume_id, struct located *loc, char **why)
{
	const char *p[] = { "id", volume_id, "listall", "true", NULL };
	json_t *r = call(t, "listVolumes", p, why), *v, *pool = NULL;
	const char *type, *vpath, *ppath;
	int rc = -ENOENT;

	memset(loc, 0, sizeof(*loc));
	v = json_array_get(json_object_get(r, "volume"), 0);
	if (!v) {
		if (!*why)
			*why = strf("no volume %s", volume_id);
		goto out;
	}
	snprintf(loc->uuid, sizeof(loc->uuid), "%s", jstr(v, "id") ?: "");
	snprintf(loc->vm, sizeof(loc->vm), "%s", jstr(v, "virtualmachineid") ?: "");
	snprintf(loc->state, sizeof(loc->state), "%s", jstr(v, "state") ?: "");
	vpath = jstr(v, "path");
	if (!vpath || !jstr(v, "storageid")) {
		*why = strf("volume %s has no bytes on primary storage yet (state %s)", volume_id,
			    loc->state);
		goto out;
	}
	pool = pool_of(t, jstr(v, "storageid"), why);
	if (!pool)
		goto out;
	type = jstr(pool, "type") ?: "";
	ppath = jstr(pool, "path") ?: "";
	if (!strcmp(type, "PowerFlex")) {
		const char *sys = pool_probe(t, "scaleio", "system_id");
		if (!pool_probe(t, "scaleio", "state_file") && sys)
			snprintf(loc->path, sizeof(loc->path), "/dev/disk/by-id/emc-vol-%s-%s", sys, vpath);
		else if (scaleio_device(t, vpath, loc->path, sizeof(loc->path)) < 0) {
			*why = strf("ScaleIO volume %s has no loop device in the gateway's state", vpath);
			goto out;
		}
	} else if (!strcmp(type, "NetworkFilesystem")) {
		json_t *pp;
		size_t i;
		json_array_foreach(json_object_get(t->stack, "pools"), i, pp)
			if (!strcmp(jstr(pp, "type") ?: "", "nfs"))
				snprintf(loc->path, sizeof(loc->path), "%s/%s",
					 jstr(json_object_get(pp, "probe"), "path") ?: "", vpath);
		loc->qcow2 = true;
	} else {
		snprintf(loc->path, sizeof(loc->path), "%s/%s", ppath, vpath);
		loc->qcow2 = true;
	}
	rc = 0;
out:
	json_decref(pool);
	json_decref(r);
	return rc;
}

/* Ids of the volumes that exist now (the cell's: cells run one at a time). */
static json_t *current_volumes(struct vecs_reference *t, char **why)
{
	const char *p[] = { "listall", "true", NULL };
	json_t *r = call(t, "listVolumes", p, why), *out = json_array(), *v;
	size_t i;

	json_array_foreach(json_object_get(r, "volume"), i, v)
		if (jstr(v, "id"))
			json_array_append_new(out, json_string(jstr(v, "id")));
	json_decref(r);
	return out;
}

static void digest_hex(const unsigned char *p, size_t n, char out[65])
{
	unsigned char d[32];
	unsigned int dl = 0;

	EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* ---- canary through the guest-visible path ------------------------------------------- */

static int qemu_img(struct vecs_reference *t, const char *const *argv, char **why)
{
	char shim[PATH_MAX + 32], preload[PATH_MAX + 48], errbuf[1024] = "", sb[32];
	const char *env[] = { preload, NULL };
	struct vecs_spawn_opts so = { .timeout_ms = 300000, .env_extra = env, .errbuf = errbuf,
				      .err_cap = sizeof(errbuf) };
	struct vecs_err err = { 0 };
	int status = 0;

	snprintf(shim, sizeof(shim), "%s/getrusage-shim.so", t->bin);
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", shim);
	if (vecs_spawn_run(argv, &so, &status, &err) < 0 || status != 0) {
		*why = strf("qemu-img failed (%s): %.400s", err.code ? err.msg :
			    vecs_spawn_status_str(status, sb, sizeof(sb)), errbuf);
		return -EIO;
	}
	return 0;
}

/* A 0600 key file with the volume's passphrase, from the database. */
static int key_file(struct vecs_reference *t, const char *uuid, char *path, size_t len, char **why)
{
	struct vecs_volume_pass vp;
	struct vecs_err err = { 0 };
	int fd, r;

	r = vecs_dbprobe_volume(t->db, uuid, &vp, &err);
	if (r < 0 || !vp.decrypted) {
		*why = strf("no usable passphrase for volume %s in the database: %s", uuid,
			    r < 0 ? err.msg : vp.why);
		vecs_volume_pass_release(&vp);
		return -ENOENT;
	}
	snprintf(path, len, "%s/key-%s", t->work, uuid);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	r = fd >= 0 && write(fd, vp.pass.data, vp.pass.len) == (ssize_t)vp.pass.len ? 0 : -EIO;
	if (fd >= 0)
		close(fd);
	vecs_volume_pass_release(&vp);
	if (r < 0)
		*why = strf("cannot write a key file in %s", t->work);
	return r;
}

static void image_opts(const struct located *loc, char *out, size_t len)
{
	if (loc->qcow2)
		snprintf(out, len, "driver=qcow2,encrypt.key-secret=sec0,file.filename=%s", loc->path);
	else
		snprintf(out, len, "driver=luks,key-secret=sec0,file.driver=host_device,file.filename=%s",
			 loc->path);
}

/* The guest-visible bytes [offset, offset + size) of the volume only: QEMU's raw driver
 * windowed over its LUKS layer (offset and size 512-aligned; false otherwise). Reading
 * back a canary this way decrypts 1 MiB instead of the whole volume (a ScaleIO loop
 * device is read in full: ~7 s a verify on the reference stack). */
static bool image_opts_window(const struct located *loc, uint64_t offset, uint64_t size,
			      char *out, size_t len)
{
	if (offset % 512 || size % 512 || !size)
		return false;
	if (loc->qcow2)
		snprintf(out, len, "driver=raw,offset=%llu,size=%llu,file.driver=qcow2,"
			 "file.encrypt.key-secret=sec0,file.file.filename=%s",
			 (unsigned long long)offset, (unsigned long long)size, loc->path);
	else
		snprintf(out, len, "driver=raw,offset=%llu,size=%llu,file.driver=luks,"
			 "file.key-secret=sec0,file.file.driver=host_device,file.file.filename=%s",
			 (unsigned long long)offset, (unsigned long long)size, loc->path);
	return true;
}

/* Is the volume's VM running (then the canary goes in through its QEMU)? */
static bool vm_running(struct vecs_reference *t, const char *vm_id, char *instance, size_t len,
		       char *host, size_t hlen)
{
	const char *p[] = { "id", vm_id, NULL };
	char *why = NULL;
	json_t *r, *vm;
	bool running;

	if (!vm_id || !*vm_id)
		return false;
	r = call(t, "listVirtualMachines", p, &why);
	free(why);
	vm = json_array_get(json_object_get(r, "virtualmachine"), 0);
	running = vm && !strcmp(jstr(vm, "state") ?: "", "Running");
	snprintf(instance, len, "%s", jstr(vm, "instancename") ?: "");
	snprintf(host, hlen, "%s", jstr(vm, "hostname") ?: "");
	json_decref(r);
	return running;
}

static const char *host_uri(struct vecs_reference *t, const char *host_name)
{
	json_t *h;
	size_t i;

	json_array_foreach(json_object_get(t->stack, "hosts"), i, h)
		if (!strcmp(jstr(h, "name") ?: "", host_name))
			return jstr(h, "libvirt_uri");
	return NULL;
}

static int virsh(const char *const *argv, char *out, size_t out_cap, char **why)
{
	char errbuf[1024] = "", sb[32];
	struct vecs_spawn_opts so = { .timeout_ms = 60000, .out = out, .out_cap = out_cap,
				      .errbuf = errbuf, .err_cap = sizeof(errbuf) };
	struct vecs_err err = { 0 };
	int status = 0;

	if (vecs_spawn_run(argv, &so, &status, &err) < 0 || status != 0) {
		*why = strf("virsh %s failed (%s): %.300s", argv[3] ? argv[3] : "",
			    err.code ? err.msg : vecs_spawn_status_str(status, sb, sizeof(sb)), errbuf);
		return -EIO;
	}
	return 0;
}

/* Write src through the running guest's disk: QEMU's own block layer, so through its
 * LUKS layer, with HMP qemu-io on the virtio device backing that volume (DESIGN.md,
 * hazards), then a flush so the image on disk holds it. */
static int write_through_guest(struct vecs_reference *t, const struct located *loc,
			       const char *inst, const char *host, const char *src, uint64_t offset,
			       uint64_t size, char **why)
{
	const char *uri = host_uri(t, host);
	char *xml = malloc(1 << 20), alias[64] = "", cmd[PATH_MAX + 256], out[4096] = "";
	const char *file = strrchr(loc->path, '/') ? strrchr(loc->path, '/') + 1 : loc->path;
	char *disk, *a;

	if (!uri || !xml) {
		free(xml);
		*why = strf("no libvirt URI for host %s", host);
		return -ENOENT;
	}
	{
		const char *argv[] = { "virsh", "-c", uri, "dumpxml", inst, NULL };
		if (virsh(argv, xml, 1 << 20, why) < 0) {
			free(xml);
			return -EIO;
		}
	}
	/* the <disk> whose source names this volume, and its device alias */
	disk = strstr(xml, file);
	a = disk ? strstr(disk, "<alias name='") : NULL;
	if (a)
		snprintf(alias, sizeof(alias), "%.*s", (int)strcspn(a + 13, "'"), a + 13);
	free(xml);
	if (!alias[0]) {
		*why = strf("volume %s is not a disk of the running domain %s", loc->path, inst);
		return -ENOENT;
	}
	snprintf(cmd, sizeof(cmd), "qemu-io -d /machine/peripheral/%s/virtio-backend \"write -s %s %llu %llu\"",
		 alias, src, (unsigned long long)offset, (unsigned long long)size);
	{
		const char *argv[] = { "virsh", "-c", uri, "qemu-monitor-command", "--hmp", inst, cmd, NULL };
		if (virsh(argv, out, sizeof(out), why) < 0)
			return -EIO;
	}
	snprintf(cmd, sizeof(cmd), "qemu-io -d /machine/peripheral/%s/virtio-backend \"flush\"", alias);
	{
		const char *argv[] = { "virsh", "-c", uri, "qemu-monitor-command", "--hmp", inst, cmd, NULL };
		if (virsh(argv, out, sizeof(out), why) < 0)
			return -EIO;
	}
	return 0;
}

/* Each label's canary is a different stretch of the cell's canary stream (so a second
 * canary never reads as the first), found by the scanner under the same seed. */
static uint64_t label_stream_offset(const char *label)
{
	uint32_t h = 2166136261u;

	for (const char *p = label; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return (uint64_t)(h % 1024) << 20;
}

static int write_canary(struct vecs_reference *t, const struct vecs_step *st, const char *vol,
			const char *vm, const char *seed, char **why)
{
	struct located loc;
	char key[PATH_MAX + 64], src[PATH_MAX + 64], sec[PATH_MAX + 80], opts[PATH_MAX + 96],
		inst[128], host[64];
	uint64_t size = st->size ? st->size : CANARY_DEFAULT_SIZE;
	int r;

	bool running;

	if (locate(t, vol, &loc, why) < 0)
		return 0;
	running = vm_running(t, vm ? vm : loc.vm, inst, sizeof(inst), host, sizeof(host));
	snprintf(src, sizeof(src), "%s/canary-%s-%s.raw", t->work, seed, st->label);
	{
		FILE *f = fopen(src, "we");
		struct vecs_canary c;
		unsigned char *buf = malloc(size);
		r = -EIO;
		if (f && buf && vecs_canary_init(&c, seed, NULL) == 0) {
			if (vecs_canary_fill(&c, label_stream_offset(st->label), buf, size, NULL) == 0)
				r = fwrite(buf, 1, size, f) == size ? 0 : -EIO;
			vecs_canary_free(&c);
		}
		free(buf);
		if (f)
			fclose(f);
		if (r < 0) {
			*why = strf("cannot write the canary source %s", src);
			return 0;
		}
	}
	if (running) {
		r = write_through_guest(t, &loc, inst, host, src, st->offset, size, why);
	} else {
		char io[PATH_MAX + 96];
		if (key_file(t, loc.uuid, key, sizeof(key), why) < 0)
			return 0;
		snprintf(sec, sizeof(sec), "secret,file=%s,id=sec0", key);
		image_opts(&loc, opts, sizeof(opts));
		snprintf(io, sizeof(io), "write -s %s %llu %llu", src, (unsigned long long)st->offset,
			 (unsigned long long)size);
		{
			/* qemu-io: through QEMU's LUKS layer, at the step's offset */
			const char *argv[] = { "qemu-io", "--object", sec, "--image-opts", opts, "-c", io,
					       NULL };
			r = qemu_img(t, argv, why);
		}
		unlink(key);
	}
	if (r == 0)
		json_object_set_new(t->canaries, st->label,
				    json_pack("{s:s, s:I, s:I, s:s}", "volume", vol, "size", (json_int_t)size,
					      "offset", (json_int_t)st->offset, "source", src));
	return 0;
}

static int verify_canary(struct vecs_reference *t, const struct vecs_step *st, const char *vol,
			 char **why)
{
	json_t *c = json_object_get(t->canaries, st->label);
	struct located loc;
	char key[PATH_MAX + 64], out[PATH_MAX + 64], sec[PATH_MAX + 80], opts[PATH_MAX + 256];
	const char *src;
	uint64_t size, offset;
	FILE *a = NULL, *b = NULL;
	bool same = true, window;
	int r;

	if (!c) {
		*why = strf("no canary labelled %s was written", st->label);
		return 0;
	}
	src = jstr(c, "source");
	size = (uint64_t)json_integer_value(json_object_get(c, "size"));
	offset = (uint64_t)json_integer_value(json_object_get(c, "offset"));
	if (locate(t, vol, &loc, why) < 0)
		return 0;
	if (key_file(t, loc.uuid, key, sizeof(key), why) < 0)
		return 0;
	snprintf(sec, sizeof(sec), "secret,file=%s,id=sec0", key);
	snprintf(out, sizeof(out), "%s/readback-%s.raw", t->work, st->label);
	window = image_opts_window(&loc, offset, size, opts, sizeof(opts));
	if (!window)
		image_opts(&loc, opts, sizeof(opts));
	{
		/* -U: a running guest may hold the image; the read goes through LUKS */
		const char *argv[] = { "qemu-img", "convert", "-U", "-O", "raw", "--object", sec,
				       "--image-opts", opts, out, NULL };
		r = qemu_img(t, argv, why);
	}
	unlink(key);
	if (r < 0)
		return 0;
	a = fopen(src, "re");
	b = fopen(out, "re");
	if (!a || !b || fseeko(b, window ? 0 : (off_t)offset, SEEK_SET) != 0) {
		*why = strf("cannot read back %s", out);
	} else {
		char x[65536], y[65536];
		for (uint64_t done = 0; done < size && same;) {
			size_t n = size - done < sizeof(x) ? (size_t)(size - done) : sizeof(x);
			same = fread(x, 1, n, a) == n && fread(y, 1, n, b) == n && !memcmp(x, y, n);
			done += n;
		}
		if (st->present && !same)
			*why = strf("the canary read back through LUKS differs from what was written");
		if (!st->present && same)
			*why = strf("the canary is still there; it should be gone");
	}
	if (a)
		fclose(a);
	if (b)
		fclose(b);
	unlink(out);
	return 0;
}

/* ---- guest_report: what the tiny guest wrote and read, from its serial log ------------ */

/* The label's canary stretch (as write_canary makes it) into DIR/canary-SEED-LABEL.raw,
 * and the SHA-256 of those bytes in hex. */
static int canary_source(struct vecs_reference *t, const char *seed, const char *label,
			 uint64_t size, char *src, size_t len, char hex[65], char **why)
{
	unsigned char *buf = malloc(size), d[32];
	unsigned int dl = 0;
	struct vecs_canary c;
	FILE *f;
	int r = -EIO;

	snprintf(src, len, "%s/canary-%s-%s.raw", t->work, seed, label);
	f = fopen(src, "we");
	if (f && buf && vecs_canary_init(&c, seed, NULL) == 0) {
		if (vecs_canary_fill(&c, label_stream_offset(label), buf, size, NULL) == 0 &&
		    fwrite(buf, 1, size, f) == size &&
		    EVP_Digest(buf, size, d, &dl, EVP_sha256(), NULL) == 1)
			r = 0;
		vecs_canary_free(&c);
	}
	free(buf);
	if (f && fclose(f) != 0)
		r = -EIO;
	for (unsigned i = 0; r == 0 && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	if (r < 0)
		*why = strf("cannot write the canary source %s", src);
	return r;
}

/* The last up-to-cap bytes of a file, NUL-terminated ("" when it cannot be read). */
static void file_tail(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "re");
	size_t n = 0;

	if (f && fseeko(f, 0, SEEK_END) == 0) {
		off_t end = ftello(f);
		fseeko(f, end > (off_t)cap - 1 ? end - (off_t)cap + 1 : 0, SEEK_SET);
		n = fread(out, 1, cap - 1, f);
	}
	if (f)
		fclose(f);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = ' ';
}

/* Wait for the guest's verdict in its serial log: "read ok" or a FAILED line. The text
 * goes to buf; 1 = verdict there, 0 = timeout. */
static int guest_wait(const char *log, char *buf, size_t cap)
{
	for (int i = 0; i < GUEST_REPORT_TIMEOUT_S * 10; i++) {
		file_tail(log, buf, cap);
		if (strstr(buf, "vecs-guest: read ok") || strstr(buf, " FAILED: "))
			return 1;
		usleep(100000);
	}
	return 0;
}

/* Check the guest's report against the step: the io line names the step's offset, size
 * and label; the digest is that of the cell's canary for the label; it read back. */
static void guest_judge(const char *text, const struct vecs_step *st, const char *hex,
			char **why)
{
	char want[160], *w = strstr(text, "vecs-guest: wrote ");
	const char *f = strstr(text, " FAILED: ");
	unsigned long long n = 0;
	char got[65] = "";

	const char *io;

	snprintf(want, sizeof(want), " offset=%llu size=%llu label=%s",
		 (unsigned long long)st->offset, (unsigned long long)st->size, st->label);
	io = strstr(text, want);
	if (f)
		*why = strf("the guest reports a failure: %.200s", f + 9);
	/* the serial console ends lines with \r\n */
	else if (!io || (io[strlen(want)] != '\r' && io[strlen(want)] != '\n'))
		*why = strf("the guest's io line does not say%s (the template's kernel command "
			    "line and the step disagree)", want);
	else if (!w || sscanf(w, "vecs-guest: wrote %llu bytes ok sha256=%64[0-9a-f]", &n, got) != 2)
		*why = strf("no 'vecs-guest: wrote N bytes ok sha256=H' line");
	else if (n != st->size || strcmp(got, hex))
		*why = strf("the guest wrote %llu bytes with sha256 %s; the canary of this cell "
			    "and label is %llu bytes with sha256 %s", n, got,
			    (unsigned long long)st->size, hex);
	else if (!strstr(w, "vecs-guest: read ok"))
		*why = strf("the guest did not report 'vecs-guest: read ok'");
}

static int guest_report(struct vecs_reference *t, const struct vecs_step *st, const char *vol,
			const char *vm, const char *seed, char **why)
{
	char inst[128], host[64], log[PATH_MAX + 256], src[PATH_MAX + 64], hex[65];
	char *text = malloc(65536);

	if (!text || !vm_running(t, vm, inst, sizeof(inst), host, sizeof(host))) {
		*why = text ? strf("VM %s is not running: no guest to report", vm) : strf("out of memory");
		free(text);
		return 0;
	}
	/* the agent's serial log of the domain (reference-impl/agent/README.md) */
	snprintf(log, sizeof(log), "%s/hosts/%s/serial/%s.log", t->stack_dir, host, inst);
	if (canary_source(t, seed, st->label, st->size, src, sizeof(src), hex, why) < 0) {
		free(text);
		return 0;
	}
	if (!guest_wait(log, text, 65536))
		*why = strf("no verdict of the guest in %s after %d s (a kvm domain where the "
			    "guest hangs? VECS_DOMAIN_TYPE=qemu makes the stack's agents use TCG); "
			    "log ends: %.300s", log, GUEST_REPORT_TIMEOUT_S,
			    strlen(text) > 300 ? text + strlen(text) - 300 : text);
	else
		guest_judge(text, st, hex, why);
	/* a verify_canary of the label reads these bytes back through LUKS, from outside */
	if (!*why)
		json_object_set_new(t->canaries, st->label,
				    json_pack("{s:s, s:I, s:I, s:s}", "volume", vol, "size",
					      (json_int_t)st->size, "offset", (json_int_t)st->offset,
					      "source", src));
	free(text);
	return 0;
}

/* DB rows (through the API) and volume bytes (a digest) of the cell's volumes. */
static char *state_text(struct vecs_reference *t, char **why)
{
	json_t *ids = current_volumes(t, why), *id;
	size_t i;
	char *text = strdup("");

	json_array_foreach(ids, i, id) {
		const char *p[] = { "id", json_string_value(id), "listall", "true", NULL };
		json_t *r = call(t, "listVolumes", p, why), *v;
		struct located loc;
		char *row, *s, dig[65] = "-";

		v = json_array_get(json_object_get(r, "volume"), 0);
		json_object_del(v, "created");
		row = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : strdup("?");
		if (locate(t, json_string_value(id), &loc, why) == 0) {
			int fd = open(loc.path, O_RDONLY | O_CLOEXEC);
			EVP_MD_CTX *ctx = EVP_MD_CTX_new();
			unsigned char buf[1 << 16], d[32];
			ssize_t n;
			EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
			while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
				EVP_DigestUpdate(ctx, buf, (size_t)n);
			EVP_DigestFinal_ex(ctx, d, NULL);
			EVP_MD_CTX_free(ctx);
			if (fd >= 0)
				close(fd);
			for (int k = 0; k < 32; k++)
				sprintf(dig + 2 * k, "%02x", d[k]);
		}
		free(*why);
		*why = NULL;
		s = strf("%s%s bytes=%s\n", text, row, dig);
		free(text);
		free(row);
		text = s;
		json_decref(r);
	}
	json_decref(ids);
	return text;
}

static int ref_checkpoint(void *target, const struct vecs_step *st, const char *vol,
			  const char *vm, const char *seed, bool *passed, char **reason,
			  struct vecs_evidence *ev, struct vecs_err *err)
{
	struct vecs_reference *t = target;
	char *why = NULL, *s;

	switch (st->checkpoint) {
	case VECS_CP_WRITE_CANARY:
		write_canary(t, st, vol, vm, seed, &why);
		break;
	case VECS_CP_VERIFY_CANARY:
		verify_canary(t, st, vol, &why);
		break;
	case VECS_CP_SNAPSHOT_STATE:
		s = state_text(t, &why);
		json_object_set_new(t->states, st->label, json_string(s ? s : ""));
		free(s);
		break;
	case VECS_CP_GUEST_REPORT:
		guest_report(t, st, vol, vm, seed, &why);
		break;
	case VECS_CP_VERIFY_UNCHANGED:
		s = state_text(t, &why);
		if (!why && strcmp(s ? s : "", jstr(t->states, st->label) ?: ""))
			why = strf("database rows or volume bytes changed: before\n%safter\n%s",
				   jstr(t->states, st->label) ?: "", s ? s : "");
		free(s);
		break;
	}
	*passed = why == NULL;
	*reason = why;
	return 0;
}

/* ---- invariants ---------------------------------------------------------------------- */

/* Every passphrase of the cell's volumes, for the secret-hygiene checks. */
static json_t *cell_passphrases(struct vecs_reference *t, char **why)
{
	json_t *ids = current_volumes(t, why), *out = json_array(), *id;
	size_t i;

	json_array_foreach(ids, i, id) {
		struct vecs_volume_pass vp;
		if (vecs_dbprobe_volume(t->db, json_string_value(id), &vp, NULL) == 0 && vp.decrypted)
			json_array_append_new(out, json_stringn((const char *)vp.pass.data, vp.pass.len));
		vecs_volume_pass_release(&vp);
	}
	json_decref(ids);
	return out;
}

static bool file_contains(const char *path, const char *needle)
{
	size_t nl = strlen(needle), cap = 1 << 20;
	char *buf = malloc(cap + nl);
	size_t keep = 0;
	bool found = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	ssize_t n;

	if (fd < 0 || !buf) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return false;
	}
	while (!found && (n = read(fd, buf + keep, cap)) > 0) {
		size_t len = keep + (size_t)n;
		found = memmem(buf, len, needle, nl) != NULL;
		keep = len < nl - 1 ? len : nl - 1;
		memmove(buf, buf + len - keep, keep);
	}
	close(fd);
	free(buf);
	return found;
}

static bool tree_contains(const char *dir, const char *needle, char *where, size_t wlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char p[PATH_MAX];
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			found = tree_contains(p, needle, where, wlen);
		else if (S_ISREG(st.st_mode) && st.st_size < (64 << 20) && file_contains(p, needle)) {
			snprintf(where, wlen, "%s", p);
			found = true;
		}
	}
	closedir(d);
	return found;
}

static int on_hit(const struct vecs_scan_hit *hit, void *ctx)
{
	char *where = ctx;

	if (!where[0])
		snprintf(where, PATH_MAX, "%s at byte %llu", hit->path, (unsigned long long)hit->offset);
	return 0;
}

static void libvirt_quiet(void *ctx, virErrorPtr e)
{
	(void)ctx;
	(void)e; /* errors are read with virGetLastErrorMessage where they matter */
}

/* The run's connection to host i's libvirtd (opened on first use, kept until close;
 * reopened once when it broke). */
static virConnectPtr host_conn(struct vecs_reference *t, size_t i, const char *uri, bool reopen)
{
	if (i >= sizeof(t->conn) / sizeof(t->conn[0]))
		return NULL;
	if (t->conn[i] && reopen) {
		virConnectClose(t->conn[i]);
		t->conn[i] = NULL;
	}
	if (!t->conn[i]) {
		virSetErrorFunc(NULL, libvirt_quiet);
		t->conn[i] = virConnectOpen(uri);
		if (i >= t->n_conn)
			t->n_conn = i + 1;
	}
	return t->conn[i];
}

/* The secret uuids the disks of the running domains name, space-separated. */
static char *secrets_in_use(virConnectPtr c, char **why)
{
	virDomainPtr *doms = NULL;
	char *used = strdup("");
	int n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	if (n < 0) {
		*why = strf("listing the running domains: %s", virGetLastErrorMessage());
		free(used);
		return NULL;
	}
	for (int k = 0; k < n; k++) {
		char *xml = used ? virDomainGetXMLDesc(doms[k], 0) : NULL, *p, *u;
		for (p = xml; p && (p = strstr(p, "<secret type='passphrase' uuid='")); p += 32) {
			u = strf("%s %.36s", used, p + 32);
			free(used);
			used = u;
		}
		free(xml);
		virDomainFree(doms[k]);
	}
	free(doms);
	if (!used)
		*why = strf("out of memory");
	return used;
}

/* Running domains against the API's Running VMs, by instance name, over every host:
 * a domain nobody knows is a leak (a failed start or migration left it), a Running VM
 * without its domain is an API that no longer matches the hosts. */
static char *domains_vs_api(struct vecs_reference *t)
{
	const char *lp[] = { "listall", "true", NULL };
	char *why = NULL, *names = strdup(" ");
	json_t *r = call(t, "listVirtualMachines", lp, &why), *v, *h;
	size_t i;

	json_array_foreach(json_object_get(t->stack, "hosts"), i, h) {
		const char *uri = jstr(h, "libvirt_uri");
		virConnectPtr c = uri && !why ? host_conn(t, i, uri, false) : NULL;
		virDomainPtr *doms = NULL;
		int n;
		if (!c)
			continue;
		n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
		if (n < 0 && (c = host_conn(t, i, uri, true)))
			n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
		for (int k = 0; k < n; k++) {
			const char *dn = virDomainGetName(doms[k]);
			bool known = false;
			size_t j;
			json_array_foreach(json_object_get(r, "virtualmachine"), j, v)
				known |= dn && !strcmp(jstr(v, "instancename") ?: "", dn) &&
					 !strcmp(jstr(v, "state") ?: "", "Running");
			if (!known && !why)
				why = strf("host %s runs domain %s, which is no Running VM of the API",
					   jstr(h, "name") ?: "?", dn ? dn : "?");
			if (dn && names) {
				char *nn = strf("%s%s ", names, dn);
				free(names);
				names = nn;
			}
			virDomainFree(doms[k]);
		}
		free(doms);
	}
	json_array_foreach(json_object_get(r, "virtualmachine"), i, v) {
		char pat[160];
		snprintf(pat, sizeof(pat), " %s ", jstr(v, "instancename") ?: "?");
		if (!why && names && !strcmp(jstr(v, "state") ?: "", "Running") && !strstr(names, pat))
			why = strf("VM %s (%s) is Running in the API, but no host runs its domain",
				   jstr(v, "id") ?: "?", jstr(v, "instancename") ?: "?");
	}
	free(names);
	json_decref(r);
	return why;
}

/* Host h's secrets that no running domain uses: NULL when none, else which. */
static char *host_secrets_left(virConnectPtr c, const char *host, char **why)
{
	virSecretPtr *secs = NULL;
	char *used = secrets_in_use(c, why), *left = NULL;
	int n;

	if (!used)
		return NULL;
	n = virConnectListAllSecrets(c, &secs, 0);
	if (n < 0)
		*why = strf("listing the secrets: %s", virGetLastErrorMessage());
	for (int k = 0; k < n; k++) {
		char uuid[VIR_UUID_STRING_BUFLEN];
		if (!left && virSecretGetUUIDString(secs[k], uuid) == 0 && !strstr(used, uuid))
			left = strf("host %s keeps libvirt secret %s, which no running domain uses", host,
				    uuid);
		virSecretFree(secs[k]);
	}
	free(secs);
	free(used);
	return left;
}

/* Every libvirt secret on every host must belong to a disk of a domain running there:
 * CloudStack defines them on start, attach and before migration, and undefines them on
 * stop, detach and after migration. NULL when that holds, else which one is left.
 * Through the libvirt API on one connection per host for the run (the virsh processes
 * this took before cost ~40 s of a full matrix). */
static char *secrets_left(struct vecs_reference *t)
{
	char *why = NULL, *left = NULL;
	json_t *h;
	size_t i;

	json_array_foreach(json_object_get(t->stack, "hosts"), i, h) {
		const char *uri = jstr(h, "libvirt_uri");
		virConnectPtr c = uri ? host_conn(t, i, uri, false) : NULL;

		if (!c || !virConnectIsAlive(c))
			c = uri ? host_conn(t, i, uri, true) : NULL;
		if (!c)
			return strf("host %s: cannot connect to libvirtd at %s: %s", jstr(h, "name") ?: "?",
				    uri ? uri : "(no libvirt_uri)", virGetLastErrorMessage());
		left = host_secrets_left(c, jstr(h, "name") ?: "?", &why);
		if (why) {
			/* libvirtd restarted under a connection that still looked alive (a
			 * fault does that): once more on a new connection */
			free(why);
			why = NULL;
			free(left);
			c = host_conn(t, i, uri, true);
			left = c ? host_secrets_left(c, jstr(h, "name") ?: "?", &why)
				 : strf("host %s: cannot connect to libvirtd at %s: %s",
					jstr(h, "name") ?: "?", uri, virGetLastErrorMessage());
		}
		if (why) {
			char *w = strf("host %s: %s", jstr(h, "name") ?: "?", why);
			free(why);
			free(left);
			return w;
		}
		if (left)
			return left;
	}
	return NULL;
}

/* Key files left in an agent's private key directory (hosts/<h>/agent-keys): each
 * command's key file is deleted when the command ends, so between steps there is none. */
static char *stray_key_files(struct vecs_reference *t)
{
	char hosts[PATH_MAX + 8], *why = NULL;
	DIR *d;
	struct dirent *e;

	if (!t->stack_dir[0])
		return strf("no_stray_key_file needs the agents' key directories, which only the "
			    "reference target knows (a cloudstack target has no stack directory)");
	snprintf(hosts, sizeof(hosts), "%s/hosts", t->stack_dir);
	d = opendir(hosts);
	while (d && !why && (e = readdir(d))) {
		char keys[PATH_MAX + 300];
		DIR *k;
		struct dirent *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(keys, sizeof(keys), "%s/%s/agent-keys", hosts, e->d_name);
		if (!(k = opendir(keys)))
			continue;
		while (!why && (f = readdir(k)))
			if (f->d_name[0] != '.')
				why = strf("key file %s/%s outlived its command", keys, f->d_name);
		closedir(k);
	}
	if (d)
		closedir(d);
	return why;
}

static bool in_baseline(struct vecs_reference *t, const char *entry)
{
	json_t *e;
	size_t i;

	json_array_foreach(t->baseline, i, e)
		if (!strcmp(json_string_value(e) ?: "", entry))
			return true;
	return false;
}

/* What is on storage before a cell runs: the files in the pool directories and the
 * ScaleIO gateway's volumes. A leftover of an earlier cell is that cell's finding, so
 * the storage-side checks of this cell look only at what is new. */
static json_t *storage_listing(struct vecs_reference *t)
{
	json_t *out = json_array(), *p, *st, *v;
	char path[PATH_MAX + 300];
	size_t i;

	json_array_foreach(json_object_get(t->stack, "pools"), i, p) {
		const char *dir = jstr(json_object_get(p, "probe"), "path");
		DIR *d = dir ? opendir(dir) : NULL;
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
				json_array_append_new(out, json_string(path));
			}
		if (d)
			closedir(d);
	}
	snprintf(path, sizeof(path), "%s/scaleio/state.json", t->stack_dir);
	st = json_load_file(path, 0, NULL);
	json_array_foreach(json_object_get(st, "volumes"), i, v)
		if (jstr(v, "id")) {
			snprintf(path, sizeof(path), "scaleio:%s", jstr(v, "id"));
			json_array_append_new(out, json_string(path));
		}
	json_decref(st);
	return out;
}

/* The other direction: every file in a pool directory, and every volume the ScaleIO
 * gateway keeps, belongs to a volume (or snapshot) the API lists. A failed operation
 * that leaves a half-made volume behind breaks this. */
static char *orphans_on_storage(struct vecs_reference *t, json_t *volumes)
{
	const char *ps[] = { "listall", "true", NULL };
	char *why = NULL, *snaps = NULL, path[PATH_MAX + 32];
	json_t *p, *v, *st, *sr;
	size_t i, k;

	sr = call(t, "listSnapshots", ps, &why);
	free(why);
	why = NULL;
	snaps = sr ? json_dumps(sr, JSON_COMPACT) : NULL;
	json_decref(sr);
	json_array_foreach(json_object_get(t->stack, "pools"), i, p) {
		const char *dir = jstr(json_object_get(p, "probe"), "path");
		DIR *d;
		struct dirent *e;
		if (!dir || why || !(d = opendir(dir)))
			continue;
		while (!why && (e = readdir(d))) {
			bool known = e->d_name[0] == '.';
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			known |= in_baseline(t, path);
			json_array_foreach(volumes, k, v)
				known |= !strcmp(jstr(v, "path") ?: "", e->d_name);
			known |= snaps && strstr(snaps, e->d_name);
			if (!known)
				why = strf("%s/%s is on primary storage, but no volume the API lists is "
					   "there (left by a failed operation?)",
					   dir, e->d_name);
		}
		closedir(d);
	}
	snprintf(path, sizeof(path), "%s/scaleio/state.json", t->stack_dir);
	st = why ? NULL : json_load_file(path, 0, NULL);
	json_array_foreach(json_object_get(st, "volumes"), i, v) {
		const char *id = jstr(v, "id");
		bool known = !id;
		json_t *w;
		char key[128];
		snprintf(key, sizeof(key), "scaleio:%s", id ?: "");
		known |= in_baseline(t, key);
		json_array_foreach(volumes, k, w)
			known |= id && !strcmp(jstr(w, "path") ?: "", id);
		known |= snaps && id && strstr(snaps, id);
		if (!known && !why)
			why = strf("ScaleIO volume %s exists on the gateway, but no volume the API lists "
				   "is on it (left by a failed operation?)",
				   id);
	}
	json_decref(st);
	free(snaps);
	return why;
}

/* Every volume the API lists as Ready with a path has its bytes where the pool says,
 * and an encrypted one (a passphrase in the database) carries a LUKS1 header. */
static char *api_vs_storage(struct vecs_reference *t, const char *only)
{
	const char *p[] = { "listall", "true", NULL };
	char *why = NULL;
	json_t *r = call(t, "listVolumes", p, &why), *v;
	size_t i;

	json_array_foreach(json_object_get(r, "volume"), i, v) {
		const char *uuid = jstr(v, "id");
		struct located loc;
		struct stat st;
		struct vecs_volume_pass vp;
		char *w = NULL;
		if (why || !uuid || (only && strcmp(only, uuid)))
			continue;
		if (strcmp(jstr(v, "state") ?: "", "Ready") || !jstr(v, "path") || !jstr(v, "storageid"))
			continue;
		if (locate(t, uuid, &loc, &w) < 0) {
			why = strf("volume %s is Ready but its bytes cannot be found: %s", uuid, w ? w : "");
			free(w);
			continue;
		}
		if (stat(loc.path, &st) < 0) {
			why = strf("volume %s is Ready at %s, which does not exist", uuid, loc.path);
			continue;
		}
		if (vecs_dbprobe_volume(t->db, uuid, &vp, NULL) < 0)
			continue;
		if (vp.has_passphrase) {
			struct inspect_result ir;
			struct vecs_err e2 = { 0 };
			if (vecs_inspect(loc.path, NULL, vecs_profile_default(), &ir, &e2) < 0)
				why = strf("encrypted volume %s (%s) has no readable LUKS1 header: %s", uuid,
					   loc.path, e2.msg);
			else if (!ir.pass)
				why = strf("encrypted volume %s (%s): %s", uuid, loc.path,
					   ir.findings.n ? ir.findings.items[0].message : "header not conformant");
		}
		vecs_volume_pass_release(&vp);
	}
	if (!why && !only)
		why = orphans_on_storage(t, json_object_get(r, "volume"));
	json_decref(r);
	return why;
}

static int ref_invariant(void *target, enum vecs_invariant inv, const char *volume, bool *held,
			 char **reason, struct vecs_evidence *ev, struct vecs_err *err)
{
	struct vecs_reference *t = target;
	char *why = NULL;
	json_t *ids = NULL, *id;
	size_t i;

	*held = true;
	*reason = NULL;
	if (volume) {
		ids = json_array();
		json_array_append_new(ids, json_string(volume));
	}
	switch (inv) {
	case VECS_INV_NO_PLAINTEXT_AT_REST: {
		char where[PATH_MAX] = "";
		struct vecs_scan_opts so = { .on_hit = on_hit, .ctx = where };
		struct vecs_scan *scan = NULL;
		if (vecs_scan_new(&scan, t->cell->seed, &so, err) < 0)
			return err->code;
		/* every byte the target keeps (scan.at_rest): for the reference stack its
		 * whole directory (pools, NFS export, ScaleIO backing files, secondary storage,
		 * logs, the hosts' private directories) */
		json_t *d;
		json_array_foreach(json_object_get(json_object_get(t->stack, "scan"), "at_rest"), i, d)
			vecs_scan_path(scan, json_string_value(d), NULL);
		if (vecs_scan_get_stats(scan)->hits)
			why = strf("canary plaintext of this cell at rest: %s", where);
		vecs_scan_free(scan);
		break;
	}
	case VECS_INV_NO_SECRET_IN_LOGS: {
		json_t *pp = cell_passphrases(t, &why), *p;
		json_t *logs = json_object_get(json_object_get(t->stack, "scan"), "logs"), *d;
		char where[PATH_MAX] = "";
		size_t k;
		/* scan.logs: for the reference stack, logs/ and hosts/ */
		json_array_foreach(pp, i, p)
			json_array_foreach(logs, k, d)
				if (!why && tree_contains(json_string_value(d), json_string_value(p), where,
							  sizeof(where)))
					why = strf("a volume passphrase appears in %s", where);
		json_decref(pp);
		break;
	}
	case VECS_INV_NO_SECRET_IN_ARGV: {
		json_t *pp = cell_passphrases(t, &why), *p;
		char where[64] = "";
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && !why && (e = readdir(d))) {
			char path[64];
			if (!isdigit((unsigned char)e->d_name[0]))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
			json_array_foreach(pp, i, p)
				if (!why && file_contains(path, json_string_value(p))) {
					snprintf(where, sizeof(where), "pid %s", e->d_name);
					why = strf("a volume passphrase is in the argv of %s", where);
				}
		}
		if (d)
			closedir(d);
		json_decref(pp);
		break;
	}
	case VECS_INV_NO_LIBVIRT_SECRET_LEFT:
		why = secrets_left(t);
		break;
	case VECS_INV_NO_ORPHAN_PASSPHRASE: {
		int64_t orphans = 0;
		if (vecs_dbprobe_orphans(t->db, &orphans, err) < 0)
			return err->code;
		if (orphans > t->orphans_before)
			why = strf("%lld passphrase rows are referenced by no volume (%lld before the cell)",
				   (long long)orphans, (long long)t->orphans_before);
		break;
	}
	case VECS_INV_NO_STRAY_KEY_FILE:
		why = stray_key_files(t);
		break;
	case VECS_INV_API_MATCHES_STORAGE:
		why = api_vs_storage(t, volume);
		break;
	case VECS_INV_NO_LEAKED_DOMAIN:
		why = domains_vs_api(t);
		break;
	default:
		if (!ids)
			ids = current_volumes(t, &why);
		json_array_foreach(ids, i, id) {
			const char *uuid = json_string_value(id);
			struct vecs_volume_pass vp;
			struct vecs_err e2 = { 0 };
			char dig[65], *w = NULL;
			json_t *known;
			if (why)
				break;
			if (vecs_dbprobe_volume(t->db, uuid, &vp, &e2) < 0) {
				if (inv != VECS_INV_PASSPHRASE_REMOVED)
					why = strf("volume %s: %s", uuid, e2.msg);
				continue;
			}
			/* volumes without encryption have no passphrase to judge */
			if (!vp.has_passphrase && inv != VECS_INV_PASSPHRASE_IN_DB) {
				vecs_volume_pass_release(&vp);
				continue;
			}
			known = json_object_get(t->seen, uuid);
			if (vp.decrypted)
				digest_hex(vp.pass.data, vp.pass.len, dig);
			switch (inv) {
			case VECS_INV_PASSPHRASE_IN_DB:
				if (vp.has_passphrase && !vp.row_exists)
					why = strf("volume %s references passphrase %lld, which does not exist",
						   uuid, (long long)vp.passphrase_id);
				break;
			case VECS_INV_PASSPHRASE_ENCRYPTED_AT_REST:
				if (!vp.decrypted)
					why = strf("volume %s: %s", uuid, vp.why);
				else if (strstr(vp.stored, (const char *)vp.pass.data) ||
					 vecs_passphrase_well_formed((const unsigned char *)vp.stored,
								     strlen(vp.stored)))
					why = strf("volume %s: the passphrase is stored in clear", uuid);
				break;
			case VECS_INV_PASSPHRASE_UNCHANGED:
				if (known && vp.decrypted && strcmp(jstr(known, "sha") ?: "", dig))
					why = strf("volume %s: its passphrase changed", uuid);
				break;
			case VECS_INV_PASSPHRASE_NEW: {
				/* new: no other volume of the cell had this passphrase (a reinstall
				 * that reuses the old ROOT's passphrase fails here) */
				const char *other;
				json_t *o;
				json_object_foreach(t->seen, other, o)
					if (vp.decrypted && strcmp(other, uuid) &&
					    !strcmp(jstr(o, "sha") ?: "", dig))
						why = strf("volume %s has the passphrase of volume %s; a new one was expected",
							   uuid, other);
				break;
			}
			case VECS_INV_LUKS_HEADER_CONFORMANT:
			case VECS_INV_PASSPHRASE_UNLOCKS: {
				struct located loc;
				struct inspect_result ir;
				if (locate(t, uuid, &loc, &w) < 0) {
					free(w); /* not on primary storage yet: nothing to judge */
					break;
				}
				if (vecs_inspect(loc.path, inv == VECS_INV_PASSPHRASE_UNLOCKS ? &vp.pass : NULL,
						 vecs_profile_default(), &ir, &e2) < 0)
					why = strf("volume %s (%s): %s", uuid, loc.path, e2.msg);
				else if (!ir.pass)
					why = strf("volume %s (%s): %s", uuid, loc.path,
						   ir.findings.n ? ir.findings.items[0].message : "not conformant");
				break;
			}
			default:
				break;
			}
			if (vp.decrypted && !known)
				json_object_set_new(t->seen, uuid, json_pack("{s:s}", "sha", dig));
			vecs_volume_pass_release(&vp);
		}
		if (inv == VECS_INV_PASSPHRASE_REMOVED && !why) {
			int64_t orphans = 0;
			if (vecs_dbprobe_orphans(t->db, &orphans, err) < 0)
				return err->code;
			if (orphans)
				why = strf("%lld passphrase rows are referenced by no volume", (long long)orphans);
		}
		break;
	}
	json_decref(ids);
	*held = why == NULL;
	*reason = why;
	(void)ev;
	return 0;
}

/* ---- teardown -------------------------------------------------------------------------- */

static int ref_teardown(void *target, const struct vecs_cell *cell, struct vecs_err *err)
{
	struct vecs_reference *t = target;
	const char *all[] = { "listall", "true", NULL };
	char *why = NULL, *first = NULL;
	json_t *r, *o;
	size_t i;

	/* VMs (with their ROOT volumes), then free volumes, snapshots and offerings */
	if ((r = call(t, "listVirtualMachines", all, &why))) {
		json_array_foreach(json_object_get(r, "virtualmachine"), i, o) {
			const char *p[] = { "id", jstr(o, "id"), "expunge", "true", NULL };
			struct vecs_api_result res;
			if (ref_api_call(t, "destroyVirtualMachine",
					 (const struct vecs_api_param[]){ { "id", p[1] }, { "expunge", "true" } },
					 2, true, 600, &res, err) == 0 && !res.ok && !first)
				first = strf("destroyVirtualMachine %s: %s", p[1], res.errortext);
			ref_free_result(&res);
		}
		json_decref(r);
	}
	free(why);
	why = NULL;
	if ((r = call(t, "listSnapshots", all, &why))) {
		json_array_foreach(json_object_get(r, "snapshot"), i, o) {
			struct vecs_api_result res;
			ref_api_call(t, "deleteSnapshot",
				     (const struct vecs_api_param[]){ { "id", jstr(o, "id") } }, 1, true, 600,
				     &res, err);
			ref_free_result(&res);
		}
		json_decref(r);
	}
	free(why);
	why = NULL;
	if ((r = call(t, "listVolumes", all, &why))) {
		json_array_foreach(json_object_get(r, "volume"), i, o) {
			struct vecs_api_result res;
			if (jstr(o, "virtualmachineid")) {
				ref_api_call(t, "detachVolume",
					     (const struct vecs_api_param[]){ { "id", jstr(o, "id") } }, 1, true,
					     600, &res, err);
				ref_free_result(&res);
			}
			if (ref_api_call(t, "deleteVolume",
					 (const struct vecs_api_param[]){ { "id", jstr(o, "id") } }, 1, false, 600,
					 &res, err) == 0 && !res.ok && !first)
				first = strf("deleteVolume %s: %s", jstr(o, "id"), res.errortext);
			ref_free_result(&res);
		}
		json_decref(r);
	}
	free(why);
	(void)cell;
	if (first) {
		int rc = vecs_err_set(err, -EIO, "%s", first);
		free(first);
		return rc;
	}
	return 0;
}

/* ---- open / close -------------------------------------------------------------------- */

/* The database key: db.encryption_key, or the first line of db.encryption_key_file. */
static int db_key(json_t *db, char *key, size_t len, struct vecs_err *err)
{
	const char *file = jstr(db, "encryption_key_file");
	FILE *f;
	bool ok;

	if (jstr(db, "encryption_key")) {
		snprintf(key, len, "%s", jstr(db, "encryption_key"));
		return 0;
	}
	if (!file)
		return vecs_err_set(err, -ENOENT, "the target configuration has no db.encryption_key "
				    "or db.encryption_key_file (db.cloud.encrypt.secret)");
	if (!(f = fopen(file, "re")))
		return vecs_err_set(err, -errno, "cannot read the database key file %s: %s", file,
				    strerror(errno));
	ok = fgets(key, (int)len, f) != NULL;
	fclose(f);
	key[strcspn(key, "\r\n")] = '\0';
	return ok && key[0] ? 0 : vecs_err_set(err, -EINVAL, "the database key file %s is empty", file);
}

int vecs_reference_open_config(struct vecs_reference **out, json_t *conf, const char *bin_dir,
			       const char *work_dir, struct vecs_err *err)
{
	struct vecs_reference *t = calloc(1, sizeof(*t));
	char key[512];
	json_t *db = json_object_get(conf, "db");
	int r;

	*out = NULL;
	if (!t)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	snprintf(t->bin, sizeof(t->bin), "%s", bin_dir);
	snprintf(t->work, sizeof(t->work), "%s", work_dir);
	t->stack = json_incref(conf);
	r = vecs_api_new(&t->api, jstr(conf, "api_url") ?: "", jstr(conf, "api_key") ?: "",
			 jstr(conf, "secret_key") ?: "", err);
	if (r == 0 && strcmp(jstr(db, "encryptor_version") ?: "V2", "V2"))
		r = vecs_err_set(err, -ENOTSUP, "db.encryptor_version %s: the database probe reads V2 "
				 "(AES-256-GCM) values only", jstr(db, "encryptor_version"));
	if (r == 0)
		r = db_key(db, key, sizeof(key), err);
	if (r == 0)
		r = vecs_dbprobe_open(&t->db, jstr(db, "kind") ?: "sqlite",
				      jstr(db, "path") ?: jstr(db, "dsn") ?: "", key, err);
	explicit_bzero(key, sizeof(key));
	if (r < 0) {
		vecs_reference_close(t);
		return r;
	}
	*out = t;
	return 0;
}

int vecs_reference_config(const char *stack_dir, json_t **out, struct vecs_err *err)
{
	char path[PATH_MAX + 32];
	json_t *conf, *scan, *p;
	size_t i;

	snprintf(path, sizeof(path), "%s/stack.json", stack_dir);
	conf = json_load_file(path, 0, NULL);
	if (!conf)
		return vecs_err_set(err, -ENOENT, "no %s: is the stack up?", path);
	/* what only this stack has: its directory holds every byte at rest, its logs and
	 * the hosts' private directories are where a leaked passphrase would be */
	scan = json_pack("{s:[s], s:[s+, s+]}", "at_rest", stack_dir, "logs", stack_dir, "/logs",
			 stack_dir, "/hosts");
	json_object_set_new(conf, "scan", scan);
	json_array_foreach(json_object_get(conf, "pools"), i, p)
		if (!strcmp(jstr(p, "type") ?: "", "scaleio")) {
			snprintf(path, sizeof(path), "%s/scaleio/state.json", stack_dir);
			json_object_set_new(json_object_get(p, "probe"), "state_file", json_string(path));
		}
	json_object_set_new(conf, "format", json_string("vecs-target-1"));
	*out = conf;
	return 0;
}

int vecs_reference_open(struct vecs_reference **out, const char *stack_dir, bool start,
			const char *bin_dir, const char *work_dir, FILE *progress,
			struct vecs_err *err)
{
	char dir[PATH_MAX];
	json_t *conf = NULL;
	int r;

	*out = NULL;
	mkdir(stack_dir, 0700);
	if (!realpath(stack_dir, dir) || strlen(dir) > PATH_MAX - 256)
		return vecs_err_set(err, -ENOENT, "stack directory %s is not usable", stack_dir);
	if (start) {
		struct vecs_stack_opts so = { .dir = dir, .bin_dir = bin_dir, .db = "sqlite",
					      .kdf = "fast", .hosts = 2, .timeout_s = 300,
					      .progress = progress, .owner = getpid() };
		r = vecs_stack_up(&so, err);
		if (r < 0)
			return r;
	}
	r = vecs_reference_config(dir, &conf, err);
	if (r == 0)
		r = vecs_reference_open_config(out, conf, bin_dir, work_dir, err);
	json_decref(conf);
	if (r < 0) {
		struct vecs_err e2 = { 0 };
		if (start && vecs_stack_down(dir, progress, &e2) < 0 && progress)
			fprintf(progress, "stack down: %s\n", e2.msg);
		return r;
	}
	snprintf((*out)->stack_dir, sizeof((*out)->stack_dir), "%s", dir);
	(*out)->started = start;
	(*out)->progress = progress;
	return 0;
}

void vecs_reference_close(struct vecs_reference *t)
{
	struct vecs_err err = { 0 };

	if (!t)
		return;
	for (size_t i = 0; i < t->n_conn; i++)
		if (t->conn[i])
			virConnectClose(t->conn[i]);
	vecs_api_free(t->api);
	vecs_dbprobe_close(t->db);
	json_decref(t->stack);
	json_decref(t->seen);
	json_decref(t->states);
	json_decref(t->baseline);
	json_decref(t->canaries);
	if (t->started && vecs_stack_down(t->stack_dir, t->progress, &err) < 0 && t->progress)
		fprintf(t->progress, "stack down: %s\n", err.msg);
	free(t);
}

const struct vecs_target_ops vecs_reference_ops = {
	.name = "reference",
	.setup = ref_setup,
	.env = ref_env,
	.api_call = ref_api_call,
	.checkpoint = ref_checkpoint,
	.invariant = ref_invariant,
	.teardown = ref_teardown,
	.free_result = ref_free_result,
};

/* ---- for the fault runner (harness/faults) ------------------------------------------ */

const char *vecs_reference_stack_dir(const struct vecs_reference *t)
{
	return t->stack_dir;
}

const char *vecs_reference_bin_dir(const struct vecs_reference *t)
{
	return t->bin;
}

int vecs_reference_volume_bytes(struct vecs_reference *t, const char *volume_id, char *path,
				size_t len, bool *qcow2, struct vecs_err *err)
{
	struct located loc;
	char *why = NULL;

	if (locate(t, volume_id, &loc, &why) < 0) {
		int r = vecs_err_set(err, -ENOENT, "%s", why ? why : "volume not found");
		free(why);
		return r;
	}
	snprintf(path, len, "%s", loc.path);
	*qcow2 = loc.qcow2;
	return 0;
}

void vecs_reference_env_override(struct vecs_reference *t, const char *key, const char *value)
{
	for (int i = 0; i < t->n_env; i++)
		if (!strcmp(t->env_key[i], key)) {
			snprintf(t->env_val[i], sizeof(t->env_val[i]), "%s", value);
			return;
		}
	env_set(t, key, value);
}
