/* Primary storage pools and templates: createStoragePool, listStoragePools,
 * registerTemplate, listTemplates (how a deployment tells vecs-mgmt where volumes may
 * live and what a root disk starts from; README.md, "mgmt/"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/pool_dao.h"
#include "mgmt/cloud_ops.h"

/* scheme://[user:pass@]host[:port]/path into its parts; -1 when malformed. */
static int split_url(const char *url, char *scheme, size_t ss, char *host, size_t hs,
		     unsigned *port, char *path, size_t ps)
{
	const char *p = strstr(url, "://"), *h, *slash, *at, *colon;
	size_t n;

	if (!p || (size_t)(p - url) + 1 > ss)
		return -1;
	snprintf(scheme, ss, "%.*s", (int)(p - url), url);
	h = p + 3;
	slash = strchr(h, '/');
	if (!slash)
		return -1;
	at = memchr(h, '@', (size_t)(slash - h));
	if (at) /* credentials are not kept */
		h = at + 1;
	n = (size_t)(slash - h);
	colon = memchr(h, ':', n);
	*port = 0;
	if (colon) {
		*port = (unsigned)strtoul(colon + 1, NULL, 10);
		n = (size_t)(colon - h);
	}
	if (n + 1 > hs || strlen(slash) + 1 > ps)
		return -1;
	snprintf(host, hs, "%.*s", (int)n, h);
	snprintf(path, ps, "%s", slash);
	return 0;
}

/* details[N].NAME=VALUE (CloudStack's map parameters): the value of NAME, or NULL. */
static const char *map_param(const struct api_params *p, const char *map, const char *name)
{
	size_t ml = strlen(map);

	for (size_t i = 0; i < p->n; i++) {
		const char *k = p->v[i].name, *dot;

		if (strncasecmp(k, map, ml) || k[ml] != '[')
			continue;
		dot = strchr(k + ml, ']');
		if (dot && dot[1] == '.' && !strcasecmp(dot + 2, name))
			return p->v[i].value;
	}
	return NULL;
}


struct zone_find {
	int64_t id;
};

static int zone_find_cb(void *ctx, const struct zone_record *z)
{
	((struct zone_find *)ctx)->id = z->id;
	return 0;
}

int cloud_zone_id(struct api_ctx *c, const char *param, const char *uuid, int64_t *id)
{
	struct zone_filter f = { .uuid = uuid };
	struct zone_find k = { 0 };
	struct vecs_err err = { 0 };
	int r = zone_list(c->db, &f, zone_find_cb, &k, &err);

	if (r < 0)
		return api_fail_db(c, r, &err);
	if (!k.id)
		return api_fail_no_entity(c, param, uuid);
	*id = k.id;
	return 0;
}

int cloud_get_vm(struct api_ctx *c, const char *param, struct vm_record *vm)
{
	struct vecs_err err = { 0 };
	const char *uuid;
	int r;

	if (api_get_uuid(c, param, true, &uuid) < 0)
		return -1;
	r = vm_get_by_uuid(c->db, uuid, vm, &err);
	if (r == -ENOENT)
		return api_fail_no_entity(c, param, uuid);
	if (r < 0)
		return api_fail_db(c, r, &err);
	return 0;
}

