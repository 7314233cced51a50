/* The emulated PowerFlex gateway's API and model (storage/scaleio.h), driven through
 * sio_handle with a backend that only counts calls and can be told to fail: request
 * parsing, sessions, reply shapes, PowerFlex error objects, refusals that change
 * nothing, and the state file. The real backend (loop devices) is covered by
 * harness/tests/integration/t-scaleio.sh. */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/scaleio.h"
#include "test_registry.h"

#define SYS "0123456789abcdef"
#define PASSWORD "pa:ss word"

static struct fake {
	int create, copy, resize, remove, map, unmap, save;
	int fail_create;
} fk;

static int f_create(struct sio_gw *gw, struct sio_volume *v, struct vecs_err *err)
{
	fk.create++;
	if (fk.fail_create)
		return vecs_err_set(err, -ENOSPC, "no space for volume %s", v->id);
	snprintf(v->loop, sizeof(v->loop), "/dev/loop%d", fk.create);
	return 0;
}
static int f_copy(struct sio_gw *gw, const struct sio_volume *s, struct sio_volume *d,
		  struct vecs_err *err)
{
	fk.copy++;
	return 0;
}
static int f_overwrite(struct sio_gw *gw, const struct sio_volume *s, struct sio_volume *d,
		       struct vecs_err *err)
{
	return 0;
}
static int f_resize(struct sio_gw *gw, struct sio_volume *v, uint64_t kb, struct vecs_err *err)
{
	fk.resize++;
	return 0;
}
static int f_remove(struct sio_gw *gw, struct sio_volume *v, struct vecs_err *err)
{
	fk.remove++;
	return 0;
}
static int f_map(struct sio_gw *gw, struct sio_volume *v, int s, struct vecs_err *err)
{
	fk.map++;
	return 0;
}
static int f_unmap(struct sio_gw *gw, struct sio_volume *v, int s, struct vecs_err *err)
{
	fk.unmap++;
	return 0;
}
static int f_save(struct sio_gw *gw, struct vecs_err *err)
{
	fk.save++;
	return 0;
}
static const struct sio_backend fake_be = { f_create, f_copy,  f_overwrite, f_resize,
					    f_remove, f_map, f_unmap, f_save };

static time_t fake_time = 1000000;
static time_t fake_now(void)
{
	return fake_time;
}

static struct sio_gw gw;
static char auth[256];    /* "Basic ..." with the current token */
static json_t *last;      /* parsed body of the last reply */
static int last_status;

static void b64(const char *in, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = t[(v >> 18) & 63];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

static void basic(char *out, const char *user, const char *pass)
{
	char up[200];

	snprintf(up, sizeof(up), "%s:%s", user, pass);
	strcpy(out, "Basic ");
	b64(up, out + 6);
}

static int req_auth(const char *method, const char *path, const char *a, const char *body)
{
	struct sio_reply r;

	json_decref(last);
	sio_handle(&gw, method, path, a, body, body ? strlen(body) : 0, &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.body);
	last = json_loads(r.body, JSON_DECODE_ANY, NULL);
	CU_ASSERT_PTR_NOT_NULL(last); /* every reply is JSON */
	free(r.body);
	return last_status = r.status;
}

static int req(const char *method, const char *path, const char *body)
{
	return req_auth(method, path, auth, body);
}

static const char *field(const char *key)
{
	return json_string_value(json_object_get(last, key));
}

static int64_t ifield(const char *key)
{
	json_t *v = json_object_get(last, key);

	if (!v)
		return -1;
	return json_integer_value(v);
}

/* The reply is PowerFlex's error object with this status and code. */
static void assert_error(int status, int code)
{
	CU_ASSERT_EQUAL(last_status, status);
	CU_ASSERT_EQUAL(ifield("httpStatusCode"), status);
	CU_ASSERT_EQUAL(ifield("errorCode"), code);
	CU_ASSERT_PTR_NOT_NULL(field("message"));
}

static void setup(void)
{
	static unsigned char pw[] = PASSWORD;

	memset(&fk, 0, sizeof(fk));
	sio_gw_free(&gw);
	sio_gw_init(&gw, SYS);
	gw.password = pw;
	gw.password_len = strlen(PASSWORD);
	gw.be = &fake_be;
	gw.now = fake_now;
	gw.granularity_kb = 1024;
	CU_ASSERT_EQUAL(sio_gw_add_sdc(&gw, "h1", "127.0.1.1", "/tmp/h1", NULL), 0);
	CU_ASSERT_EQUAL(sio_gw_add_sdc(&gw, "h2", "127.0.1.2", "/tmp/h2", NULL), 0);
	basic(auth, "admin", PASSWORD);
	CU_ASSERT_EQUAL_FATAL(req("GET", "/api/login", NULL), 200);
	CU_ASSERT_EQUAL(strlen(json_string_value(last)), 32);
	basic(auth, "admin", json_string_value(last));
}

static char *create(const char *name, const char *kb)
{
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"name\":\"%s\",\"volumeSizeInKb\":\"%s\",\"storagePoolId\":\"%s\","
		 "\"volumeType\":\"ThinProvisioned\"}",
		 name, kb, gw.pool_id);
	if (req("POST", "/api/types/Volume/instances", body) != 200)
		return NULL;
	return strdup(field("id"));
}

