/* The REST API of the emulated PowerFlex gateway: routing, sessions, request bodies,
 * reply shapes and PowerFlex's error objects (scaleio.h; endpoints in README.md). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "storage/scaleio.h"
#include "util/utf8.h"

/* --- replies ----------------------------------------------------------------------- */

/* A JSON string of s. jansson takes only UTF-8, and a URL path or a message cut at its
 * buffer's end may not be: each byte that is not part of valid UTF-8 becomes U+FFFD. */
static json_t *jstr(const char *s)
{
	size_t n = strlen(s), o = 0;
	json_t *j;
	char *t;

	if (utf8_valid(s, n))
		return json_stringn(s, n);
	if (!(t = malloc(3 * n + 1)))
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len((const unsigned char *)s + i, n - i);
		if (l) {
			memcpy(t + o, s + i, l);
			o += l;
			i += l;
		} else {
			memcpy(t + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	j = json_stringn(t, o);
	free(t);
	return j;
}

/* Replies are compact, keys in the order they were set. */
static void reply_json(struct sio_reply *r, int status, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	r->status = status;
	r->body = s ? s : strdup("null");
	r->len = r->body ? strlen(r->body) : 0;
	json_decref(o);
}

/* PowerFlex's error object: {"message", "httpStatusCode", "errorCode"}. */
static void __attribute__((format(printf, 4, 5)))
reply_error(struct sio_reply *r, int status, int code, const char *fmt, ...)
{
	json_t *o = json_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(o, "message", jstr(msg));
	json_object_set_new(o, "httpStatusCode", json_integer(status));
	json_object_set_new(o, "errorCode", json_integer(code));
	reply_json(r, status, o);
}

static void reply_backend_error(struct sio_reply *r, const struct vecs_err *err)
{
	reply_error(r, 500, SIO_E_INTERNAL, "%s", err->msg[0] ? err->msg : "internal error");
}

/* --- sessions ---------------------------------------------------------------------- */

static bool ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = (unsigned char)(alen != blen);

	for (size_t i = 0; i < alen && i < blen; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

static int new_session(struct sio_gw *gw, char token[SIO_TOKEN_LEN])
{
	unsigned char raw[16];
	time_t now = gw->now();
	struct sio_session *slot = NULL;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (int i = 0; i < SIO_MAX_SESSIONS; i++) {
		struct sio_session *s = &gw->sessions[i];
		if (s->expires <= now) {
			slot = s;
			break;
		}
		if (!slot || s->expires < slot->expires)
			slot = s; /* full: the session idle longest goes */
	}
	for (int i = 0; i < 16; i++)
		snprintf(slot->token + 2 * i, 3, "%02x", raw[i]);
	slot->expires = now + gw->token_ttl;
	memcpy(token, slot->token, SIO_TOKEN_LEN);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

enum auth_kind { AUTH_PASSWORD, AUTH_TOKEN };

/* True when the Authorization header carries the user and the password (login) or a
 * live token (everything else); a token's idle timer restarts on each use. */
static bool authorised(struct sio_gw *gw, const char *header, enum auth_kind kind)
{
	char user[128], pass[256];
	size_t plen = 0;
	bool ok = false;

	if (sio_basic_auth_decode(header, user, sizeof(user), pass, sizeof(pass), &plen) < 0)
		return false;
	if (strcmp(user, gw->user) != 0)
		goto out;
	if (kind == AUTH_PASSWORD) {
		ok = gw->password && ct_equal(pass, plen, gw->password, gw->password_len);
		goto out;
	}
	time_t now = gw->now();
	for (int i = 0; i < SIO_MAX_SESSIONS; i++) {
		struct sio_session *s = &gw->sessions[i];
		if (s->expires > now && ct_equal(pass, plen, s->token, strlen(s->token))) {
			s->expires = now + gw->token_ttl;
			ok = true;
			break;
		}
	}
out:
	explicit_bzero(pass, sizeof(pass));
	return ok;
}

/* --- request bodies ---------------------------------------------------------------- */

static const char *body_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A count given as a JSON number or a string of digits (CloudStack sends strings).
 * 0 when present and valid, -ENOENT when absent, -EINVAL otherwise. */
static int body_u64(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	char *end;

	if (!v || json_is_null(v))
		return -ENOENT;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return -EINVAL;
		*out = (uint64_t)i;
		return 0;
	}
	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* "TRUE"/"FALSE" strings (PowerFlex's own convention) or JSON booleans. */
static bool body_bool(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_boolean(v))
		return json_is_true(v);
	return json_is_string(v) && strcasecmp(json_string_value(v), "true") == 0;
}

/* --- shapes ------------------------------------------------------------------------ */

static json_t *str_or_null(const char *s)
{
	return s && *s ? jstr(s) : json_null();
}

static json_t *links(const char *type, const char *id)
{
	json_t *a = json_array(), *l = json_object();
	char href[128];

	snprintf(href, sizeof(href), "/api/instances/%s::%s", type, id);
	json_object_set_new(l, "rel", jstr("self"));
	json_object_set_new(l, "href", jstr(href));
	json_array_append_new(a, l);
	return a;
}

static const char *voltype_name(enum sio_voltype t)
{
	return t == SIO_THICK ? "ThickProvisioned" : t == SIO_SNAPSHOT ? "Snapshot" : "ThinProvisioned";
}

static json_t *volume_json(const struct sio_gw *gw, const struct sio_volume *v)
{
	json_t *o = json_object(), *m = NULL;

	json_object_set_new(o, "id", jstr(v->id));
	json_object_set_new(o, "name", str_or_null(v->name));
	json_object_set_new(o, "sizeInKb", json_integer((int64_t)v->size_kb));
	json_object_set_new(o, "storagePoolId", jstr(gw->pool_id));
	json_object_set_new(o, "volumeType", jstr(voltype_name(v->type)));
	json_object_set_new(o, "vtreeId", jstr(v->vtree));
	json_object_set_new(o, "ancestorVolumeId", str_or_null(v->ancestor));
	json_object_set_new(o, "consistencyGroupId", json_null());
	json_object_set_new(o, "creationTime", json_integer(v->created));
	json_object_set_new(o, "useRmcache", json_false());
	json_object_set_new(o, "isObfuscated", json_false());
	for (int s = 0; s < gw->n_sdcs; s++) {
		json_t *e;
		if (!v->mapped[s])
			continue;
		if (!m)
			m = json_array();
		e = json_object();
		json_object_set_new(e, "sdcId", jstr(gw->sdcs[s].id));
		json_object_set_new(e, "sdcIp", jstr(gw->sdcs[s].ip));
		json_object_set_new(e, "sdcName", jstr(gw->sdcs[s].name));
		json_object_set_new(e, "limitIops", json_integer(0));
		json_object_set_new(e, "limitBwInMbps", json_integer(0));
		json_array_append_new(m, e);
	}
	/* PowerFlex answers null, not [], for an unmapped volume */
	json_object_set_new(o, "mappedSdcInfo", m ? m : json_null());
	json_object_set_new(o, "links", links("Volume", v->id));
	return o;
}

static json_t *sdc_json(const struct sio_gw *gw, const struct sio_sdc *s)
{
	json_t *o = json_object(), *ips = json_array();

	json_object_set_new(o, "id", jstr(s->id));
	json_object_set_new(o, "name", jstr(s->name));
	json_object_set_new(o, "sdcGuid", jstr(s->guid));
	json_object_set_new(o, "sdcIp", jstr(s->ip));
	json_array_append_new(ips, jstr(s->ip));
	json_object_set_new(o, "sdcIps", ips);
	json_object_set_new(o, "systemId", jstr(gw->system_id));
	json_object_set_new(o, "mdmConnectionState", jstr("Connected"));
	json_object_set_new(o, "sdcApproved", json_true());
	json_object_set_new(o, "osType", jstr("Linux"));
	json_object_set_new(o, "perfProfile", jstr("HighPerformance"));
	json_object_set_new(o, "links", links("Sdc", s->id));
	return o;
}

static uint64_t provisioned_kb(const struct sio_gw *gw)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < gw->n_vols; i++)
		sum += gw->vols[i].size_kb;
	return sum;
}

/* Capacities follow PowerFlex's two-copy mesh mirroring: clients compute the usable
 * capacity as (maxCapacityInKb - spareCapacityInKb) / 2. */
static json_t *pool_stats_json(const struct sio_gw *gw)
{
	json_t *o = json_object();
	uint64_t used = provisioned_kb(gw), cap = gw->capacity_kb;
	char buf[32];

#define KV_NUMSTR(key, val)                                                       \
	do {                                                                      \
		snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)(val));          \
		json_object_set_new(o, key, jstr(buf));      \
	} while (0)
	KV_NUMSTR("maxCapacityInKb", 2 * cap);
	KV_NUMSTR("spareCapacityInKb", 0);
	KV_NUMSTR("netCapacityInUseInKb", used > cap ? cap : used);
	KV_NUMSTR("netUnusedCapacityInKb", used > cap ? 0 : cap - used);
	KV_NUMSTR("netProvisionedAddressesInKb", used);
#undef KV_NUMSTR
	json_object_set_new(o, "numOfVolumes", json_integer((int)gw->n_vols));
	return o;
}

