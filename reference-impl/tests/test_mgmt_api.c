/* The API through api_handle (everything but HTTP): authentication outcomes, the
 * CloudStack response shapes, parameter refusals, async jobs, and the schema
 * migration that added the API tables. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db/db_backend.h"
#include "db/host_dao.h"
#include "db/offering_dao.h"
#include "db/schema.h"
#include "db/user_dao.h"
#include "mgmt/api.h"
#include "mgmt/api_sign.h"
#include "mgmt/bootstrap.h"
#include "mgmt/jobs.h"
#include "test_helpers.h"
#include "test_registry.h"

static struct mgmt M;
static char api_key[MGMT_KEY_LEN + 1], secret_key[MGMT_KEY_LEN + 1];
static time_t fake_now;
static FILE *devnull;

static time_t clock_fake(void)
{
	return fake_now;
}

static int suite_init(void)
{
	struct vecs_err err = { 0 };
	char path[PATH_MAX], creds[PATH_MAX], line[256];
	struct zone_record z;
	struct host_record *h;
	struct db *db;
	bool created;
	FILE *f;

	snprintf(path, sizeof(path), "%s/mgmt-api.sqlite", ref_test_tmpdir());
	snprintf(creds, sizeof(creds), "%s/mgmt-creds", ref_test_tmpdir());
	pthread_mutex_init(&M.log_lock, NULL);
	devnull = fopen("/dev/null", "w");
	M.log = devnull;
	M.now = clock_fake;
	fake_now = 1795687200; /* 2026-11-26T10:00:00Z */
	if (db_encryptor_init(&M.enc, TEST_DB_SECRET, strlen(TEST_DB_SECRET), DB_ENCRYPTOR_V2,
			      &err) < 0 ||
	    db_pool_open(&M.pool, "sqlite", path, 3, &err) < 0 ||
	    jobs_start(&M.jobs, &M, 2, &err) < 0) {
		fprintf(stderr, "mgmt suite: %s\n", err.msg);
		return 1;
	}
	db = db_pool_get(M.pool);
	h = calloc(1, sizeof(*h));
	if (zone_ensure(db, "zone-a", &z, &err) < 0 ||
	    mgmt_bootstrap_admin(db, &M.enc, creds, &created, &err) < 0 || !created || !h) {
		fprintf(stderr, "mgmt suite: %s\n", err.msg);
		db_pool_put(M.pool, db);
		free(h);
		return 1;
	}
	h->zone_id = z.id;
	snprintf(h->name, sizeof(h->name), "kvm-enc");
	h->n_details = 2;
	snprintf(h->details[0].name, sizeof(h->details[0].name), HOST_DETAIL_VOLUME_ENCRYPTION);
	snprintf(h->details[0].value, sizeof(h->details[0].value), "TRUE");
	snprintf(h->details[1].name, sizeof(h->details[1].name), "cpu.sockets");
	snprintf(h->details[1].value, sizeof(h->details[1].value), "2");
	host_register(db, h, &err);
	memset(h, 0, sizeof(*h));
	h->zone_id = z.id;
	snprintf(h->name, sizeof(h->name), "kvm-plain");
	host_register(db, h, &err);
	free(h);
	db_pool_put(M.pool, db);
	f = fopen(creds, "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "api_key=", 8) == 0)
			snprintf(api_key, sizeof(api_key), "%.86s", line + 8);
		if (strncmp(line, "secret_key=", 11) == 0)
			snprintf(secret_key, sizeof(secret_key), "%.86s", line + 11);
	}
	fclose(f);
	return api_key[0] && secret_key[0] ? 0 : 1;
}

static int suite_clean(void)
{
	jobs_stop(M.jobs);
	db_pool_close(M.pool);
	db_encryptor_release(&M.enc);
	if (devnull)
		fclose(devnull);
	return 0;
}

/* Run query (without apiKey/signature) signed with key/secret; sign=0 leaves it
 * unsigned. The reply is the caller's. */