static int action(const char *id, const char *act, const char *body)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/instances/Volume::%s/action/%s", id, act);
	return req("POST", path, body);
}

/* --- tests ------------------------------------------------------------------------- */

static void test_basic_auth_decode(void)
{
	char user[32], pass[32], h[128];
	size_t pl;

	basic(h, "admin", "a:b");
	CU_ASSERT_EQUAL(sio_basic_auth_decode(h, user, sizeof(user), pass, sizeof(pass), &pl), 0);
	CU_ASSERT_STRING_EQUAL(user, "admin");
	CU_ASSERT_EQUAL(pl, 3);
	CU_ASSERT_STRING_EQUAL(pass, "a:b"); /* only the first colon separates */
	CU_ASSERT_EQUAL(sio_basic_auth_decode("Basic YWRtaW46", user, 32, pass, 32, &pl), 0);
	CU_ASSERT_EQUAL(pl, 0);
	CU_ASSERT_EQUAL(sio_basic_auth_decode("Basic YWRtaW4=", user, 32, pass, 32, &pl), -EINVAL);
	CU_ASSERT_EQUAL(sio_basic_auth_decode("Bearer YWRtaW46eA==", user, 32, pass, 32, &pl), -EINVAL);
	CU_ASSERT_EQUAL(sio_basic_auth_decode("Basic YW*taW46eA==", user, 32, pass, 32, &pl), -EINVAL);
	CU_ASSERT_EQUAL(sio_basic_auth_decode(NULL, user, 32, pass, 32, &pl), -EINVAL);
	basic(h, "admin", "0123456789012345678901234567890123456789");
	CU_ASSERT_EQUAL(sio_basic_auth_decode(h, user, 32, pass, 32, &pl), -EINVAL); /* too long */
}

static void test_rounding(void)
{
	struct sio_gw g;

	sio_gw_init(&g, SYS);
	CU_ASSERT_EQUAL(sio_round_kb(&g, 1), 8ull << 20);
	CU_ASSERT_EQUAL(sio_round_kb(&g, 8ull << 20), 8ull << 20);
	CU_ASSERT_EQUAL(sio_round_kb(&g, (8ull << 20) + 1), 16ull << 20);
	CU_ASSERT_EQUAL(sio_round_kb(&g, UINT64_MAX - 3), 0);
	g.granularity_kb = 1024;
	CU_ASSERT_EQUAL(sio_round_kb(&g, 1500), 2048);
}

