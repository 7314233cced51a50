/* The management server's PowerFlex client (mgmt/powerflex_client.c): its pure helpers
 * (URLs, sizes, error and id parsing, request bodies), the password file checks, and the
 * client end to end over HTTP against the emulated gateway's API (storage/scaleio.h,
 * sio_handle behind a libmicrohttpd front in this process, a backend that only counts):
 * login, create, map by host name or IP, resize, snapshot, unmap, remove, re-login
 * after a token expired. */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mgmt/powerflex_client.h"
#include "storage/scaleio.h"
#include "test_registry.h"

#define SYS "00112233445566ff"
#define PASSWORD "pf pass:word"

static void test_helpers(void)
{
	char u[128], id[32], msg[64];
	json_t *j;

	CU_ASSERT_EQUAL(pfx_url(u, sizeof(u), "http://127.0.0.1:9/api", "/api/login"), 0);
	CU_ASSERT_STRING_EQUAL(u, "http://127.0.0.1:9/api/login");
	CU_ASSERT_EQUAL(pfx_url(u, sizeof(u), "https://gw/", "/api/types/Sdc/instances"), 0);
	CU_ASSERT_STRING_EQUAL(u, "https://gw/api/types/Sdc/instances");
	CU_ASSERT_EQUAL(pfx_url(u, sizeof(u), "https://gw/api/", "/api/login"), 0);
	CU_ASSERT_STRING_EQUAL(u, "https://gw/api/login");
	CU_ASSERT_EQUAL(pfx_url(u, sizeof(u), "", "/api/login"), -EINVAL);
	CU_ASSERT_EQUAL(pfx_url(u, sizeof(u), "http://gw", "api"), -EINVAL);
	CU_ASSERT_EQUAL(pfx_url(u, 10, "http://gateway", "/api/login"), -ENAMETOOLONG);

	CU_ASSERT_EQUAL(pfx_size_kb(0), 1);
	CU_ASSERT_EQUAL(pfx_size_kb(1), 1);
	CU_ASSERT_EQUAL(pfx_size_kb(1024), 1);
	CU_ASSERT_EQUAL(pfx_size_kb(1025), 2);
	CU_ASSERT_EQUAL(pfx_size_gb(1), 1);
	CU_ASSERT_EQUAL(pfx_size_gb(1ULL << 30), 1);
	CU_ASSERT_EQUAL(pfx_size_gb((2ULL << 30) + PFX_LUKS_HEADER_BYTES), 3);

	CU_ASSERT_EQUAL(pfx_parse_error("{\"message\":\"nope\",\"httpStatusCode\":500,"
					"\"errorCode\":81}", msg, sizeof(msg)), 81);
	CU_ASSERT_STRING_EQUAL(msg, "nope");
	CU_ASSERT_EQUAL(pfx_parse_error("{\"errorCode\":\"84\"}", msg, sizeof(msg)), 84);
	CU_ASSERT_EQUAL(pfx_parse_error("<html>", msg, sizeof(msg)), 0);
	CU_ASSERT_STRING_EQUAL(msg, "");
	CU_ASSERT_EQUAL(pfx_parse_error(NULL, msg, sizeof(msg)), 0);

	j = json_string("abc123");
	CU_ASSERT_EQUAL(pfx_parse_id(j, id, sizeof(id)), 0);
	CU_ASSERT_STRING_EQUAL(id, "abc123");
	json_decref(j);
	j = json_pack("{s:s}", "id", "def");
	CU_ASSERT_EQUAL(pfx_parse_id(j, id, sizeof(id)), 0);
	CU_ASSERT_STRING_EQUAL(id, "def");
	json_decref(j);
	j = json_pack("{s:i}", "id", 5);
	CU_ASSERT_EQUAL(pfx_parse_id(j, id, sizeof(id)), -EPROTO);
	json_decref(j);
	CU_ASSERT_EQUAL(pfx_parse_id(NULL, id, sizeof(id)), -EPROTO);

	j = json_pack("[{s:s, s:s}, {s:s, s:s}]", "id", "p1", "name", "one", "id", "p2", "name",
		      "two");
	CU_ASSERT_EQUAL(pfx_pick_pool(j, "two", id, sizeof(id)), 0);
	CU_ASSERT_STRING_EQUAL(id, "p2");
	CU_ASSERT_EQUAL(pfx_pick_pool(j, "p1", id, sizeof(id)), 0);
	CU_ASSERT_STRING_EQUAL(id, "p1");
	CU_ASSERT_EQUAL(pfx_pick_pool(j, "pool1", id, sizeof(id)), -ENOENT);
	json_array_remove(j, 1);
	CU_ASSERT_EQUAL(pfx_pick_pool(j, "pool1", id, sizeof(id)), 0); /* the only pool */
	CU_ASSERT_STRING_EQUAL(id, "p1");
	json_decref(j);

	j = pfx_create_body("vol-1", (64ULL << 20) + 1, "pid");
	{
		char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		CU_ASSERT_STRING_EQUAL(s, "{\"name\":\"vol-1\",\"storagePoolId\":\"pid\","
					  "\"volumeSizeInKb\":\"65537\",\"volumeType\":"
					  "\"ThinProvisioned\"}");
		free(s);
	}
	json_decref(j);
}