int cmd_create_storage_pool(struct api_ctx *c)
{
	struct pool_record *p = calloc(1, sizeof(*p)), *back = malloc(sizeof(*back));
	struct host_record *h = malloc(sizeof(*h));
	const char *name, *url, *zone_uuid, *scope, *host_uuid, *tags, *provider, *d;
	char scheme[32];
	int64_t cap = 0;
	struct vecs_err err = { 0 };
	int r = -1;

	if (!p || !back || !h) {
		api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, "out of memory");
		goto out;
	}
	if (api_get_str(c, "name", true, 255, &name) < 0 ||
	    api_get_str(c, "url", true, 1000, &url) < 0 ||
	    api_get_uuid(c, "zoneid", true, &zone_uuid) < 0 ||
	    api_get_str(c, "scope", false, 16, &scope) < 0 ||
	    api_get_uuid(c, "hostid", false, &host_uuid) < 0 ||
	    api_get_str(c, "tags", false, 1000, &tags) < 0 ||
	    api_get_str(c, "provider", false, 60, &provider) < 0 ||
	    api_get_long(c, "capacitybytes", false, 0, INT64_MAX, &cap, NULL) < 0 ||
	    cloud_zone_id(c, "zoneid", zone_uuid, &p->zone_id) < 0)
		goto out;
	if (split_url(url, scheme, sizeof(scheme), p->host_address, sizeof(p->host_address),
		      &p->port, p->path, sizeof(p->path)) < 0) {
		api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
			 "%s is not a valid uri. Note that the URI must be encoded.", url);
		goto out;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->scope, sizeof(p->scope), "ZONE");
	if (scope && !strcasecmp(scope, "host"))
		snprintf(p->scope, sizeof(p->scope), "HOST");
	else if (scope && strcasecmp(scope, "zone") && strcasecmp(scope, "cluster")) {
		api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
			 "Invalid scope %.16s: use zone, cluster or host", scope);
		goto out;
	}
	if (!strcasecmp(scheme, "nfs")) {
		snprintf(p->pool_type, sizeof(p->pool_type), POOL_NFS);
	} else if (!strcasecmp(scheme, "SharedMountPoint")) {
		snprintf(p->pool_type, sizeof(p->pool_type), POOL_SMP);
	} else if (!strcasecmp(scheme, "file") || !strcasecmp(scheme, "filesystem")) {
		snprintf(p->pool_type, sizeof(p->pool_type), POOL_LOCAL);
		snprintf(p->scope, sizeof(p->scope), "HOST");
	} else if (!strcasecmp(scheme, "powerflex") || !strcasecmp(scheme, "scaleio")) {
		/* powerflex://[user:pass@]GATEWAY[:PORT]/STORAGEPOOL; the gateway URL and
		 * the system id may be given as details[0].gateway_url / system_id. */
		snprintf(p->pool_type, sizeof(p->pool_type), POOL_POWERFLEX);
		snprintf(p->provider, sizeof(p->provider), "PowerFlex");
		if ((d = map_param(c->p, "details", "gateway_url")))
			snprintf(p->gateway_url, sizeof(p->gateway_url), "%s", d);
		else if (p->port)
			snprintf(p->gateway_url, sizeof(p->gateway_url), "https://%.200s:%u",
				 p->host_address, p->port);
		else
			snprintf(p->gateway_url, sizeof(p->gateway_url), "https://%.200s",
				 p->host_address);
		if ((d = map_param(c->p, "details", "system_id")))
			snprintf(p->system_id, sizeof(p->system_id), "%s", d);
		memmove(p->path, p->path + 1, strlen(p->path)); /* the pool name, no '/' */
	} else if (!strcasecmp(scheme, "rbd")) {
		snprintf(p->pool_type, sizeof(p->pool_type), POOL_RBD);
	} else {
		api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
			 "Unsupported storage pool url scheme %.32s: use nfs, SharedMountPoint, "
			 "file (local, scope host), powerflex or rbd",
			 scheme);
		goto out;
	}
	if (!strcmp(p->scope, "HOST")) {
		if (!host_uuid) {
			api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
				 "Unable to execute API command createstoragepool due to missing "
				 "parameter hostid (required for scope host)");
			goto out;
		}
		r = host_get_by_uuid(c->db, host_uuid, h, &err);
		if (r == -ENOENT) {
			r = api_fail_no_entity(c, "hostid", host_uuid);
			goto out;
		}
		if (r < 0) {
			r = api_fail_db(c, r, &err);
			goto out;
		}
		p->host_id = h->id;
	}
	if (tags)
		snprintf(p->tags, sizeof(p->tags), "%s", tags);
	if (provider && !p->provider[0])
		snprintf(p->provider, sizeof(p->provider), "%s", provider);
	p->capacity = (uint64_t)cap;
	r = pool_insert(c->db, p, &err);
	if (r == 0)
		r = pool_get(c->db, p->id, back, &err);
	if (r < 0) {
		r = api_fail_db(c, r, &err);
		goto out;
	}
	jw_key(c->out, "storagepool");
	pool_json(c->out, back);
	r = 0;
out:
	free(p);
	free(back);
	free(h);
	return r;
}

static int pool_row(void *ctx, const struct pool_record *p)
{
	struct api_list *l = ctx;

	if (api_list_take(l))
		pool_json(&l->rows, p);
	return 0;
}

int cmd_list_storage_pools(struct api_ctx *c)
{
	struct pool_filter f = { 0 };
	struct vecs_err err = { 0 };
	struct api_list l;
	int r;

	if (api_list_begin(&l, c) < 0 || api_get_uuid(c, "id", false, &f.uuid) < 0 ||
	    api_get_str(c, "name", false, 255, &f.name) < 0 ||
	    api_get_uuid(c, "zoneid", false, &f.zone_uuid) < 0)
		return api_list_abandon(&l);
	r = pool_list(c->db, &f, pool_row, &l, &err);
	return api_list_finish(&l, r, &err, "storagepool");
}