static void test_sessions(void)
{
	char bad[256];

	setup();
	CU_ASSERT_EQUAL(req("GET", "/api/version", NULL), 200);
	CU_ASSERT_STRING_EQUAL(json_string_value(last), "3.6");
	basic(bad, "admin", "wrong");
	CU_ASSERT_EQUAL(req_auth("GET", "/api/login", bad, NULL), 401);
	assert_error(401, 0);
	basic(bad, "admin", PASSWORD "x");
	CU_ASSERT_EQUAL(req_auth("GET", "/api/login", bad, NULL), 401);
	basic(bad, "other", PASSWORD);
	CU_ASSERT_EQUAL(req_auth("GET", "/api/login", bad, NULL), 401);
	/* the password is not a token */
	basic(bad, "admin", PASSWORD);
	CU_ASSERT_EQUAL(req_auth("GET", "/api/version", bad, NULL), 401);
	CU_ASSERT_EQUAL(req_auth("GET", "/api/version", NULL, NULL), 401);
	/* idle timeout: each use restarts it */
	fake_time += gw.token_ttl - 1;
	CU_ASSERT_EQUAL(req("GET", "/api/version", NULL), 200);
	fake_time += gw.token_ttl - 1;
	CU_ASSERT_EQUAL(req("GET", "/api/version", NULL), 200);
	fake_time += gw.token_ttl;
	CU_ASSERT_EQUAL(req("GET", "/api/version", NULL), 401);
	assert_error(401, 0);
	CU_ASSERT_EQUAL(req("DELETE", "/api/version", NULL), 405);
}

static void test_create_and_get(void)
{
	char *id, path[128], body[256];

	setup();
	id = create("vol-1", "1500");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	CU_ASSERT_EQUAL(strlen(id), 16);
	CU_ASSERT_EQUAL(fk.create, 1);
	CU_ASSERT(fk.save >= 1);
	snprintf(path, sizeof(path), "/api/instances/Volume::%s", id);
	CU_ASSERT_EQUAL(req("GET", path, NULL), 200);
	CU_ASSERT_STRING_EQUAL(field("id"), id);
	CU_ASSERT_STRING_EQUAL(field("name"), "vol-1");
	CU_ASSERT_EQUAL(ifield("sizeInKb"), 2048);
	CU_ASSERT_STRING_EQUAL(field("volumeType"), "ThinProvisioned");
	CU_ASSERT_STRING_EQUAL(field("vtreeId"), id);
	CU_ASSERT_STRING_EQUAL(field("storagePoolId"), gw.pool_id);
	CU_ASSERT_PTR_NULL(field("mappedSdcInfo"));
	CU_ASSERT_PTR_NULL(field("ancestorVolumeId"));
	/* CloudStack's shape: volumeSizeInGb as a string; numbers work too */
	snprintf(body, sizeof(body), "{\"name\":\"vol-2\",\"volumeSizeInGb\":\"1\",\"storagePoolId\":\"%s\"}",
		 gw.pool_id);
	CU_ASSERT_EQUAL(req("POST", "/api/types/Volume/instances", body), 200);
	snprintf(body, sizeof(body), "{\"name\":\"vol-3\",\"volumeSizeInKb\":1,\"storagePoolId\":\"%s\"}",
		 gw.pool_id);
	CU_ASSERT_EQUAL(req("POST", "/api/types/Volume/instances", body), 200);
	CU_ASSERT_EQUAL(req("GET", "/api/types/Volume/instances", NULL), 200);
	CU_ASSERT_EQUAL(json_array_size(last), 3);
	CU_ASSERT_EQUAL(req("POST", "/api/types/Volume/instances/action/queryIdByKey",
			    "{\"name\":\"vol-1\"}"), 200);
	CU_ASSERT_STRING_EQUAL(json_string_value(last), id);
	free(id);
}

