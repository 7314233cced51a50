/* The gateway's model: ids, SDCs, size rounding, Basic auth decoding and the state
 * file (scaleio.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "storage/scaleio.h"
#include "util/base64.h"

static uint64_t fnv1a(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *s = a; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	h = (h ^ '/') * 0x100000001b3ull;
	for (const char *s = b; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static time_t real_now(void)
{
	return time(NULL);
}

void sio_gw_init(struct sio_gw *gw, const char *system_id)
{
	memset(gw, 0, sizeof(*gw));
	snprintf(gw->system_id, sizeof(gw->system_id), "%s", system_id);
	snprintf(gw->pool_id, sizeof(gw->pool_id), "%016" PRIx64, fnv1a(system_id, "pool"));
	snprintf(gw->pd_id, sizeof(gw->pd_id), "%016" PRIx64, fnv1a(system_id, "pd"));
	snprintf(gw->user, sizeof(gw->user), "admin");
	gw->granularity_kb = SIO_GRANULARITY_KB;
	gw->capacity_kb = 1ull << 40; /* 1 PiB unless told */
	gw->token_ttl = 600;          /* PowerFlex: 10 minutes of idleness */
	gw->next_serial = 1;
	gw->now = real_now;
}

static bool name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

int sio_gw_add_sdc(struct sio_gw *gw, const char *name, const char *ip, const char *dir,
		   struct vecs_err *err)
{
	struct sio_sdc *s;
	uint64_t h;

	if (!name_ok(name, sizeof(s->name)))
		return vecs_err_set(err, -EINVAL,
				    "SDC name '%s' is not valid: use 1-63 letters, digits, '_', '.' or '-'",
				    name);
	if (gw->n_sdcs >= SIO_MAX_SDCS)
		return vecs_err_set(err, -ENOSPC, "too many SDCs: at most %d", SIO_MAX_SDCS);
	for (int i = 0; i < gw->n_sdcs; i++)
		if (strcmp(gw->sdcs[i].name, name) == 0)
			return vecs_err_set(err, -EEXIST, "SDC %s is given twice", name);
	if (strlen(dir) >= sizeof(s->dir) || strlen(ip) >= sizeof(s->ip))
		return vecs_err_set(err, -ENAMETOOLONG, "SDC %s: directory or address too long",
				    name);
	s = &gw->sdcs[gw->n_sdcs];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->ip, sizeof(s->ip), "%s", ip);
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	h = fnv1a(gw->system_id, name);
	snprintf(s->id, sizeof(s->id), "%016" PRIx64, h);
	h = fnv1a(name, gw->system_id);
	snprintf(s->guid, sizeof(s->guid), "%08" PRIX64 "-%04" PRIX64 "-%04" PRIX64 "-%04" PRIX64
		 "-%012" PRIX64, h >> 32, (h >> 16) & 0xffff, h & 0xffff,
		 (uint64_t)(fnv1a(s->id, "g") & 0xffff), (uint64_t)(fnv1a(s->id, "u") & 0xffffffffffffull));
	gw->n_sdcs++;
	return 0;
}

void sio_gw_free(struct sio_gw *gw)
{
	free(gw->vols);
	gw->vols = NULL;
	gw->n_vols = gw->cap_vols = 0;
}

struct sio_volume *sio_find_volume(struct sio_gw *gw, const char *id)
{
	for (size_t i = 0; i < gw->n_vols; i++)
		if (strcmp(gw->vols[i].id, id) == 0)
			return &gw->vols[i];
	return NULL;
}

uint64_t sio_round_kb(const struct sio_gw *gw, uint64_t kb)
{
	uint64_t g = gw->granularity_kb ? gw->granularity_kb : 1;

	if (kb > UINT64_MAX - g)
		return 0;
	return (kb + g - 1) / g * g;
}

void sio_link_name(const struct sio_gw *gw, const struct sio_volume *v, char *buf, size_t len)
{
	snprintf(buf, len, "emc-vol-%s-%s", gw->system_id, v->id);
}