/* Virtual size of a qcow2 image (header bytes 24..31, big-endian), else the file size. */
static uint64_t image_size(const char *path)
{
	unsigned char hdr[32];
	struct stat sb;
	uint64_t v = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) && !memcmp(hdr, "QFI\xfb", 4)) {
		for (int i = 24; i < 32; i++)
			v = v << 8 | hdr[i];
	} else if (fstat(fd, &sb) == 0) {
		v = (uint64_t)sb.st_size;
	}
	close(fd);
	return v;
}

int cmd_register_template(struct api_ctx *c)
{
	struct template_record *t = calloc(1, sizeof(*t));
	const char *name, *text, *url, *format, *hv, *zone_uuid, *d;
	int64_t zone_id;
	struct vecs_err err = { 0 };
	int r = -1;

	if (!t)
		return api_fail(c, API_ERR_INTERNAL, API_CSERR_SERVER_API, "out of memory");
	if (api_get_str(c, "name", true, 255, &name) < 0 ||
	    api_get_str(c, "displaytext", false, 1000, &text) < 0 ||
	    api_get_str(c, "url", true, 255, &url) < 0 ||
	    api_get_str(c, "format", true, 32, &format) < 0 ||
	    api_get_str(c, "hypervisor", true, 32, &hv) < 0 ||
	    api_get_uuid(c, "zoneid", true, &zone_uuid) < 0 ||
	    cloud_zone_id(c, "zoneid", zone_uuid, &zone_id) < 0)
		goto out;
	if (strcasecmp(format, "QCOW2") && strcasecmp(format, "RAW")) {
		api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
			 "Format %.32s is not supported for hypervisor KVM: use QCOW2 or RAW", format);
		goto out;
	}
	if (strcasecmp(hv, "KVM")) {
		api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
			 "Hypervisor %.32s is not supported: vecs-mgmt manages KVM hosts", hv);
		goto out;
	}
	/* The template must be on secondary storage as hosts see it: file:///PATH or PATH. */
	if (!strncmp(url, "file://", 7))
		snprintf(t->path, sizeof(t->path), "%s", url + 7);
	else if (url[0] == '/')
		snprintf(t->path, sizeof(t->path), "%s", url);
	else {
		api_fail(c, API_ERR_PARAM, API_CSERR_INVALID_PARAM,
			 "Template url must be file:///PATH on secondary storage, not %.64s", url);
		goto out;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->display_text, sizeof(t->display_text), "%s", text ? text : name);
	snprintf(t->url, sizeof(t->url), "%s", url);
	for (size_t i = 0; format[i] && i + 1 < sizeof(t->format); i++)
		t->format[i] = (char)(format[i] & ~0x20);
	snprintf(t->hypervisor, sizeof(t->hypervisor), "KVM");
	if ((d = map_param(c->p, "details", "kernel")))
		snprintf(t->kernel, sizeof(t->kernel), "%s", d);
	if ((d = map_param(c->p, "details", "initrd")))
		snprintf(t->initrd, sizeof(t->initrd), "%s", d);
	if ((d = map_param(c->p, "details", "cmdline")))
		snprintf(t->cmdline, sizeof(t->cmdline), "%s", d);
	t->size = image_size(t->path);
	r = template_insert(c->db, t, &err);
	if (r == 0)
		r = template_get(c->db, t->id, t, &err);
	if (r < 0) {
		r = api_fail_db(c, r, &err);
		goto out;
	}
	/* registerTemplate answers a list */
	jw_kv_int(c->out, "count", 1);
	jw_key(c->out, "template");
	jw_arr_begin(c->out);
	template_json(c->out, t);
	jw_arr_end(c->out);
	r = 0;
out:
	free(t);
	return r;
}

static int template_row(void *ctx, const struct template_record *t)
{
	struct api_list *l = ctx;

	if (api_list_take(l))
		template_json(&l->rows, t);
	return 0;
}

int cmd_list_templates(struct api_ctx *c)
{
	const char *filter, *uuid, *name, *zone;
	struct vecs_err err = { 0 };
	struct api_list l;
	int r;

	if (api_list_begin(&l, c) < 0 || api_get_str(c, "templatefilter", true, 32, &filter) < 0 ||
	    api_get_uuid(c, "id", false, &uuid) < 0 || api_get_str(c, "name", false, 255, &name) < 0 ||
	    api_get_uuid(c, "zoneid", false, &zone) < 0)
		return api_list_abandon(&l);
	r = template_list(c->db, uuid, name, template_row, &l, &err);
	return api_list_finish(&l, r, &err, "template");
}