static void test_refusals_change_nothing(void)
{
	char body[256];
	const char *bad[] = {
		"{\"name\":\"x\",",                        /* truncated */
		"{\"name\":\"x\"} trailing",               /* garbage after the object */
		"[1,2]",                                   /* not an object */
		"{\"name\":\"x\",\"volumeSizeInKb\":\"-1\"}",
		"{\"name\":\"x\",\"volumeSizeInKb\":\"12abc\"}",
		"{\"name\":\"\",\"volumeSizeInKb\":\"8\"}",
	};
	char *id;

	setup();
	id = create("vol-1", "1024");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(req("POST", "/api/types/Volume/instances", bad[i]), 400);
		assert_error(400, SIO_E_ILLEGAL_SYNTAX);
	}
	snprintf(body, sizeof(body), "{\"name\":\"vol-1\",\"volumeSizeInKb\":\"8\",\"storagePoolId\":\"%s\"}",
		 gw.pool_id);
	CU_ASSERT_EQUAL(req("POST", "/api/types/Volume/instances", body), 500);
	assert_error(500, SIO_E_NAME_IN_USE);
	CU_ASSERT_EQUAL(req("POST", "/api/types/Volume/instances",
			    "{\"name\":\"v9\",\"volumeSizeInKb\":\"8\",\"storagePoolId\":\"nope\"}"), 500);
	assert_error(500, SIO_E_NOT_FOUND);
	/* a backend failure is a 500 and leaves no volume behind */
	fk.fail_create = 1;
	snprintf(body, sizeof(body), "{\"name\":\"vol-2\",\"volumeSizeInKb\":\"8\",\"storagePoolId\":\"%s\"}",
		 gw.pool_id);
	CU_ASSERT_EQUAL(req("POST", "/api/types/Volume/instances", body), 500);
	CU_ASSERT_PTR_NOT_NULL(strstr(field("message"), "no space"));
	CU_ASSERT_EQUAL(gw.n_vols, 1);
	CU_ASSERT_EQUAL(req("GET", "/api/instances/Volume::ffffffffffffffff", NULL), 500);
	assert_error(500, SIO_E_VOLUME_NOT_FOUND);
	CU_ASSERT_EQUAL(req("GET", "/api/instances/Volume::ffffffffffffffffffffffff", NULL), 500);
	assert_error(500, SIO_E_VOLUME_NOT_FOUND);
	/* snapshot definitions are all checked first: one unknown volume, no copy */
	snprintf(body, sizeof(body),
		 "{\"snapshotDefs\":[{\"volumeId\":\"%s\"},{\"volumeId\":\"0000000000000000\"}]}", id);
	CU_ASSERT_EQUAL(req("POST", "/api/instances/System/action/snapshotVolumes", body), 500);
	assert_error(500, SIO_E_VOLUME_NOT_FOUND);
	CU_ASSERT_EQUAL(fk.copy, 0);
	CU_ASSERT_EQUAL(gw.n_vols, 1);
	CU_ASSERT_EQUAL(req("GET", "/api/nothing", NULL), 404);
	free(id);
}