static json_t *pool_json(const struct sio_gw *gw)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", jstr(gw->pool_id));
	json_object_set_new(o, "name", jstr("vecs-pool"));
	json_object_set_new(o, "mediaType", jstr("HDD"));
	json_object_set_new(o, "protectionDomainId", jstr(gw->pd_id));
	json_object_set_new(o, "systemId", jstr(gw->system_id));
	json_object_set_new(o, "persistentChecksumState", jstr("Protected"));
	json_object_set_new(o, "statistics", pool_stats_json(gw));
	json_object_set_new(o, "links", links("StoragePool", gw->pool_id));
	return o;
}

/* --- volume operations ------------------------------------------------------------- */

static void new_id(struct sio_gw *gw, char id[SIO_ID_LEN])
{
	/* The system's first 8 digits and a serial kept in the state file: never reused. */
	snprintf(id, SIO_ID_LEN, "%.8s%08" PRIx64, gw->system_id, gw->next_serial++ & 0xffffffffu);
}

static struct sio_volume *append_volume(struct sio_gw *gw)
{
	if (gw->n_vols == gw->cap_vols) {
		size_t nc = gw->cap_vols ? gw->cap_vols * 2 : 16;
		struct sio_volume *nv = realloc(gw->vols, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		gw->vols = nv;
		gw->cap_vols = nc;
	}
	memset(&gw->vols[gw->n_vols], 0, sizeof(gw->vols[0]));
	return &gw->vols[gw->n_vols++];
}

static struct sio_volume *find_by_name(struct sio_gw *gw, const char *name)
{
	for (size_t i = 0; i < gw->n_vols; i++)
		if (gw->vols[i].name[0] && strcmp(gw->vols[i].name, name) == 0)
			return &gw->vols[i];
	return NULL;
}

static int find_sdc(const struct sio_gw *gw, const char *id)
{
	for (int s = 0; s < gw->n_sdcs; s++)
		if (id && strcasecmp(gw->sdcs[s].id, id) == 0)
			return s;
	return -1;
}

static bool is_mapped(const struct sio_volume *v)
{
	for (int s = 0; s < SIO_MAX_SDCS; s++)
		if (v->mapped[s])
			return true;
	return false;
}

static int save(struct sio_gw *gw, struct sio_reply *r)
{
	struct vecs_err err = { 0 };

	if (gw->be->save(gw, &err) < 0) {
		reply_backend_error(r, &err);
		return -1;
	}
	return 0;
}

static void reply_ok_empty(struct sio_gw *gw, struct sio_reply *r)
{
	if (save(gw, r) == 0)
		reply_json(r, 200, json_object());
}

static void create_volume(struct sio_gw *gw, json_t *b, struct sio_reply *r)
{
	const char *name = body_str(b, "name"), *pool = body_str(b, "storagePoolId");
	const char *type = body_str(b, "volumeType");
	struct vecs_err err = { 0 };
	struct sio_volume *v;
	uint64_t kb = 0, gb;
	int rc;

	if (!name || !*name || strlen(name) >= SIO_NAME_MAX)
		return reply_error(r, 400, SIO_E_ILLEGAL_SYNTAX,
				   "Request is missing a valid volume name (1-%d characters)",
				   SIO_NAME_MAX - 1);
	/* PowerFlex documents volumeSizeInKb; CloudStack sends volumeSizeInGb. */
	rc = body_u64(b, "volumeSizeInKb", &kb);
	if (rc == -ENOENT && (rc = body_u64(b, "volumeSizeInGb", &gb)) == 0)
		kb = gb > (UINT64_MAX >> 20) ? 0 : gb << 20;
	if (rc < 0 || kb == 0 || sio_round_kb(gw, kb) == 0)
		return reply_error(r, 400, SIO_E_ILLEGAL_SYNTAX,
				   "Request needs a positive volumeSizeInKb (or volumeSizeInGb)");
	if (type && strcmp(type, "ThinProvisioned") != 0 && strcmp(type, "ThickProvisioned") != 0)
		return reply_error(r, 400, SIO_E_ILLEGAL_SYNTAX,
				   "volumeType must be ThinProvisioned or ThickProvisioned");
	if (!pool || strcmp(pool, gw->pool_id) != 0)
		return reply_error(r, 500, SIO_E_NOT_FOUND, "Could not find the Storage Pool %s",
				   pool ? pool : "(none given)");
	if (find_by_name(gw, name))
		return reply_error(r, 500, SIO_E_NAME_IN_USE, "Volume name %s already in use", name);
	if (!(v = append_volume(gw)))
		return reply_error(r, 500, SIO_E_INTERNAL, "out of memory");
	new_id(gw, v->id);
	memcpy(v->vtree, v->id, sizeof(v->vtree));
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->type = type && strcmp(type, "ThickProvisioned") == 0 ? SIO_THICK : SIO_THIN;
	v->size_kb = sio_round_kb(gw, kb);
	v->created = gw->now();
	if (gw->be->create(gw, v, &err) < 0) {
		gw->n_vols--;
		return reply_backend_error(r, &err);
	}
	if (save(gw, r) < 0)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "id", jstr(v->id));
	reply_json(r, 200, o);
}

