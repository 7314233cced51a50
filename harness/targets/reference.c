/* Paths here are the stack or work directory (checked shorter than PATH_MAX - 256 at
 * open) plus short suffixes; GCC cannot see that bound through snprintf. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include "targets/reference.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

#define ENV_MAX 12
#define CANARY_DEFAULT_SIZE (1u << 20)

struct vecs_reference {
	char stack_dir[PATH_MAX];
	char bin[PATH_MAX];
	char work[PATH_MAX];
	bool started;
	FILE *progress;
	json_t *stack;
	struct vecs_api *api;
	struct vecs_dbprobe *db;
	const struct vecs_cell *cell;
	char env_key[ENV_MAX][32];
	char env_val[ENV_MAX][128];
	int n_env;
	json_t *seen;     /* volume id -> {"sha": passphrase digest} of this cell */
	json_t *states;   /* label -> recorded state text */
	json_t *canaries; /* label -> {"volume", "size"} */
	bool other_pool_fixed;
};

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

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

/* Another pool for migrateVolume: of the cell's storage type, not the one the cell's
 * newest data volume is on, and for host-local storage on that volume's host. Decided
 * when the step runs, since only then is it known where the volume landed. */
static const char *other_pool(struct vecs_reference *t)
{
	const char *lv[] = { "listall", "true", "type", "DATADISK", NULL };
	char tag[48], cur[64] = "", host[64] = "", *why = NULL;
	const char *lp[] = { "tags", tag, NULL };
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
			if (!found && strcmp(jstr(o, "id") ?: "", cur) &&
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

	json_array_foreach(json_object_get(t->stack, "pools"), i, p)
		n += !strcmp(jstr(p, "type") ?: "", storage);
	return n;
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
	const char *p_pool[] = { "tags", tag, NULL };

	t->cell = cell;
	t->n_env = 0;
	t->other_pool_fixed = false;
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
	if ((r = call(t, "listZones", p_zone, &why))) {
		env_set(t, "zoneid", jstr(json_array_get(json_object_get(r, "zone"), 0), "id"));
		json_decref(r);
	}
	if (!why && (r = call(t, "listTemplates", p_tpl, &why))) {
		json_t *tpl = json_array_get(json_object_get(r, "template"), 0);
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
		json_t *p = json_object_get(r, "storagepool");
		env_set(t, "poolid", jstr(json_array_get(p, 0), "id"));
		env_set(t, "otherpoolid", jstr(json_array_get(p, 1), "id"));
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

/* The loop device the ScaleIO gateway backs volume id with (its state file). */
static int scaleio_device(struct vecs_reference *t, const char *vol_id, char *out, size_t len)
{
	char path[PATH_MAX + 32];
	json_t *st, *v;
	size_t i;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "%s/scaleio/state.json", t->stack_dir);
	st = json_load_file(path, 0, NULL);
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
		if (scaleio_device(t, vpath, loc->path, sizeof(loc->path)) < 0) {
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
	char key[PATH_MAX + 64], out[PATH_MAX + 64], sec[PATH_MAX + 80], opts[PATH_MAX + 96];
	const char *src;
	uint64_t size, offset;
	FILE *a = NULL, *b = NULL;
	bool same = true;
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
	if (!a || !b || fseeko(b, (off_t)offset, SEEK_SET) != 0) {
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

/* Every libvirt secret on every host must belong to a disk of a domain running there:
 * CloudStack defines them on start, attach and before migration, and undefines them on
 * stop, detach and after migration. NULL when that holds, else which one is left. */
static char *secrets_left(struct vecs_reference *t)
{
	char *list = malloc(1 << 16), *xml = malloc(1 << 20), *why = NULL;
	json_t *h;
	size_t i;

	if (!list || !xml) {
		free(list);
		free(xml);
		return strf("out of memory");
	}
	json_array_foreach(json_object_get(t->stack, "hosts"), i, h) {
		const char *uri = jstr(h, "libvirt_uri");
		const char *ls[] = { "virsh", "-c", uri, "secret-list", NULL };
		const char *doms[] = { "virsh", "-c", uri, "list", "--name", NULL };
		char *used = strdup(""), *save = NULL, *line;

		if (!uri || !used || virsh(doms, list, 1 << 16, &why) < 0) {
			free(used);
			break;
		}
		/* the secret uuids the running domains' disks name */
		for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			const char *dx[] = { "virsh", "-c", uri, "dumpxml", line, NULL };
			char *p, *n;
			if (!*line || virsh(dx, xml, 1 << 20, &why) < 0)
				continue;
			free(why);
			why = NULL;
			for (p = xml; (p = strstr(p, "<secret type='passphrase' uuid='")); p += 32) {
				n = strf("%s %.36s", used, p + 32);
				free(used);
				used = n;
			}
		}
		if (virsh(ls, list, 1 << 16, &why) == 0) {
			/* " UUID   Usage" header and dashes, then one "uuid  volume path" per line */
			for (line = strtok_r(list, "\n", &save); line && !why; line = strtok_r(NULL, "\n", &save)) {
				char uuid[40] = "";
				bool is_uuid;
				if (sscanf(line, " %36s", uuid) != 1 || strlen(uuid) != 36)
					continue;
				is_uuid = true;
				for (int c = 0; c < 36; c++)
					is_uuid &= (c == 8 || c == 13 || c == 18 || c == 23)
							   ? uuid[c] == '-'
							   : isxdigit((unsigned char)uuid[c]) != 0;
				if (!is_uuid)
					continue; /* the table's header and rule */
				if (!strstr(used, uuid))
					why = strf("host %s keeps libvirt secret %s, which no running domain uses",
						   jstr(h, "name"), uuid);
			}
		}
		free(used);
		if (why)
			break;
	}
	free(list);
	free(xml);
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
		/* every byte the stack keeps: pools, NFS export, ScaleIO backing files,
		 * secondary storage, logs, the hosts' private directories */
		vecs_scan_path(scan, t->stack_dir, NULL);
		if (vecs_scan_get_stats(scan)->hits)
			why = strf("canary plaintext of this cell at rest: %s", where);
		vecs_scan_free(scan);
		break;
	}
	case VECS_INV_NO_SECRET_IN_LOGS: {
		json_t *pp = cell_passphrases(t, &why), *p;
		char where[PATH_MAX] = "", logs[PATH_MAX + 8], hosts[PATH_MAX + 8];
		snprintf(logs, sizeof(logs), "%s/logs", t->stack_dir);
		snprintf(hosts, sizeof(hosts), "%s/hosts", t->stack_dir);
		json_array_foreach(pp, i, p)
			if (!why && (tree_contains(logs, json_string_value(p), where, sizeof(where)) ||
				     tree_contains(hosts, json_string_value(p), where, sizeof(where))))
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

int vecs_reference_open(struct vecs_reference **out, const char *stack_dir, bool start,
			const char *bin_dir, const char *work_dir, FILE *progress,
			struct vecs_err *err)
{
	struct vecs_reference *t = calloc(1, sizeof(*t));
	char path[PATH_MAX + 32];
	json_t *db;
	int r;

	*out = NULL;
	if (!t)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	snprintf(t->bin, sizeof(t->bin), "%s", bin_dir);
	snprintf(t->work, sizeof(t->work), "%s", work_dir);
	t->progress = progress;
	mkdir(stack_dir, 0700);
	if (!realpath(stack_dir, t->stack_dir) || strlen(t->stack_dir) > PATH_MAX - 256) {
		free(t);
		return vecs_err_set(err, -ENOENT, "stack directory %s is not usable", stack_dir);
	}
	if (start) {
		struct vecs_stack_opts so = { .dir = t->stack_dir, .bin_dir = bin_dir, .db = "sqlite",
					      .kdf = "fast", .hosts = 2, .timeout_s = 300,
					      .progress = progress, .owner = getpid() };
		r = vecs_stack_up(&so, err);
		if (r < 0) {
			free(t);
			return r;
		}
		t->started = true;
	}
	snprintf(path, sizeof(path), "%s/stack.json", t->stack_dir);
	t->stack = json_load_file(path, 0, NULL);
	if (!t->stack) {
		vecs_reference_close(t);
		return vecs_err_set(err, -ENOENT, "no %s: is the stack up?", path);
	}
	r = vecs_api_new(&t->api, jstr(t->stack, "api_url") ?: "", jstr(t->stack, "api_key") ?: "",
			 jstr(t->stack, "secret_key") ?: "", err);
	db = json_object_get(t->stack, "db");
	if (r == 0)
		r = vecs_dbprobe_open(&t->db, jstr(db, "kind") ?: "sqlite",
				      jstr(db, "path") ?: jstr(db, "dsn") ?: "",
				      jstr(db, "encryption_key") ?: "", err);
	if (r < 0) {
		vecs_reference_close(t);
		return r;
	}
	*out = t;
	return 0;
}

void vecs_reference_close(struct vecs_reference *t)
{
	struct vecs_err err = { 0 };

	if (!t)
		return;
	vecs_api_free(t->api);
	vecs_dbprobe_close(t->db);
	json_decref(t->stack);
	json_decref(t->seen);
	json_decref(t->states);
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