static void test_map_unmap_remove_resize(void)
{
	char body[128];
	const char *h1 = gw.sdcs[0].id;
	char *id;

	setup();
	h1 = gw.sdcs[0].id;
	id = create("vol-1", "1024");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	snprintf(body, sizeof(body), "{\"sdcId\":\"%s\",\"allowMultipleMappings\":\"TRUE\"}", h1);
	CU_ASSERT_EQUAL(action(id, "removeMappedSdc", body), 500);
	assert_error(500, SIO_E_NOT_MAPPED);
	CU_ASSERT_EQUAL(action(id, "addMappedSdc", body), 200);
	CU_ASSERT_EQUAL(fk.map, 1);
	CU_ASSERT_EQUAL(action(id, "addMappedSdc", body), 500);
	assert_error(500, SIO_E_ALREADY_MAPPED);
	snprintf(body, sizeof(body), "{\"sdcId\":\"%s\"}", gw.sdcs[1].id);
	CU_ASSERT_EQUAL(action(id, "addMappedSdc", body), 500); /* no allowMultipleMappings */
	assert_error(500, SIO_E_ALREADY_MAPPED);
	snprintf(body, sizeof(body), "{\"sdcId\":\"%s\",\"allowMultipleMappings\":true}",
		 gw.sdcs[1].id);
	CU_ASSERT_EQUAL(action(id, "addMappedSdc", body), 200);
	CU_ASSERT_EQUAL(fk.map, 2);
	char path[96];
	snprintf(path, sizeof(path), "/api/instances/Volume::%s", id);
	CU_ASSERT_EQUAL(req("GET", path, NULL), 200);
	{
		json_t *m = json_object_get(last, "mappedSdcInfo");
		CU_ASSERT_FATAL(m != NULL);
		CU_ASSERT_EQUAL(json_array_size(m), 2);
	}
	CU_ASSERT_EQUAL(action(id, "removeVolume", "{\"removeMode\":\"ONLY_ME\"}"), 500);
	assert_error(500, SIO_E_VOLUME_MAPPED);
	CU_ASSERT_EQUAL(fk.remove, 0);
	CU_ASSERT_EQUAL(action(id, "setVolumeSize", "{\"sizeInGB\":\"2\"}"), 200);
	CU_ASSERT_EQUAL(gw.vols[0].size_kb, 2ull << 20);
	CU_ASSERT_EQUAL(action(id, "setVolumeSize", "{\"sizeInGB\":1}"), 500);
	assert_error(500, SIO_E_CANNOT_SHRINK);
	CU_ASSERT_EQUAL(gw.vols[0].size_kb, 2ull << 20);
	CU_ASSERT_EQUAL(fk.resize, 1);
	CU_ASSERT_EQUAL(action(id, "setVolumeSize", "{}"), 400);
	CU_ASSERT_EQUAL(action(id, "removeMappedSdc", "{\"allSdcs\":\"\"}"), 200);
	CU_ASSERT_EQUAL(fk.unmap, 2);
	CU_ASSERT_EQUAL(action(id, "removeVolume", "{\"removeMode\":\"INCLUDING_DESCENDANTS\"}"), 400);
	CU_ASSERT_EQUAL(action(id, "removeVolume", "{\"removeMode\":\"ONLY_ME\"}"), 200);
	CU_ASSERT_EQUAL(fk.remove, 1);
	CU_ASSERT_EQUAL(gw.n_vols, 0);
	free(id);
}

static void test_snapshot_and_faults(void)
{
	char body[256];
	char *id;

	setup();
	id = create("vol-1", "1024");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	snprintf(body, sizeof(body),
		 "{\"snapshotDefs\":[{\"volumeId\":\"%s\",\"snapshotName\":\"s1\"},{\"volumeId\":\"%s\"}]}",
		 id, id);
	CU_ASSERT_EQUAL(req("POST", "/api/instances/System/action/snapshotVolumes", body), 200);
	CU_ASSERT_PTR_NOT_NULL(field("snapshotGroupId"));
	CU_ASSERT_EQUAL(fk.copy, 2);
	CU_ASSERT_EQUAL(gw.n_vols, 3);
	CU_ASSERT_EQUAL(gw.vols[1].type, SIO_SNAPSHOT);
	CU_ASSERT_STRING_EQUAL(gw.vols[1].ancestor, id);
	CU_ASSERT_STRING_EQUAL(gw.vols[1].vtree, id);
	CU_ASSERT_STRING_EQUAL(gw.vols[1].name, "s1");
	CU_ASSERT_STRING_EQUAL(gw.vols[2].name, "");
	/* failNext: exactly N failures, then service again */
	CU_ASSERT_EQUAL(req("POST", "/api/vecs/faults", "{\"failNext\":2}"), 200);
	CU_ASSERT_EQUAL(req("GET", "/api/version", NULL), 500);
	CU_ASSERT_EQUAL(req("GET", "/api/version", NULL), 500);
	CU_ASSERT_EQUAL(req("GET", "/api/version", NULL), 200);
	free(id);
}