static void snapshot_volumes(struct sio_gw *gw, json_t *b, struct sio_reply *r)
{
	json_t *defs, *ids, *o;
	struct vecs_err err = { 0 };
	char group[SIO_ID_LEN];
	size_t n;

	defs = json_object_get(b, "snapshotDefs");
	if (!json_is_array(defs) || !(n = json_array_size(defs)))
		return reply_error(r, 400, SIO_E_ILLEGAL_SYNTAX,
				   "Request needs a non-empty snapshotDefs list");
	/* Check every definition before the first copy, so a refusal changes nothing. */
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(defs, i);
		const char *vid = body_str(d, "volumeId"), *sn = body_str(d, "snapshotName");
		if (!vid || !sio_find_volume(gw, vid))
			return reply_error(r, 500, SIO_E_VOLUME_NOT_FOUND, "Could not find the volume %s",
					   vid ? vid : "(none given)");
		if (sn && *sn && (strlen(sn) >= SIO_NAME_MAX || find_by_name(gw, sn)))
			return reply_error(r, 500, SIO_E_NAME_IN_USE,
					   "Volume name %s already in use or too long", sn);
	}
	ids = json_array();
	new_id(gw, group);
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(defs, i);
		const char *sn = body_str(d, "snapshotName");
		struct sio_volume *dst, *src;
		char vid[SIO_ID_LEN];

		snprintf(vid, sizeof(vid), "%s", body_str(d, "volumeId"));
		if (!(dst = append_volume(gw))) {
			json_decref(ids);
			return reply_error(r, 500, SIO_E_INTERNAL, "out of memory");
		}
		src = sio_find_volume(gw, vid); /* after append: vols may have moved */
		new_id(gw, dst->id);
		snprintf(dst->name, sizeof(dst->name), "%s", sn ? sn : "");
		memcpy(dst->vtree, src->vtree, sizeof(dst->vtree));
		memcpy(dst->ancestor, src->id, sizeof(dst->ancestor));
		dst->type = SIO_SNAPSHOT;
		dst->size_kb = src->size_kb;
		dst->created = gw->now();
		if (gw->be->copy(gw, src, dst, &err) < 0) {
			gw->n_vols--;
			json_decref(ids);
			save(gw, r); /* keep the snapshots made so far */
			free(r->body);
			return reply_backend_error(r, &err);
		}
		json_array_append_new(ids, jstr(dst->id));
	}
	if (save(gw, r) < 0) {
		json_decref(ids);
		return;
	}
	o = json_object();
	json_object_set_new(o, "snapshotGroupId", jstr(group));
	json_object_set_new(o, "volumeIdList", ids);
	reply_json(r, 200, o);
}