static struct api_reply call_as(const char *query, const char *key, const char *secret,
				int sign)
{
	struct api_params p = { 0 };
	struct api_reply r;
	struct vecs_err err = { 0 };
	char *q = NULL, mac[29];

	CU_ASSERT_FATAL(asprintf(&q, "%s&apiKey=%s", query, key) > 0);
	CU_ASSERT_EQUAL_FATAL(api_params_parse(&p, q, strlen(q), &err), 0);
	free(q);
	if (sign) {
		char *canon = api_sign_canonical(&p, 0), *enc;
		api_sign_hmac(secret, strlen(secret), canon, mac);
		free(canon);
		enc = api_java_urlencode(mac, strlen(mac), false);
		CU_ASSERT_FATAL(asprintf(&q, "signature=%s", enc) > 0);
		free(enc);
		CU_ASSERT_EQUAL_FATAL(api_params_parse(&p, q, strlen(q), &err), 0);
		free(q);
	}
	api_handle(&M, &p, &r);
	api_params_free(&p);
	return r;
}

static struct api_reply call(const char *query)
{
	return call_as(query, api_key, secret_key, 1);
}

#define EXPECT(r, code, text)                                                            \
	do {                                                                               \
		CU_ASSERT_EQUAL((r).status, code);                                        \
		if (!(r).body || !strstr((r).body, text)) {                               \
			fprintf(stderr, "\n  expected %s in %s\n", text,                  \
				(r).body ? (r).body : "(null)");                        \
			CU_FAIL("body");                                                  \
		}                                                                          \
		api_reply_free(&(r));                                                      \
	} while (0)

static void test_auth_outcomes(void)
{
	struct api_reply r;

	r = call("command=listZones&response=json");
	EXPECT(r, 200, "{\"listzonesresponse\":{\"count\":1,\"zone\":[{\"id\":\"");
	r = call_as("command=listZones&response=json", api_key, secret_key, 0);
	EXPECT(r, 401, "{\"listzonesresponse\":{\"uuidList\":[],\"errorcode\":401,\"cserrorcode\":"
		       "9999,\"errortext\":\"unable to verify user credentials and/or request "
		       "signature\"}}");
	r = call_as("command=listZones&response=json", api_key, "not-the-secret", 1);
	EXPECT(r, 401, API_AUTH_FAILED_TEXT);
	r = call_as("command=listZones&response=json", "no-such-key", secret_key, 1);
	EXPECT(r, 401, API_AUTH_FAILED_TEXT);
	/* signatureVersion=3: valid until expires, refused after, and without expires. */
	r = call("command=listZones&response=json&signatureVersion=3"
		 "&expires=2026-11-26T10%3A00%3A01%2B0000");
	EXPECT(r, 200, "\"count\":1");
	r = call("command=listZones&response=json&signatureVersion=3"
		 "&expires=2026-11-26T09%3A59%3A59%2B0000");
	EXPECT(r, 401, API_AUTH_FAILED_TEXT);
	r = call("command=listZones&response=json&signatureVersion=3");
	EXPECT(r, 401, API_AUTH_FAILED_TEXT);
	r = call("command=listZones&response=json&signatureVersion=3&expires=soon");
	EXPECT(r, 401, API_AUTH_FAILED_TEXT);
	/* Unknown commands only after authentication, with a clear text. */
	r = call("command=dropAllTables&response=json");
	EXPECT(r, 401, "{\"dropalltablesresponse\":{\"uuidList\":[],\"errorcode\":401,"
		       "\"cserrorcode\":9999,\"errortext\":\"The given command does not exist or "
		       "it is not available for user\"}}");
	r = call("response=json");
	EXPECT(r, 400, "no command specified");
	/* XML: refused in XML, after authentication. */
	r = call("command=listZones");
	CU_ASSERT_TRUE(r.xml);
	EXPECT(r, 432, "<listzonesresponse cloud-stack-version=\"4.18.0.0\"><errorcode>432");
	r = call_as("command=listZones&response=xml", api_key, "bad", 1);
	EXPECT(r, 401, "<errorcode>401</errorcode>");
}