static void test_password_file(void)
{
	char path[512];
	struct vecs_err err = { 0 };
	struct pfx *c = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pfx-open.pass", ref_test_tmpdir());
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(PASSWORD, f);
	fclose(f);
	chmod(path, 0644);
	CU_ASSERT_EQUAL(pfx_open(&c, path, &err), -EPERM);
	CU_ASSERT_PTR_NULL(strstr(err.msg, PASSWORD));
	chmod(path, 0600);
	CU_ASSERT_EQUAL(pfx_open(&c, path, &err), 0);
	pfx_close(c);
	unlink(path);
	CU_ASSERT_EQUAL(pfx_open(&c, path, &err), -ENOENT);
	pfx_close(NULL);
}

/* --- end to end against sio_handle over HTTP ----------------------------------------- */

static struct {
	int create, resize, remove, map, unmap, copy;
} cnt;

static int b_create(struct sio_gw *g, struct sio_volume *v, struct vecs_err *e)
{
	cnt.create++;
	return 0;
}
static int b_copy(struct sio_gw *g, const struct sio_volume *s, struct sio_volume *d,
		  struct vecs_err *e)
{
	cnt.copy++;
	return 0;
}
static int b_overwrite(struct sio_gw *g, const struct sio_volume *s, struct sio_volume *d,
		       struct vecs_err *e)
{
	return 0;
}
static int b_resize(struct sio_gw *g, struct sio_volume *v, uint64_t kb, struct vecs_err *e)
{
	cnt.resize++;
	return 0;
}
static int b_remove(struct sio_gw *g, struct sio_volume *v, struct vecs_err *e)
{
	cnt.remove++;
	return 0;
}
static int b_map(struct sio_gw *g, struct sio_volume *v, int s, struct vecs_err *e)
{
	cnt.map++;
	return 0;
}
static int b_unmap(struct sio_gw *g, struct sio_volume *v, int s, struct vecs_err *e)
{
	cnt.unmap++;
	return 0;
}
static int b_save(struct sio_gw *g, struct vecs_err *e)
{
	return 0;
}
static const struct sio_backend be = { b_create, b_copy,  b_overwrite, b_resize,
				       b_remove, b_map,   b_unmap,     b_save };

static struct sio_gw gw;
static pthread_mutex_t gw_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t now_s = 2000000;
static unsigned logins;
static char seen_auth[8][512]; /* Authorization headers seen (checked for the password) */
static unsigned n_seen;

static time_t fake_now(void)
{
	return now_s;
}