static void volume_action(struct sio_gw *gw, struct sio_volume *v, const char *action,
			  json_t *b, struct sio_reply *r)
{
	struct vecs_err err = { 0 };

	if (strcmp(action, "setVolumeSize") == 0) {
		uint64_t gb, kb;
		if (body_u64(b, "sizeInGB", &gb) < 0 || gb == 0 || gb > (UINT64_MAX >> 21))
			return reply_error(r, 400, SIO_E_ILLEGAL_SYNTAX,
					   "Request needs a positive sizeInGB");
		kb = sio_round_kb(gw, gb << 20);
		if (kb < v->size_kb)
			return reply_error(r, 500, SIO_E_CANNOT_SHRINK,
					   "Volume capacity can only be increased");
		if (kb > v->size_kb && gw->be->resize(gw, v, kb, &err) < 0)
			return reply_backend_error(r, &err);
		v->size_kb = kb;
		return reply_ok_empty(gw, r);
	}
	if (strcmp(action, "addMappedSdc") == 0) {
		int s = find_sdc(gw, body_str(b, "sdcId"));
		if (s < 0)
			return reply_error(r, 500, SIO_E_NOT_FOUND, "Could not find the SDC %s",
					   body_str(b, "sdcId") ? body_str(b, "sdcId") : "(none given)");
		if (v->mapped[s])
			return reply_error(r, 500, SIO_E_ALREADY_MAPPED,
					   "The volume is already mapped to this SDC");
		if (is_mapped(v) && !body_bool(b, "allowMultipleMappings"))
			return reply_error(r, 500, SIO_E_ALREADY_MAPPED,
					   "The volume is already mapped to another SDC and "
					   "allowMultipleMappings is not TRUE");
		if (gw->be->map(gw, v, s, &err) < 0)
			return reply_backend_error(r, &err);
		v->mapped[s] = true;
		return reply_ok_empty(gw, r);
	}
	if (strcmp(action, "removeMappedSdc") == 0) {
		const char *sid = body_str(b, "sdcId");
		if (json_object_get(b, "allSdcs")) {
			for (int s = 0; s < gw->n_sdcs; s++) {
				if (!v->mapped[s])
					continue;
				if (gw->be->unmap(gw, v, s, &err) < 0)
					return reply_backend_error(r, &err);
				v->mapped[s] = false;
			}
			return reply_ok_empty(gw, r);
		}
		int s = find_sdc(gw, sid);
		if (s < 0)
			return reply_error(r, 500, SIO_E_NOT_FOUND, "Could not find the SDC %s",
					   sid ? sid : "(none given)");
		if (!v->mapped[s])
			return reply_error(r, 500, SIO_E_NOT_MAPPED,
					   "The volume is not mapped to the SDC");
		if (gw->be->unmap(gw, v, s, &err) < 0)
			return reply_backend_error(r, &err);
		v->mapped[s] = false;
		return reply_ok_empty(gw, r);
	}
	if (strcmp(action, "removeVolume") == 0) {
		const char *mode = body_str(b, "removeMode");
		if (!mode || strcmp(mode, "ONLY_ME") != 0)
			return reply_error(r, 400, SIO_E_ILLEGAL_SYNTAX,
					   "removeMode must be ONLY_ME (the only mode emulated)");
		if (is_mapped(v))
			return reply_error(r, 500, SIO_E_VOLUME_MAPPED,
					   "Volume is mapped to an SDC; unmap it before removing it");
		if (gw->be->remove(gw, v, &err) < 0)
			return reply_backend_error(r, &err);
		*v = gw->vols[--gw->n_vols];
		return reply_ok_empty(gw, r);
	}
	if (strcmp(action, "setVolumeName") == 0) {
		const char *nn = body_str(b, "newName");
		struct sio_volume *o;
		if (!nn || !*nn || strlen(nn) >= SIO_NAME_MAX)
			return reply_error(r, 400, SIO_E_ILLEGAL_SYNTAX, "Request needs a valid newName");
		if ((o = find_by_name(gw, nn)) && o != v)
			return reply_error(r, 500, SIO_E_NAME_IN_USE, "Volume name %s already in use", nn);
		snprintf(v->name, sizeof(v->name), "%s", nn);
		return reply_ok_empty(gw, r);
	}
	if (strcmp(action, "overwriteVolumeContent") == 0) {
		struct sio_volume *src = sio_find_volume(gw, body_str(b, "srcVolumeId") ?
								  body_str(b, "srcVolumeId") : "");
		if (!src)
			return reply_error(r, 500, SIO_E_VOLUME_NOT_FOUND,
					   "Could not find the source volume");
		if (strcmp(src->vtree, v->vtree) != 0)
			return reply_error(r, 500, SIO_E_ILLEGAL_SYNTAX,
					   "Source and destination volumes are not in the same VTree");
		if (src != v && gw->be->overwrite(gw, src, v, &err) < 0)
			return reply_backend_error(r, &err);
		return reply_ok_empty(gw, r);
	}
	reply_error(r, 404, SIO_E_ILLEGAL_SYNTAX, "Unknown Volume action %s", action);
}