static void test_disk_offerings(void)
{
	struct api_reply r;

	r = call("command=listDiskOfferings&response=json");
	EXPECT(r, 200, "{\"listdiskofferingsresponse\":{}}");
	r = call("command=createDiskOffering&response=json&displaytext=x");
	EXPECT(r, 431, "\"errorcode\":431,\"cserrorcode\":9999,\"errortext\":\"Unable to execute "
		       "API command creatediskoffering due to missing parameter name\"");
	r = call("command=createDiskOffering&response=json&name=a&disksize=abc");
	EXPECT(r, 431, "Invalid parameter disksize value=abc due to incorrect long value format");
	r = call("command=createDiskOffering&response=json&name=a&disksize=1&encrypt=yes");
	EXPECT(r, 431, "Invalid parameter encrypt value=yes");
	r = call("command=createDiskOffering&response=json&name=a&customized=false");
	EXPECT(r, 431, "Disksize is required for a non-customized disk offering");
	r = call("command=createDiskOffering&response=json&name=enc&disksize=2&encrypt=true");
	EXPECT(r, 200, "{\"creatediskofferingresponse\":{\"diskoffering\":{\"id\":\"");
	r = call("command=createDiskOffering&response=json&name=x%27%3B+DROP+TABLE+user%3B--"
		 "&disksize=1");
	EXPECT(r, 200, "\"name\":\"x'; DROP TABLE user;--\",\"displaytext\":\"x'; DROP TABLE "
		       "user;--\",\"disksize\":1,\"iscustomized\":false");
	r = call("command=createDiskOffering&response=json&name=custom&customized=true");
	EXPECT(r, 200, "\"disksize\":0,\"iscustomized\":true");
	r = call("command=listDiskOfferings&response=json&encrypt=true");
	EXPECT(r, 200, "{\"listdiskofferingsresponse\":{\"count\":1,\"diskoffering\":[{\"id\":\"");
	r = call("command=listDiskOfferings&response=json&encrypt=false");
	EXPECT(r, 200, "\"count\":2,");
	r = call("command=listDiskOfferings&response=json&pagesize=1&page=2");
	EXPECT(r, 200, "\"count\":3,");
	r = call("command=listDiskOfferings&response=json&name=x%27%3B+DROP+TABLE+user%3B--");
	EXPECT(r, 200, "\"count\":1,");
	r = call("command=listDiskOfferings&response=json&id=not-a-uuid");
	EXPECT(r, 431, "Invalid parameter id value=not-a-uuid");
}

static void test_service_offerings(void)
{
	struct api_reply r;
	char q[256], *id;

	r = call("command=createServiceOffering&response=json&name=so-enc&cpunumber=1"
		 "&cpuspeed=500&memory=256&encryptroot=true");
	EXPECT(r, 200, "\"cpunumber\":1,\"cpuspeed\":500,\"memory\":256,");
	r = call("command=createServiceOffering&response=json&name=so-plain&displaytext=p");
	EXPECT(r, 200, "\"encryptroot\":false}");
	/* The disk offering made for a service offering is compute-only: not listed. */
	r = call("command=listDiskOfferings&response=json&name=so-enc");
	EXPECT(r, 200, "{\"listdiskofferingsresponse\":{}}");
	/* With diskofferingid, that offering decides (encryptroot=false is ignored). */
	r = call("command=listDiskOfferings&response=json&name=enc");
	CU_ASSERT_EQUAL(r.status, 200);
	id = strstr(r.body, "\"id\":\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	snprintf(q, sizeof(q),
		 "command=createServiceOffering&response=json&name=so-by-disk&encryptroot=false"
		 "&diskofferingid=%.36s",
		 id + 6);
	api_reply_free(&r);
	r = call(q);
	EXPECT(r, 200, "\"encryptroot\":true}");
	r = call("command=createServiceOffering&response=json&name=x"
		 "&diskofferingid=00000000-0000-4000-8000-000000000000");
	EXPECT(r, 431, "Please specify a valid disk offering.");
	r = call("command=listServiceOfferings&response=json&encryptroot=true");
	EXPECT(r, 200, "{\"listserviceofferingsresponse\":{\"count\":2,\"serviceoffering\":[");
	r = call("command=listServiceOfferings&response=json&encryptroot=false");
	EXPECT(r, 200, "\"count\":1,");
	r = call("command=createServiceOffering&response=json&name=x&memory=-1");
	EXPECT(r, 431, "Parameter memory must be between 1 and");
}

