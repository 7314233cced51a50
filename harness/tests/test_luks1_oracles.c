/* Both passphrase oracles on images built in memory, written to files: they must open
 * the same keyslot, refuse the same wrong passphrases, and `vecs_inspect` must combine
 * them. An image made by our own code and opened by libcryptsetup also proves the
 * native crypto right from the other side. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oracle/inspect.h"
#include "oracle/luks1_libcryptsetup.h"
#include "oracle/luks1_native.h"
#include "tests/luks1_builder.h"
#include "tests/test_registry.h"

static char *write_image(const char *name, const uint8_t *img, size_t len)
{
	char *path = NULL;
	int fd;

	if (asprintf(&path, "%s/%s", vecs_test_tmpdir(), name) < 0)
		return NULL;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, img, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* Build, write, and run both oracles with pass; returns the native result. */
static int both_oracles(const struct luks1_build *b, const char *pass, int *native_slot,
			struct lcs_result *lr, uint8_t *mk)
{
	struct luks1_header h;
	size_t len;
	uint8_t *img = luks1_build_image(b, &len, &h, NULL);
	char *path = img ? write_image("oracle.img", img, len) : NULL;
	struct vecs_blob blob;
	int fd, r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	blob = (struct vecs_blob){ .fd = fd, .base = 0, .size = len };
	r = luks1_native_unlock(&h, &blob, (const uint8_t *)pass, strlen(pass), native_slot, mk, NULL);
	lcs_check(path, &blob, (const uint8_t *)pass, strlen(pass), lr);
	close(fd);
	unlink(path);
	free(path);
	free(img);
	return r;
}

static void test_oracles_agree_good_passphrase(void)
{
	struct luks1_build b = luks1_build_defaults();
	struct lcs_result lr;
	uint8_t mk[64], want[64];
	struct luks1_header h;
	size_t len;
	int slot;

	free(luks1_build_image(&b, &len, &h, want));
	CU_ASSERT_EQUAL(both_oracles(&b, "passphrase", &slot, &lr, mk), 1);
	CU_ASSERT_EQUAL(slot, 0);
	CU_ASSERT(memcmp(mk, want, 64) == 0);
	CU_ASSERT_EQUAL(lr.load_rc, 0);
	CU_ASSERT_EQUAL(lr.unlock_rc, 0);
}

static void test_oracles_agree_wrong_passphrase(void)
{
	struct luks1_build b = luks1_build_defaults();
	struct lcs_result lr;
	int slot;

	CU_ASSERT_EQUAL(both_oracles(&b, "passphrasf", &slot, &lr, NULL), 0);
	CU_ASSERT_EQUAL(slot, -1);
	CU_ASSERT_EQUAL(lr.unlock_rc, -EPERM);
	/* a trailing newline is a different passphrase */
	CU_ASSERT_EQUAL(both_oracles(&b, "passphrase\n", &slot, &lr, NULL), 0);
	CU_ASSERT_EQUAL(lr.unlock_rc, -EPERM);
}

static void test_oracles_agree_across_ciphers(void)
{
	static const struct { const char *mode, *hash; uint32_t kb; } v[] = {
		{ "xts-plain64", "sha1", 64 },   { "xts-plain64", "sha512", 32 },
		{ "cbc-essiv:sha256", "sha256", 32 }, { "cbc-plain64", "sha256", 16 },
		{ "xts-plain", "sha256", 64 },   { "ecb", "sha1", 32 },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct luks1_build b = luks1_build_defaults();
		struct lcs_result lr;
		int slot;

		b.mode = v[i].mode;
		b.hash = v[i].hash;
		b.key_bytes = v[i].kb;
		b.slot_mask = 0x88; /* slots 3 and 7 */
		CU_ASSERT_EQUAL(both_oracles(&b, "passphrase", &slot, &lr, NULL), 1);
		CU_ASSERT_EQUAL(slot, 3);
		CU_ASSERT_EQUAL(lr.unlock_rc, 3);
		if (lr.unlock_rc != 3)
			fprintf(stderr, "\n  %s/%s: libcryptsetup %d (%s)\n", v[i].mode, v[i].hash,
				lr.unlock_rc, lr.message);
	}
}