/* --- fault hooks ------------------------------------------------------------------- */

static void faults_action(struct sio_gw *gw, json_t *b, struct sio_reply *r)
{
	uint64_t n;
	const char *vid = body_str(b, "unmapVolumeId");
	struct vecs_err err = { 0 };

	if (body_u64(b, "failNext", &n) == 0)
		gw->faults.fail_next = (unsigned)n;
	if (body_u64(b, "delayNext", &n) == 0)
		gw->faults.delay_next = (unsigned)n;
	if (body_u64(b, "delayMs", &n) == 0)
		gw->faults.delay_ms = (unsigned)(n > 600000 ? 600000 : n);
	if (vid) {
		/* Behind the client's back: the SDC loses the device, the model says unmapped. */
		struct sio_volume *v = sio_find_volume(gw, vid);
		if (!v)
			return reply_error(r, 500, SIO_E_VOLUME_NOT_FOUND, "Could not find the volume %s",
					   vid);
		for (int s = 0; s < gw->n_sdcs; s++) {
			if (!v->mapped[s])
				continue;
			if (gw->be->unmap(gw, v, s, &err) < 0)
				return reply_backend_error(r, &err);
			v->mapped[s] = false;
		}
		if (save(gw, r) < 0)
			return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "failNext", json_integer(gw->faults.fail_next));
	json_object_set_new(o, "delayNext", json_integer(gw->faults.delay_next));
	json_object_set_new(o, "delayMs", json_integer(gw->faults.delay_ms));
	reply_json(r, 200, o);
}

