/* The VM and volume side of the API through api_handle, without agents: pools and
 * templates, createVolume (Allocated, no passphrase yet), the refusals that must
 * change nothing (deploy with no encryption-capable host, snapshot policy, extract,
 * template from an encrypted volume), deleteVolume of an allocated volume. */
#include <CUnit/CUnit.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/host_dao.h"
#include "mgmt/api.h"
#include "mgmt/api_sign.h"
#include "mgmt/bootstrap.h"
#include "mgmt/jobs.h"
#include "test_helpers.h"
#include "test_registry.h"

static struct mgmt M;
static char api_key[MGMT_KEY_LEN + 1], secret_key[MGMT_KEY_LEN + 1], zone_uuid[41],
	plain_host[41];
static FILE *devnull;

static time_t clock_now(void)
{
	return 1795687200;
}

static int suite_init(void)
{
	struct vecs_err err = { 0 };
	char path[PATH_MAX], creds[PATH_MAX], line[256];
	struct zone_record z;
	struct host_record *h = calloc(1, sizeof(*h));
	struct db *db;
	bool created;
	FILE *f;

	snprintf(path, sizeof(path), "%s/mgmt-vm.sqlite", ref_test_tmpdir());
	snprintf(creds, sizeof(creds), "%s/mgmt-vm-creds", ref_test_tmpdir());
	pthread_mutex_init(&M.log_lock, NULL);
	devnull = fopen("/dev/null", "w");
	M.log = devnull;
	M.now = clock_now;
	if (!h || db_encryptor_init(&M.enc, TEST_DB_SECRET, strlen(TEST_DB_SECRET),
				    DB_ENCRYPTOR_V2, &err) < 0 ||
	    db_pool_open(&M.pool, "sqlite", path, 3, &err) < 0 || jobs_start(&M.jobs, &M, 2, &err) < 0)
		return 1;
	db = db_pool_get(M.pool);
	if (zone_ensure(db, "zone-vm", &z, &err) < 0 ||
	    mgmt_bootstrap_admin(db, &M.enc, creds, &created, &err) < 0) {
		db_pool_put(M.pool, db);
		free(h);
		return 1;
	}
	snprintf(zone_uuid, sizeof(zone_uuid), "%s", z.uuid);
	h->zone_id = z.id;
	snprintf(h->name, sizeof(h->name), "kvm-plain");
	h->n_details = 1;
	snprintf(h->details[0].name, sizeof(h->details[0].name), HOST_DETAIL_VOLUME_ENCRYPTION);
	snprintf(h->details[0].value, sizeof(h->details[0].value), "false");
	host_register(db, h, &err);
	snprintf(plain_host, sizeof(plain_host), "%s", h->uuid);
	free(h);
	db_pool_put(M.pool, db);
	f = fopen(creds, "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "api_key=", 8))
			snprintf(api_key, sizeof(api_key), "%.86s", line + 8);
		if (!strncmp(line, "secret_key=", 11))
			snprintf(secret_key, sizeof(secret_key), "%.86s", line + 11);
	}
	fclose(f);
	return 0;
}

static int suite_clean(void)
{
	jobs_stop(M.jobs);
	db_pool_close(M.pool);
	db_encryptor_release(&M.enc);
	fclose(devnull);
	return 0;
}

static struct api_reply call(const char *query)
{
	struct api_params p = { 0 };
	struct api_reply r;
	struct vecs_err err = { 0 };
	char *q = NULL, mac[29], *canon, *enc;

	CU_ASSERT_FATAL(asprintf(&q, "%s&response=json&apiKey=%s", query, api_key) > 0);
	CU_ASSERT_EQUAL_FATAL(api_params_parse(&p, q, strlen(q), &err), 0);
	free(q);
	canon = api_sign_canonical(&p, 0);
	api_sign_hmac(secret_key, strlen(secret_key), canon, mac);
	free(canon);
	enc = api_java_urlencode(mac, strlen(mac), false);
	CU_ASSERT_FATAL(asprintf(&q, "signature=%s", enc) > 0);
	free(enc);
	CU_ASSERT_EQUAL_FATAL(api_params_parse(&p, q, strlen(q), &err), 0);
	free(q);
	api_handle(&M, &p, &r);
	api_params_free(&p);
	return r;
}

/* The value of "key":"..." after `after` in body (first match), into out. */
static void field(const char *body, const char *key, char *out, size_t n)
{
	char pat[64];
	const char *s;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	out[0] = '\0';
	if (body && (s = strstr(body, pat)))
		snprintf(out, n, "%.*s", (int)strcspn(s + strlen(pat), "\""), s + strlen(pat));
}

static int64_t count(const char *sql)
{
	struct db *db = db_pool_get(M.pool);
	int64_t n = test_count(db, sql, 0);

	db_pool_put(M.pool, db);
	return n;
}

#define EXPECT(r, code, text)                                                                \
	do {                                                                                 \
		CU_ASSERT_EQUAL((r).status, code);                                           \
		if (!(r).body || !strstr((r).body, text)) {                                  \
			fprintf(stderr, "\n  expected %s in %s\n", text, (r).body);          \
			CU_FAIL("body");                                                     \
		}                                                                            \
	} while (0)