static void test_state_round_trip(void)
{
	struct sio_gw g2;
	char *json = NULL, *json2 = NULL, body[128];
	char *id;
	struct vecs_err err = { 0 };

	setup();
	id = create("vol-1", "1024");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	snprintf(body, sizeof(body), "{\"sdcId\":\"%s\"}", gw.sdcs[1].id);
	CU_ASSERT_EQUAL(action(id, "addMappedSdc", body), 200);
	CU_ASSERT_EQUAL(sio_state_to_json(&gw, &json, &err), 0);

	sio_gw_init(&g2, SYS);
	CU_ASSERT_EQUAL(sio_gw_add_sdc(&g2, "h1", "127.0.1.1", "/tmp/h1", NULL), 0);
	CU_ASSERT_EQUAL(sio_gw_add_sdc(&g2, "h2", "127.0.1.2", "/tmp/h2", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sio_state_from_json(&g2, json, &err), 0);
	CU_ASSERT_EQUAL(g2.n_vols, 1);
	CU_ASSERT_STRING_EQUAL(g2.vols[0].id, id);
	CU_ASSERT_EQUAL(g2.vols[0].size_kb, 1024);
	CU_ASSERT(g2.vols[0].mapped[1] && !g2.vols[0].mapped[0]);
	CU_ASSERT_EQUAL(g2.next_serial, gw.next_serial); /* ids are never reused */
	CU_ASSERT_STRING_EQUAL(g2.sdcs[1].id, gw.sdcs[1].id); /* SDC ids are stable */
	CU_ASSERT_EQUAL(sio_state_to_json(&g2, &json2, &err), 0);
	CU_ASSERT_STRING_EQUAL(json, json2);
	sio_gw_free(&g2);

	/* h2 no longer configured: the mapping is dropped, the volume kept */
	sio_gw_init(&g2, SYS);
	CU_ASSERT_EQUAL(sio_gw_add_sdc(&g2, "h1", "127.0.1.1", "/tmp/h1", NULL), 0);
	CU_ASSERT_EQUAL(sio_state_from_json(&g2, json, &err), 0);
	CU_ASSERT_EQUAL(g2.n_vols, 1);
	CU_ASSERT(!g2.vols[0].mapped[0] && !g2.vols[0].mapped[1]);
	sio_gw_free(&g2);

	/* another system's state, or damaged state, is refused */
	sio_gw_init(&g2, "fedcba9876543210");
	CU_ASSERT_EQUAL(sio_state_from_json(&g2, json, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "another data dir"));
	sio_gw_free(&g2);
	sio_gw_init(&g2, SYS);
	CU_ASSERT_EQUAL(sio_state_from_json(&g2, "{\"systemId\":\"" SYS "\",\"volumes\":[{\"id\":1}]}",
					    &err), -EINVAL);
	CU_ASSERT_EQUAL(sio_state_from_json(&g2, "not json", &err), -EINVAL);
	sio_gw_free(&g2);
	free(json);
	free(json2);
	free(id);
}

static void test_sdc_names(void)
{
	struct sio_gw g;

	sio_gw_init(&g, SYS);
	CU_ASSERT_EQUAL(sio_gw_add_sdc(&g, "h-1.a_b", "127.0.0.1", "/x", NULL), 0);
	CU_ASSERT_EQUAL(sio_gw_add_sdc(&g, "h-1.a_b", "127.0.0.1", "/x", NULL), -EEXIST);
	CU_ASSERT_EQUAL(sio_gw_add_sdc(&g, "bad/name", "127.0.0.1", "/x", NULL), -EINVAL);
	CU_ASSERT_EQUAL(sio_gw_add_sdc(&g, "", "127.0.0.1", "/x", NULL), -EINVAL);
	CU_ASSERT_EQUAL(strlen(g.sdcs[0].guid), 36);
	sio_gw_free(&g);
}

static void cleanup_all(void)
{
	json_decref(last);
	last = NULL;
	sio_gw_free(&gw);
}

static void test_zz_cleanup(void)
{
	cleanup_all();
}

static CU_TestInfo tests[] = {
	{ "basic auth decoding", test_basic_auth_decode },
	{ "sizes round up to the granularity", test_rounding },
	{ "login, tokens, idle expiry", test_sessions },
	{ "create and get volumes", test_create_and_get },
	{ "refusals are PowerFlex errors and change nothing", test_refusals_change_nothing },
	{ "map, unmap, remove, resize", test_map_unmap_remove_resize },
	{ "snapshots and fault hooks", test_snapshot_and_faults },
	{ "state file round trip", test_state_round_trip },
	{ "SDC names and ids", test_sdc_names },
	{ "cleanup", test_zz_cleanup },
	CU_TEST_INFO_NULL,
};

REF_SUITE(scaleio_api, "scaleio_api", tests)