/* --- routing ----------------------------------------------------------------------- */

/* "Type::id" after prefix; id copied into id (at most SIO_ID_LEN-1), rest points at what
 * follows (e.g. "/action/x" or ""). */
static bool match_instance(const char *path, const char *type, char id[SIO_ID_LEN],
			   const char **rest)
{
	size_t tl = strlen(type), n;
	const char *p;

	if (strncmp(path, "/api/instances/", 15) != 0)
		return false;
	p = path + 15;
	if (strncmp(p, type, tl) != 0 || strncmp(p + tl, "::", 2) != 0)
		return false;
	p += tl + 2;
	n = strcspn(p, "/");
	if (n == 0 || n >= SIO_ID_LEN)
		n = n ? SIO_ID_LEN : 0; /* too long: cannot exist, reported as not found */
	snprintf(id, SIO_ID_LEN, "%.*s", (int)(n < SIO_ID_LEN ? n : SIO_ID_LEN - 1), p);
	if (n >= SIO_ID_LEN)
		id[0] = '\0';
	*rest = p + strcspn(p, "/");
	return true;
}

static void dispatch(struct sio_gw *gw, bool get, const char *path, json_t *b,
		     struct sio_reply *r)
{
	char id[SIO_ID_LEN];
	const char *rest;

	if (get && strcmp(path, "/api/version") == 0)
		return reply_json(r, 200, jstr("3.6"));
	if (strcmp(path, "/api/types/Volume/instances") == 0) {
		if (!get)
			return create_volume(gw, b, r);
		json_t *a = json_array();
		for (size_t i = 0; i < gw->n_vols; i++)
			json_array_append_new(a, volume_json(gw, &gw->vols[i]));
		return reply_json(r, 200, a);
	}
	if (!get && strcmp(path, "/api/types/Volume/instances/action/queryIdByKey") == 0) {
		const char *name = body_str(b, "name");
		struct sio_volume *v;
		if (!name)
			return reply_error(r, 400, SIO_E_ILLEGAL_SYNTAX, "Request needs a name");
		if (!(v = find_by_name(gw, name)))
			return reply_error(r, 500, SIO_E_VOLUME_NOT_FOUND, "Could not find the volume");
		return reply_json(r, 200, jstr(v->id));
	}
	if (match_instance(path, "Volume", id, &rest)) {
		struct sio_volume *v = sio_find_volume(gw, id);
		if (!v)
			return reply_error(r, 500, SIO_E_VOLUME_NOT_FOUND, "Could not find the volume");
		if (get && !*rest)
			return reply_json(r, 200, volume_json(gw, v));
		if (!get && strncmp(rest, "/action/", 8) == 0)
			return volume_action(gw, v, rest + 8, b, r);
	}
	if (!get && (strcmp(path, "/api/instances/System/action/snapshotVolumes") == 0 ||
		     (match_instance(path, "System", id, &rest) &&
		      strcmp(id, gw->system_id) == 0 && strcmp(rest, "/action/snapshotVolumes") == 0)))
		return snapshot_volumes(gw, b, r);
	if (get && strcmp(path, "/api/types/System/instances") == 0) {
		json_t *a = json_array(), *o = json_object();
		json_object_set_new(o, "id", jstr(gw->system_id));
		json_object_set_new(o, "name", jstr("vecs-powerflex"));
		json_object_set_new(o, "systemVersionName", jstr("vecs emulated PowerFlex 3.6"));
		json_array_append_new(a, o);
		return reply_json(r, 200, a);
	}
	if (get && strcmp(path, "/api/types/StoragePool/instances") == 0) {
		json_t *a = json_array();
		json_array_append_new(a, pool_json(gw));
		return reply_json(r, 200, a);
	}
	if (get && match_instance(path, "StoragePool", id, &rest)) {
		if (strcmp(id, gw->pool_id) != 0)
			return reply_error(r, 500, SIO_E_NOT_FOUND, "Could not find the Storage Pool");
		if (!*rest)
			return reply_json(r, 200, pool_json(gw));
		if (strcmp(rest, "/relationships/Statistics") == 0)
			return reply_json(r, 200, pool_stats_json(gw));
		if (strcmp(rest, "/relationships/Volume") == 0) {
			json_t *a = json_array();
			for (size_t i = 0; i < gw->n_vols; i++)
				json_array_append_new(a, volume_json(gw, &gw->vols[i]));
			return reply_json(r, 200, a);
		}
	}
	if (get && match_instance(path, "ProtectionDomain", id, &rest) && !*rest) {
		if (strcmp(id, gw->pd_id) != 0)
			return reply_error(r, 500, SIO_E_NOT_FOUND, "Could not find the Protection Domain");
		json_t *o = json_object();
		json_object_set_new(o, "id", jstr(gw->pd_id));
		json_object_set_new(o, "name", jstr("vecs-pd"));
		json_object_set_new(o, "systemId", jstr(gw->system_id));
		json_object_set_new(o, "protectionDomainState", jstr("Active"));
		return reply_json(r, 200, o);
	}
	if (get && strcmp(path, "/api/types/Sdc/instances") == 0) {
		json_t *a = json_array();
		for (int s = 0; s < gw->n_sdcs; s++)
			json_array_append_new(a, sdc_json(gw, &gw->sdcs[s]));
		return reply_json(r, 200, a);
	}
	if (get && match_instance(path, "Sdc", id, &rest) && !*rest) {
		int s = find_sdc(gw, id);
		if (s < 0)
			return reply_error(r, 500, SIO_E_NOT_FOUND, "Could not find the SDC");
		return reply_json(r, 200, sdc_json(gw, &gw->sdcs[s]));
	}
	if (!get && strcmp(path, "/api/types/Sdc/instances/action/queryIdByKey") == 0) {
		const char *ip = body_str(b, "ip"), *name = body_str(b, "name");
		for (int s = 0; s < gw->n_sdcs; s++)
			if ((ip && strcmp(gw->sdcs[s].ip, ip) == 0) ||
			    (name && strcmp(gw->sdcs[s].name, name) == 0))
				return reply_json(r, 200, jstr(gw->sdcs[s].id));
		return reply_error(r, 500, SIO_E_NOT_FOUND, "Could not find the SDC");
	}
	if (!get && strcmp(path, "/api/vecs/faults") == 0)
		return faults_action(gw, b, r);
	reply_error(r, 404, SIO_E_ILLEGAL_SYNTAX, "No such resource or method: %s %s",
		    get ? "GET" : "POST", path);
}