static void test_pools_templates_volumes_refusals(void)
{
	char q[1024], off[41], soff[41], tpl[41], vol[41];
	struct api_reply r;
	int64_t vms, vols, pps;

	snprintf(q, sizeof(q),
		 "command=createStoragePool&name=nfs1&url=nfs%%3A%%2F%%2F10.0.0.1%%2Fexport%%2Fa"
		 "&zoneid=%s&tags=gold",
		 zone_uuid);
	r = call(q);
	EXPECT(r, 200, "\"type\":\"NetworkFilesystem\"");
	EXPECT(r, 200, "\"tags\":\"gold\"");
	api_reply_free(&r);
	snprintf(q, sizeof(q),
		 "command=createStoragePool&name=ceph&url=rbd%%3A%%2F%%2Fmon%%2Fpool&zoneid=%s", zone_uuid);
	r = call(q);
	EXPECT(r, 200, "\"type\":\"RBD\"");
	api_reply_free(&r);
	snprintf(q, sizeof(q), "command=createStoragePool&name=x&url=ftp%%3A%%2F%%2Fh%%2Fp&zoneid=%s",
		 zone_uuid);
	r = call(q);
	EXPECT(r, 431, "Unsupported storage pool url scheme ftp");
	api_reply_free(&r);
	r = call("command=listStoragePools");
	EXPECT(r, 200, "\"count\":2");
	api_reply_free(&r);

	snprintf(q, sizeof(q),
		 "command=registerTemplate&name=tiny&url=file%%3A%%2F%%2F%%2Fnonexistent.qcow2"
		 "&format=QCOW2&hypervisor=KVM&zoneid=%s",
		 zone_uuid);
	r = call(q);
	EXPECT(r, 200, "\"template\":[{\"id\":\"");
	field(r.body, "id", tpl, sizeof(tpl));
	api_reply_free(&r);
	r = call("command=listTemplates");
	EXPECT(r, 431, "missing parameter templatefilter");
	api_reply_free(&r);

	r = call("command=createDiskOffering&name=enc&disksize=1&encrypt=true&tags=gold");
	EXPECT(r, 200, "\"tags\":\"gold\"");
	field(r.body, "id", off, sizeof(off));
	api_reply_free(&r);
	r = call("command=createServiceOffering&name=encroot&cpunumber=1&cpuspeed=500&memory=256"
		 "&encryptroot=true&storagetype=shared&tags=gold");
	field(r.body, "id", soff, sizeof(soff));
	api_reply_free(&r);

	/* createVolume: Allocated, no passphrase before first use */
	snprintf(q, sizeof(q), "command=createVolume&name=d1&diskofferingid=%s&zoneid=%s", off,
		 zone_uuid);
	r = call(q);
	EXPECT(r, 200, "\"jobid\":\"");
	field(r.body, "id", vol, sizeof(vol));
	api_reply_free(&r);
	jobs_drain(M.jobs);
	snprintf(q, sizeof(q), "command=listVolumes&id=%s", vol);
	r = call(q);
	EXPECT(r, 200, "\"state\":\"Allocated\"");
	api_reply_free(&r);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM passphrase WHERE id > ?"), 0);
	r = call("command=listVolumes&isencrypted=true");
	EXPECT(r, 200, "{\"listvolumesresponse\":{}}");
	api_reply_free(&r);

	/* refusals change nothing */
	vms = count("SELECT COUNT(*) FROM vm_instance WHERE id > ?");
	vols = count("SELECT COUNT(*) FROM volumes WHERE id > ?");
	pps = count("SELECT COUNT(*) FROM passphrase WHERE id > ?");
	snprintf(q, sizeof(q),
		 "command=deployVirtualMachine&serviceofferingid=%s&templateid=%s&zoneid=%s&name=v1",
		 soff, tpl, zone_uuid);
	r = call(q);
	EXPECT(r, 530, "\"errortext\":\"No remote endpoint to send command, unable to find a valid "
		       "endpoint. Requires encryption support: true\"");
	api_reply_free(&r);
	snprintf(q, sizeof(q),
		 "command=createSnapshotPolicy&volumeid=%s&intervaltype=DAILY&schedule=00%%3A01"
		 "&timezone=UTC&maxsnaps=1",
		 vol);
	r = call(q);
	snprintf(q, sizeof(q),
		 "Encrypted volumes don't support snapshot schedules, cannot create snapshot policy "
		 "for the volume [%s]", vol);
	EXPECT(r, 530, q);
	api_reply_free(&r);
	snprintf(q, sizeof(q), "command=extractVolume&id=%s&mode=HTTP_DOWNLOAD&zoneid=%s", vol,
		 zone_uuid);
	r = call(q);
	EXPECT(r, 431, "Extraction of encrypted volumes is unsupported");
	api_reply_free(&r);
	snprintf(q, sizeof(q), "command=createTemplate&name=t&volumeid=%s", vol);
	r = call(q);
	EXPECT(r, 530, "Cannot create templates from encrypted volumes");
	api_reply_free(&r);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM vm_instance WHERE id > ?"), vms);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM volumes WHERE id > ?"), vols);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM passphrase WHERE id > ?"), pps);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM snapshot_policy WHERE id > ?"), 0);

	/* deleteVolume of an allocated volume: no agent needed, row removed */
	snprintf(q, sizeof(q), "command=deleteVolume&id=%s", vol);
	r = call(q);
	EXPECT(r, 200, "{\"deletevolumeresponse\":{\"success\":true}}");
	api_reply_free(&r);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM volumes WHERE removed IS NULL AND id > ?"), 0);
}

static CU_TestInfo tests[] = {
	{ "pools, templates, volumes; refusals change nothing", test_pools_templates_volumes_refusals },
	CU_TEST_INFO_NULL,
};

REF_SUITE_FULL(mgmt_vm, "mgmt: VM and volume commands", suite_init, suite_clean, tests)