/* Flipped key material: the keyslot no longer opens, and neither oracle says it does. */
static void test_damaged_material(void)
{
	struct luks1_build b = luks1_build_defaults();
	struct luks1_header h;
	struct inspect_result res;
	struct vecs_secret pass = { 0 };
	size_t len;
	uint8_t *img = luks1_build_image(&b, &len, &h, NULL);
	char *path;

	img[8 * 512 + 777] ^= 0x40;
	path = write_image("damaged.img", img, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	vecs_secret_from_mem(&pass, "passphrase", 10, NULL);
	CU_ASSERT_EQUAL(vecs_inspect(path, &pass, vecs_profile_default(), &res, NULL), 0);
	CU_ASSERT_EQUAL(res.native.status, ORACLE_NOT_UNLOCKED);
	CU_ASSERT_EQUAL(res.libcryptsetup.status, ORACLE_NOT_UNLOCKED);
	CU_ASSERT(findings_has(&res.findings, "passphrase.no_unlock"));
	CU_ASSERT(!findings_has(&res.findings, "oracle.disagreement"));
	CU_ASSERT(!res.pass);
	vecs_secret_release(&pass);
	unlink(path);
	free(path);
	free(img);
}

static void test_inspect_good_raw(void)
{
	struct luks1_build b = luks1_build_defaults();
	struct luks1_header h;
	struct inspect_result res;
	struct vecs_secret pass = { 0 };
	size_t len;
	uint8_t *img = luks1_build_image(&b, &len, &h, NULL);
	char *path = write_image("good.img", img, len);

	vecs_secret_from_mem(&pass, "passphrase", 10, NULL);
	CU_ASSERT_EQUAL(vecs_inspect(path, &pass, vecs_profile_default(), &res, NULL), 0);
	CU_ASSERT(res.pass);
	CU_ASSERT(res.encrypted);
	CU_ASSERT(!res.is_qcow2);
	CU_ASSERT(res.unlocks);
	CU_ASSERT_EQUAL(res.keyslot, 0);
	CU_ASSERT_EQUAL(res.findings.n, 0);
	/* without a passphrase: header verdict only */
	CU_ASSERT_EQUAL(vecs_inspect(path, NULL, vecs_profile_default(), &res, NULL), 0);
	CU_ASSERT(res.pass);
	CU_ASSERT(!res.passphrase_checked);
	vecs_secret_release(&pass);
	unlink(path);
	free(path);
	free(img);
}

static void test_inspect_plain_and_missing(void)
{
	uint8_t zeros[4096] = { 0 };
	char *path = write_image("plain.img", zeros, sizeof(zeros));
	struct inspect_result res;
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL(vecs_inspect(path, NULL, vecs_profile_default(), &res, NULL), 0);
	CU_ASSERT(!res.pass);
	CU_ASSERT(!res.encrypted);
	CU_ASSERT(findings_has(&res.findings, "container.not_encrypted"));
	unlink(path);
	CU_ASSERT_EQUAL(vecs_inspect(path, NULL, vecs_profile_default(), &res, &err), -ENOENT);
	CU_ASSERT(strstr(err.msg, "plain.img") != NULL);
	CU_ASSERT_EQUAL(vecs_inspect("/", NULL, vecs_profile_default(), &res, &err), -EINVAL);
	free(path);
}

static CU_TestInfo tests[] = {
	{ "oracles agree: right passphrase, same volume key", test_oracles_agree_good_passphrase },
	{ "oracles agree: wrong passphrase", test_oracles_agree_wrong_passphrase },
	{ "oracles agree across ciphers, hashes, keyslots", test_oracles_agree_across_ciphers },
	{ "damaged key material: no unlock, no disagreement", test_damaged_material },
	{ "inspect a good raw image", test_inspect_good_raw },
	{ "inspect plain and missing files", test_inspect_plain_and_missing },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(luks1_oracles, "luks1 oracles", tests)