void sio_handle(struct sio_gw *gw, const char *method, const char *path, const char *auth,
		const char *body, size_t body_len, struct sio_reply *r)
{
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	json_t *b = NULL;

	memset(r, 0, sizeof(*r));
	if (!get && !post)
		return reply_error(r, 405, SIO_E_ILLEGAL_SYNTAX, "Only GET and POST are supported");
	if (strcmp(path, "/api/login") == 0) {
		char token[SIO_TOKEN_LEN];
		if (!authorised(gw, auth, AUTH_PASSWORD))
			return reply_error(r, 401, SIO_E_ILLEGAL_SYNTAX, "Unauthorized");
		if (new_session(gw, token) < 0)
			return reply_error(r, 500, SIO_E_INTERNAL, "cannot draw a session token");
		reply_json(r, 200, jstr(token));
		explicit_bzero(token, sizeof(token));
		return;
	}
	if (!authorised(gw, auth, AUTH_TOKEN))
		return reply_error(r, 401, SIO_E_ILLEGAL_SYNTAX, "Unauthorized");
	if (strcmp(path, "/api/vecs/faults") != 0) {
		if (gw->faults.fail_next) {
			gw->faults.fail_next--;
			return reply_error(r, 500, SIO_E_INTERNAL,
					   "Injected failure (vecs fault hook failNext)");
		}
		if (gw->faults.delay_next) {
			gw->faults.delay_next--;
			r->delay_ms = gw->faults.delay_ms;
		}
	}
	if (post && body && body_len) {
		/* One object (RFC 8259, UTF-8, no NUL in strings), then only white space. */
		json_error_t jerr;
		size_t end;

		b = json_loadb(body, body_len, JSON_DISABLE_EOF_CHECK, &jerr);
		end = b ? (size_t)jerr.position : 0;
		while (end < body_len && strchr(" \t\r\n", body[end]))
			end++;
		if (!b || end != body_len || !json_is_object(b)) {
			json_decref(b);
			return reply_error(r, 400, SIO_E_ILLEGAL_SYNTAX,
					   "Request message is not a valid JSON object");
		}
	}
	dispatch(gw, get, path, b, r);
	json_decref(b);
}