static void test_hosts(void)
{
	struct api_reply r;

	r = call("command=listHosts&response=json&name=kvm-enc");
	EXPECT(r, 200, "\"details\":{\"cpu.sockets\":\"2\"},\"encryptionsupported\":true}");
	r = call("command=listHosts&response=json&name=kvm-plain");
	EXPECT(r, 200, "\"details\":{},\"encryptionsupported\":false}");
	r = call("command=listHosts&response=json");
	EXPECT(r, 200, "{\"listhostsresponse\":{\"count\":2,\"host\":[");
	r = call("command=listHosts&response=json&id=00000000-0000-4000-8000-000000000000");
	EXPECT(r, 431, "entity does not exist");
}

static char *job_id_of(struct api_reply *r)
{
	char *p = r->body ? strstr(r->body, "\"jobid\":\"") : NULL;
	return p ? strndup(p + 9, 36) : NULL;
}

static void test_async_job(void)
{
	struct api_reply r;
	char q[256], *host, *job;

	r = call("command=listHosts&response=json&name=kvm-plain");
	host = strstr(r.body, "\"id\":\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(host);
	host = strndup(host + 6, 36);
	api_reply_free(&r);

	snprintf(q, sizeof(q), "command=prepareHostForMaintenance&response=json&id=%s", host);
	r = call(q);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "{\"preparehostformaintenanceresponse\":{\"jobid\":\""));
	job = job_id_of(&r);
	api_reply_free(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(job);
	jobs_drain(M.jobs);
	snprintf(q, sizeof(q), "command=queryAsyncJobResult&response=json&jobid=%s", job);
	r = call(q);
	EXPECT(r, 200, "\"jobstatus\":1,\"jobprocstatus\":0,\"jobresultcode\":0,"
		       "\"jobinstancetype\":\"Host\",\"jobresulttype\":\"object\",\"jobresult\":{"
		       "\"host\":{");
	free(job);

	/* Again: the host is in maintenance, so the job fails (jobstatus 2). */
	snprintf(q, sizeof(q), "command=prepareHostForMaintenance&response=json&id=%s", host);
	r = call(q);
	job = job_id_of(&r);
	api_reply_free(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(job);
	jobs_drain(M.jobs);
	snprintf(q, sizeof(q), "command=queryAsyncJobResult&response=json&jobid=%s", job);
	r = call(q);
	EXPECT(r, 200, "\"jobstatus\":2,\"jobprocstatus\":0,\"jobresultcode\":530,");
	r = call(q);
	EXPECT(r, 200, "\"jobresult\":{\"errorcode\":530,\"errortext\":\"Cannot perform maintain "
		       "when resource state is Maintenance");
	free(job);

	snprintf(q, sizeof(q), "command=cancelHostMaintenance&response=json&id=%s", host);
	r = call(q);
	job = job_id_of(&r);
	api_reply_free(&r);
	jobs_drain(M.jobs);
	snprintf(q, sizeof(q), "command=queryAsyncJobResult&response=json&jobid=%s", job);
	r = call(q);
	EXPECT(r, 200, "\"resourcestate\":\"Enabled\"");
	free(job);
	free(host);

	r = call("command=queryAsyncJobResult&response=json");
	EXPECT(r, 431, "due to missing parameter jobid");
	r = call("command=queryAsyncJobResult&response=json"
		 "&jobid=00000000-0000-4000-8000-000000000000");
	EXPECT(r, 431, "entity does not exist");
	r = call("command=prepareHostForMaintenance&response=json"
		 "&id=00000000-0000-4000-8000-000000000000");
	EXPECT(r, 431, "entity does not exist");
}

/* The secret key is stored encrypted (V2: 124+ base64 characters), never in clear. */
static void test_secret_key_at_rest(void)
{
	struct db *db = db_pool_get(M.pool);
	struct vecs_secret s = { 0 };
	struct user_record u;
	struct vecs_err err = { 0 };
	char *stored = test_raw_text(db, "SELECT secret_key FROM user WHERE id = ?", 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(stored);
	CU_ASSERT_PTR_NULL(strstr(stored, secret_key));
	CU_ASSERT_NOT_EQUAL(strlen(stored), strlen(secret_key));
	free(stored);
	CU_ASSERT_EQUAL(user_find_by_api_key(db, &M.enc, api_key, &u, &s, &err), 0);
	CU_ASSERT_EQUAL(s.len, strlen(secret_key));
	CU_ASSERT_EQUAL(memcmp(s.data, secret_key, s.len), 0);
	vecs_secret_release(&s);
	db_pool_put(M.pool, db);
}

static void test_credentials_file_private(void)
{
	char creds[PATH_MAX];
	struct stat st;

	snprintf(creds, sizeof(creds), "%s/mgmt-creds", ref_test_tmpdir());
	CU_ASSERT_EQUAL_FATAL(stat(creds, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(strlen(api_key), MGMT_KEY_LEN);
	CU_ASSERT_EQUAL(strlen(secret_key), MGMT_KEY_LEN);
}

/* A version 1 database (what the db layer released first) migrates with its rows. */
static void test_v1_database_migrates(void)
{
	struct db *db = NULL;
	struct vecs_err err = { 0 };
	const struct schema_migration *m;
	struct service_offering_record so;
	size_t n;
	int v;

	CU_ASSERT_EQUAL_FATAL(db_open(&db, "sqlite", ":memory:", &err), 0);
	CU_ASSERT_EQUAL_FATAL(schema_current_version(db, &v, &err), 0);
	m = schema_migrations(&n);
	CU_ASSERT_EQUAL_FATAL(m[0].version, 1);
	for (const char *const *s = m[0].statements; *s; s++) {
		char *sql = NULL;
		CU_ASSERT_EQUAL_FATAL(schema_render(db_sqlite_ops.dialect, *s, &sql, &err), 0);
		CU_ASSERT_EQUAL_FATAL(db_exec(db, sql, &err), 0);
		free(sql);
	}
	CU_ASSERT_EQUAL_FATAL(db_exec(db,
				      "INSERT INTO schema_version VALUES (1, 'v1', CURRENT_TIMESTAMP);"
				      ,
				      &err),
			      0);
	CU_ASSERT_EQUAL(db_exec(db,
				"INSERT INTO disk_offering (uuid, name, encrypt) VALUES ('d1', 'd', 1)",
				&err),
			0);
	CU_ASSERT_EQUAL(db_exec(db,
				"INSERT INTO service_offering (uuid, name, cpu, ram_size, "
				"disk_offering_id) VALUES ('s1', 's', 2, 512, 1)",
				&err),
			0);
	CU_ASSERT_EQUAL_FATAL(db_migrate(db, &err), 0);
	CU_ASSERT_EQUAL(schema_current_version(db, &v, &err), 0);
	CU_ASSERT_EQUAL(v, SCHEMA_VERSION_LATEST);
	CU_ASSERT_EQUAL(service_offering_get(db, 1, &so, &err), 0);
	CU_ASSERT_STRING_EQUAL(so.name, "s");
	CU_ASSERT_TRUE(so.encrypt_root);
	CU_ASSERT_STRING_EQUAL(so.disk_offering_uuid, "d1");
	CU_ASSERT_EQUAL(test_count(db, "SELECT COUNT(*) FROM disk_offering WHERE compute_only = 0"
				       " AND id = ?",
				   1),
			1);
	/* The new foreign keys hold: a host needs its zone, a detail its host. */
	CU_ASSERT_EQUAL(db_exec(db,
				"INSERT INTO host (uuid, name, data_center_id) VALUES ('h', 'h', 42)",
				&err),
			-EPERM);
	CU_ASSERT_EQUAL(db_exec(db,
				"INSERT INTO host_details (host_id, name, value) VALUES (42, 'a', 'b')",
				&err),
			-EPERM);
	db_close(db);
}

static CU_TestInfo tests[] = {
	{ "authentication: unsigned, forged, expired, unknown command", test_auth_outcomes },
	{ "disk offerings: create, list, filters, refusals", test_disk_offerings },
	{ "service offerings: encryptroot and diskofferingid", test_service_offerings },
	{ "hosts: encryptionsupported from the detail", test_hosts },
	{ "async jobs: success, failure, queryAsyncJobResult", test_async_job },
	{ "secret key encrypted at rest", test_secret_key_at_rest },
	{ "credentials file is 0600 with 86-character keys", test_credentials_file_private },
	{ "version 1 database migrates to version 2", test_v1_database_migrates },
	CU_TEST_INFO_NULL,
};

REF_SUITE_FULL(mgmt_api, "mgmt: API responses", suite_init, suite_clean, tests)