struct body {
	char *p;
	size_t n;
};

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *data_size, void **con_cls)
{
	struct body *b = *con_cls;
	struct sio_reply r;
	struct MHD_Response *resp;
	const char *auth;
	enum MHD_Result ret;

	if (!b) {
		*con_cls = calloc(1, sizeof(struct body));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		b->p = realloc(b->p, b->n + *data_size + 1);
		memcpy(b->p + b->n, data, *data_size);
		b->n += *data_size;
		b->p[b->n] = '\0';
		*data_size = 0;
		return MHD_YES;
	}
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	pthread_mutex_lock(&gw_lock);
	if (!strcmp(url, "/api/login"))
		logins++;
	if (auth)
		snprintf(seen_auth[n_seen++ % 8], sizeof(seen_auth[0]), "%s", auth);
	sio_handle(&gw, method, url, auth, b->p, b->n, &r);
	pthread_mutex_unlock(&gw_lock);
	resp = MHD_create_response_from_buffer(r.len, r.body, MHD_RESPMEM_MUST_FREE);
	ret = MHD_queue_response(conn, (unsigned)r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode t)
{
	struct body *b = *con_cls;

	if (b)
		free(b->p);
	free(b);
	*con_cls = NULL;
}

static void test_end_to_end(void)
{
	static unsigned char pw[] = PASSWORD;
	struct vecs_err err = { 0 };
	struct pool_record p = { 0 };
	struct host_record h1 = { 0 }, h2 = { 0 }, nobody = { 0 };
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;
	struct pfx *c = NULL;
	char path[512], id[64], snap[64];
	struct sio_volume *v;
	uint64_t kb = 0;
	FILE *f;

	sio_gw_init(&gw, SYS);
	gw.password = pw;
	gw.password_len = strlen(PASSWORD);
	gw.be = &be;
	gw.now = fake_now;
	gw.granularity_kb = 1024;
	CU_ASSERT_EQUAL_FATAL(sio_gw_add_sdc(&gw, "h1", "127.0.1.1", "/nonexistent/h1", &err), 0);
	CU_ASSERT_EQUAL_FATAL(sio_gw_add_sdc(&gw, "sdc-two", "10.9.0.2", "/nonexistent/h2", &err), 0);

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
			     handler, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			     MHD_OPTION_END);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(p.gateway_url, sizeof(p.gateway_url), "http://127.0.0.1:%u/api", di->port);
	snprintf(p.name, sizeof(p.name), "scaleio");
	snprintf(p.path, sizeof(p.path), "pool1"); /* not the gateway's name: its only pool */
	snprintf(h1.name, sizeof(h1.name), "h1");
	snprintf(h2.name, sizeof(h2.name), "h2"); /* found by IP */
	snprintf(h2.ip, sizeof(h2.ip), "10.9.0.2");
	snprintf(nobody.name, sizeof(nobody.name), "h9");

	snprintf(path, sizeof(path), "%s/pfx-e2e.pass", ref_test_tmpdir());
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(PASSWORD, f);
	fclose(f);
	chmod(path, 0600);
	CU_ASSERT_EQUAL_FATAL(pfx_open(&c, path, &err), 0);

	/* create: login once, the pool found, the volume rounded to the granularity */
	CU_ASSERT_EQUAL_FATAL(pfx_volume_create(c, &p, "vol-1-abc", 3ULL << 20, id, sizeof(id),
						&err), 0);
	CU_ASSERT_EQUAL(logins, 1);
	CU_ASSERT_EQUAL(cnt.create, 1);
	v = sio_find_volume(&gw, id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(v->size_kb, 3072);
	CU_ASSERT_STRING_EQUAL(v->name, "vol-1-abc");

	/* map by name, by IP, twice is fine; an unknown host is an error naming it */
	CU_ASSERT_EQUAL(pfx_volume_map(c, &p, id, &h1, &err), 0);
	CU_ASSERT_EQUAL(pfx_volume_map(c, &p, id, &h1, &err), 0);
	CU_ASSERT_EQUAL(pfx_volume_map(c, &p, id, &h2, &err), 0);
	CU_ASSERT_EQUAL(cnt.map, 2);
	v = sio_find_volume(&gw, id);
	CU_ASSERT_TRUE(v->mapped[0] && v->mapped[1]);
	CU_ASSERT_EQUAL(pfx_volume_map(c, &p, id, &nobody, &err), -ENODEV);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "h9"));

	/* resize: whole GiB; no call when already big enough */
	CU_ASSERT_EQUAL(pfx_volume_resize(c, &p, id, (1ULL << 30) + 1, &kb, &err), 0);
	CU_ASSERT_EQUAL(kb, 2ULL << 20);
	CU_ASSERT_EQUAL(sio_find_volume(&gw, id)->size_kb, 2ULL << 20);
	CU_ASSERT_EQUAL(pfx_volume_resize(c, &p, id, 1ULL << 30, &kb, &err), 0);
	CU_ASSERT_EQUAL(cnt.resize, 1);

	/* the token expires: one new login, the request succeeds */
	now_s += gw.token_ttl + 1;
	CU_ASSERT_EQUAL(pfx_volume_snapshot(c, &p, id, "snap-1", snap, sizeof(snap), &err), 0);
	CU_ASSERT_EQUAL(logins, 2);
	CU_ASSERT_EQUAL(cnt.copy, 1);
	CU_ASSERT_PTR_NOT_NULL(sio_find_volume(&gw, snap));

	/* unmap one, again (not mapped: fine), then remove (unmaps the rest) */
	CU_ASSERT_EQUAL(pfx_volume_unmap(c, &p, id, &h2, &err), 0);
	CU_ASSERT_EQUAL(pfx_volume_unmap(c, &p, id, &h2, &err), 0);
	CU_ASSERT_EQUAL(cnt.unmap, 1);
	CU_ASSERT_EQUAL(pfx_volume_remove(c, &p, id, &err), 0);
	CU_ASSERT_EQUAL(cnt.unmap, 2);
	CU_ASSERT_PTR_NULL(sio_find_volume(&gw, id));
	CU_ASSERT_EQUAL(pfx_volume_remove(c, &p, id, &err), 0); /* already gone */
	CU_ASSERT_EQUAL(pfx_volume_remove(c, &p, snap, &err), 0);

	/* the password went only as the login's Basic credentials: never in a message */
	CU_ASSERT_EQUAL(pfx_volume_map(c, &p, "ffffffffffffffff", &h1, &err), -EIO);
	CU_ASSERT_PTR_NULL(strstr(err.msg, PASSWORD));
	CU_ASSERT_TRUE(n_seen > 2);

	pfx_close(c);
	/* a wrong password: refused, and the message says so without the password */
	f = fopen(path, "w");
	fputs("wrong", f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(pfx_open(&c, path, &err), 0);
	CU_ASSERT_EQUAL(pfx_volume_create(c, &p, "x", 1, id, sizeof(id), &err), -EACCES);
	CU_ASSERT_PTR_NULL(strstr(err.msg, "wrong"));
	pfx_close(c);
	/* no credentials at all */
	CU_ASSERT_EQUAL(pfx_volume_create(NULL, &p, "x", 1, id, sizeof(id), &err), -EACCES);
	unlink(path);
	MHD_stop_daemon(d);
	sio_gw_free(&gw);
}

static CU_TestInfo tests[] = {
	{ "URLs, sizes, errors, ids, pools, bodies", test_helpers },
	{ "password file: private, present", test_password_file },
	{ "end to end against the emulated gateway API", test_end_to_end },
	CU_TEST_INFO_NULL,
};

REF_SUITE(mgmt_powerflex, "mgmt: PowerFlex gateway client", tests)
