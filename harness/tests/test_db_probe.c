/* The harness's own reading of CloudStack's V2 passphrase encryption, against a value
 * made independently (Python `cryptography`: AES-256-GCM, key SHA-256(secret),
 * base64(IV || ciphertext || tag)). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include "targets/db_probe.h"
#include "tests/test_registry.h"

static const char kat_key[] = "vecs-probe-kat-secret";
static const char kat_stored[] =
	"AAECAwQFBgcICQoL3HxrYuYo8eMy5oShY9aGv4A/kDTkHmYTG7IDKTiHVuCpPWHwAfjgimlOTwXoqVICg2ne"
	"O37BRD+q2n3dYLYj73wdHd0cvbNFpoFQhPOAelQ=";

static void test_v2_known_answer(void)
{
	struct vecs_secret s;
	char want[65];

	memset(want, 'A', 60);
	memcpy(want + 60, "bcd/", 5);
	CU_ASSERT_EQUAL_FATAL(vecs_db_v2_decrypt(kat_key, kat_stored, &s, NULL), 0);
	CU_ASSERT_EQUAL(s.len, 64);
	CU_ASSERT(memcmp(s.data, want, 64) == 0);
	CU_ASSERT(vecs_passphrase_well_formed(s.data, s.len));
	vecs_secret_release(&s);
}

static void test_v2_rejects(void)
{
	struct vecs_secret s;
	char bad[sizeof(kat_stored)];
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL(vecs_db_v2_decrypt("wrong key", kat_stored, &s, &err), -EBADMSG);
	CU_ASSERT_PTR_NULL(s.data);
	CU_ASSERT(strstr(err.msg, "V2") != NULL);
	memcpy(bad, kat_stored, sizeof(bad));
	bad[40] = bad[40] == 'A' ? 'B' : 'A'; /* one flipped ciphertext character */
	CU_ASSERT_EQUAL(vecs_db_v2_decrypt(kat_key, bad, &s, NULL), -EBADMSG);
	CU_ASSERT_EQUAL(vecs_db_v2_decrypt(kat_key, "not base64!", &s, NULL), -EBADMSG);
	CU_ASSERT_EQUAL(vecs_db_v2_decrypt(kat_key, "", &s, NULL), -EBADMSG);
}

static void test_passphrase_form(void)
{
	const unsigned char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";

	CU_ASSERT(vecs_passphrase_well_formed(ok, 64));
	CU_ASSERT(!vecs_passphrase_well_formed(ok, 63));
	CU_ASSERT(!vecs_passphrase_well_formed((const unsigned char *)"=bcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/", 64));
}

static CU_TestInfo tests[] = {
	{ "V2 decryption known answer", test_v2_known_answer },
	{ "V2 wrong key, tampering, garbage", test_v2_rejects },
	{ "passphrase form: 64 base64 characters of 48 bytes", test_passphrase_form },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(db_probe, "db probe", tests)