int sio_basic_auth_decode(const char *header, char *user, size_t user_cap, char *pass,
			  size_t pass_cap, size_t *pass_len)
{
	unsigned char buf[512];
	size_t n = 0, len, ulen;
	int rc = -EINVAL;
	const char *p, *colon;

	if (!header || strncasecmp(header, "Basic ", 6) != 0)
		return -EINVAL;
	for (p = header + 6; *p == ' '; p++)
		;
	len = strlen(p);
	if (len / 4 * 3 > sizeof(buf) || b64_decode(p, len, buf, &n) < 0)
		goto out;
	colon = memchr(buf, ':', n);
	if (!colon)
		goto out;
	ulen = (size_t)(colon - (const char *)buf);
	if (ulen >= user_cap || n - ulen - 1 >= pass_cap || memchr(buf, '\0', n))
		goto out;
	memcpy(user, buf, ulen);
	user[ulen] = '\0';
	*pass_len = n - ulen - 1;
	memcpy(pass, colon + 1, *pass_len);
	pass[*pass_len] = '\0';
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* --- state file -------------------------------------------------------------------- */

static const char *type_name(enum sio_voltype t)
{
	return t == SIO_THICK ? "ThickProvisioned" : t == SIO_SNAPSHOT ? "Snapshot" : "ThinProvisioned";
}

int sio_state_to_json(const struct sio_gw *gw, char **out, struct vecs_err *err)
{
	json_t *root = json_object(), *vols = json_array();
	int bad = 0;

	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "systemId", json_string(gw->system_id));
	json_object_set_new(root, "nextSerial", json_integer((int64_t)gw->next_serial));
	for (size_t i = 0; i < gw->n_vols; i++) {
		const struct sio_volume *v = &gw->vols[i];
		json_t *o = json_object(), *m = json_array();

		json_object_set_new(o, "id", json_string(v->id));
		json_object_set_new(o, "name", json_string(v->name));
		json_object_set_new(o, "vtreeId", json_string(v->vtree));
		json_object_set_new(o, "ancestorVolumeId", json_string(v->ancestor));
		json_object_set_new(o, "volumeType", json_string(type_name(v->type)));
		json_object_set_new(o, "sizeInKb", json_integer((int64_t)v->size_kb));
		json_object_set_new(o, "creationTime", json_integer(v->created));
		/* jansson takes only UTF-8; the other fields are ours or came as JSON */
		bad |= json_object_set_new(o, "path", json_string(v->path));
		json_object_set_new(o, "loop", json_string(v->loop));
		for (int s = 0; s < gw->n_sdcs; s++)
			if (v->mapped[s])
				json_array_append_new(m, json_string(gw->sdcs[s].name));
		json_object_set_new(o, "mappedSdcNames", m);
		json_array_append_new(vols, o);
	}
	json_object_set_new(root, "volumes", vols);
	*out = bad ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_COMPACT);
	json_decref(root);
	if (bad)
		return vecs_err_set(err, -EINVAL,
				    "cannot write the gateway state: a volume file's path is not "
				    "UTF-8; use a data dir whose path is");
	if (!*out)
		return vecs_err_set(err, -ENOMEM, "out of memory writing the gateway state");
	return 0;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool copy_field(char *dst, size_t cap, const char *src)
{
	if (!src || strlen(src) >= cap)
		return false;
	memcpy(dst, src, strlen(src) + 1);
	return true;
}

int sio_state_from_json(struct sio_gw *gw, const char *json, struct vecs_err *err)
{
	json_t *root = json_loads(json, 0, NULL), *vols = NULL, *x;
	int rc = 0;

	if (!json_is_object(root))
		rc = vecs_err_set(err, -EINVAL, "the gateway state is not a JSON object");
	else if (!jstr(root, "systemId") || strcmp(jstr(root, "systemId"), gw->system_id) != 0)
		rc = vecs_err_set(err, -EINVAL,
				  "the gateway state belongs to system %s, not %s: use another data dir",
				  jstr(root, "systemId") ? jstr(root, "systemId") : "?", gw->system_id);
	else if (!json_is_array(vols = json_object_get(root, "volumes")))
		rc = vecs_err_set(err, -EINVAL, "the gateway state has no volume list");
	if (rc < 0)
		goto out;
	if ((x = json_object_get(root, "nextSerial")))
		gw->next_serial = (uint64_t)json_integer_value(x);
	for (size_t i = 0; i < json_array_size(vols); i++) {
		json_t *o = json_array_get(vols, i), *m;
		struct sio_volume v = { 0 };
		const char *t = jstr(o, "volumeType");

		if (!copy_field(v.id, sizeof(v.id), jstr(o, "id")) ||
		    !copy_field(v.name, sizeof(v.name), jstr(o, "name")) ||
		    !copy_field(v.vtree, sizeof(v.vtree), jstr(o, "vtreeId")) ||
		    !copy_field(v.ancestor, sizeof(v.ancestor), jstr(o, "ancestorVolumeId")) ||
		    !copy_field(v.path, sizeof(v.path), jstr(o, "path")) ||
		    !copy_field(v.loop, sizeof(v.loop), jstr(o, "loop")) || !t) {
			rc = vecs_err_set(err, -EINVAL, "volume %zu of the gateway state is damaged", i);
			goto out;
		}
		v.type = strcmp(t, "Snapshot") == 0 ? SIO_SNAPSHOT :
			 strcmp(t, "ThickProvisioned") == 0 ? SIO_THICK : SIO_THIN;
		if ((x = json_object_get(o, "sizeInKb")))
			v.size_kb = (uint64_t)json_integer_value(x);
		if ((x = json_object_get(o, "creationTime")))
			v.created = json_integer_value(x);
		if (json_is_array(m = json_object_get(o, "mappedSdcNames"))) {
			for (size_t k = 0; k < json_array_size(m); k++) {
				const char *n = json_string_value(json_array_get(m, k));
				int s;
				for (s = 0; s < gw->n_sdcs; s++)
					if (n && strcmp(gw->sdcs[s].name, n) == 0)
						break;
				if (s < gw->n_sdcs)
					v.mapped[s] = true;
				else
					fprintf(stderr,
						"vecs-scaleio-gw: volume %s was mapped to SDC %s, which is "
						"no longer configured; mapping dropped\n",
						v.id, n ? n : "?");
			}
		}
		if (gw->n_vols == gw->cap_vols) {
			size_t nc = gw->cap_vols ? gw->cap_vols * 2 : 16;
			struct sio_volume *nv = realloc(gw->vols, nc * sizeof(*nv));
			if (!nv) {
				rc = vecs_err_set(err, -ENOMEM, "out of memory loading the gateway state");
				goto out;
			}
			gw->vols = nv;
			gw->cap_vols = nc;
		}
		gw->vols[gw->n_vols++] = v;
	}
out:
	json_decref(root);
	return rc;
}
