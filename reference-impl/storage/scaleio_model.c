/* The gateway's model: ids, SDCs, size rounding, Basic auth decoding and the state
 * file (scaleio.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "storage/scaleio.h"

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

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int sio_basic_auth_decode(const char *header, char *user, size_t user_cap, char *pass,
			  size_t pass_cap, size_t *pass_len)
{
	char buf[512];
	size_t n = 0, ulen;
	unsigned acc = 0;
	int bits = 0, rc = -EINVAL;
	const char *p, *colon;

	if (!header || strncasecmp(header, "Basic ", 6) != 0)
		return -EINVAL;
	for (p = header + 6; *p == ' '; p++)
		;
	for (; *p && *p != '='; p++) {
		int v = b64val((unsigned char)*p);
		if (v < 0)
			goto out;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= sizeof(buf) - 1)
				goto out;
			buf[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	while (*p == '=')
		p++;
	if (*p)
		goto out;
	colon = memchr(buf, ':', n);
	if (!colon)
		goto out;
	ulen = (size_t)(colon - buf);
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
	explicit_bzero(&acc, sizeof(acc));
	return rc;
}

/* --- state file -------------------------------------------------------------------- */

static const char *type_name(enum sio_voltype t)
{
	return t == SIO_THICK ? "ThickProvisioned" : t == SIO_SNAPSHOT ? "Snapshot" : "ThinProvisioned";
}

int sio_state_to_json(const struct sio_gw *gw, char **out, struct vecs_err *err)
{
	json_object *root = json_object_new_object(), *vols = json_object_new_array();

	json_object_object_add(root, "version", json_object_new_int(1));
	json_object_object_add(root, "systemId", json_object_new_string(gw->system_id));
	json_object_object_add(root, "nextSerial", json_object_new_int64((int64_t)gw->next_serial));
	for (size_t i = 0; i < gw->n_vols; i++) {
		const struct sio_volume *v = &gw->vols[i];
		json_object *o = json_object_new_object(), *m = json_object_new_array();

		json_object_object_add(o, "id", json_object_new_string(v->id));
		json_object_object_add(o, "name", json_object_new_string(v->name));
		json_object_object_add(o, "vtreeId", json_object_new_string(v->vtree));
		json_object_object_add(o, "ancestorVolumeId", json_object_new_string(v->ancestor));
		json_object_object_add(o, "volumeType", json_object_new_string(type_name(v->type)));
		json_object_object_add(o, "sizeInKb", json_object_new_int64((int64_t)v->size_kb));
		json_object_object_add(o, "creationTime", json_object_new_int64(v->created));
		json_object_object_add(o, "path", json_object_new_string(v->path));
		json_object_object_add(o, "loop", json_object_new_string(v->loop));
		for (int s = 0; s < gw->n_sdcs; s++)
			if (v->mapped[s])
				json_object_array_add(m, json_object_new_string(gw->sdcs[s].name));
		json_object_object_add(o, "mappedSdcNames", m);
		json_object_array_add(vols, o);
	}
	json_object_object_add(root, "volumes", vols);
	*out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	if (!*out)
		return vecs_err_set(err, -ENOMEM, "out of memory writing the gateway state");
	return 0;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
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
	json_object *root = json_tokener_parse(json), *vols, *x;
	int rc = 0;

	if (!root || !json_object_is_type(root, json_type_object))
		rc = vecs_err_set(err, -EINVAL, "the gateway state is not a JSON object");
	else if (!jstr(root, "systemId") || strcmp(jstr(root, "systemId"), gw->system_id) != 0)
		rc = vecs_err_set(err, -EINVAL,
				  "the gateway state belongs to system %s, not %s: use another data dir",
				  jstr(root, "systemId") ? jstr(root, "systemId") : "?", gw->system_id);
	else if (!json_object_object_get_ex(root, "volumes", &vols) ||
		 !json_object_is_type(vols, json_type_array))
		rc = vecs_err_set(err, -EINVAL, "the gateway state has no volume list");
	if (rc < 0)
		goto out;
	if (json_object_object_get_ex(root, "nextSerial", &x))
		gw->next_serial = (uint64_t)json_object_get_int64(x);
	for (size_t i = 0; i < json_object_array_length(vols); i++) {
		json_object *o = json_object_array_get_idx(vols, i), *m;
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
		if (json_object_object_get_ex(o, "sizeInKb", &x))
			v.size_kb = (uint64_t)json_object_get_int64(x);
		if (json_object_object_get_ex(o, "creationTime", &x))
			v.created = json_object_get_int64(x);
		if (json_object_object_get_ex(o, "mappedSdcNames", &m) &&
		    json_object_is_type(m, json_type_array)) {
			for (size_t k = 0; k < json_object_array_length(m); k++) {
				const char *n = json_object_get_string(json_object_array_get_idx(m, k));
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
	json_object_put(root);
	return rc;
}
