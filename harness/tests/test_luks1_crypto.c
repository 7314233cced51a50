/* Known-answer vectors for the native oracle's cryptography.
 * PBKDF2-HMAC-SHA1: RFC 6070. PBKDF2-HMAC-SHA256: RFC 7914 section 11.
 * AES-XTS: IEEE 1619-2007 Annex B vectors 2, 4 and 10 (first 32 bytes).
 * AF split: expected stripes computed independently (Python hashlib) from the LUKS1
 * specification's AF_split definition. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include "oracle/luks1_crypto.h"
#include "tests/test_helpers.h"
#include "tests/test_registry.h"

struct pbkdf2_vector {
	const char *hash;
	const char *pass;
	size_t pass_len;
	const char *salt;
	size_t salt_len;
	uint32_t iterations;
	const char *expected_hex;
};

static const struct pbkdf2_vector pbkdf2_vectors[] = {
	{ "sha1", "password", 8, "salt", 4, 1, "0c60c80f961f0e71f3a9b524af6012062fe037a6" },
	{ "sha1", "password", 8, "salt", 4, 2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957" },
	{ "sha1", "password", 8, "salt", 4, 4096, "4b007901b765489abead49d926f721d065a429c1" },
	{ "sha1", "passwordPASSWORDpassword", 24, "saltSALTsaltSALTsaltSALTsaltSALTsalt", 36, 4096,
	  "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038" },
	{ "sha1", "pass\0word", 9, "sa\0lt", 5, 4096, "56fa6aa75548099dcc37d7f03425e0c3" },
	{ "sha256", "passwd", 6, "salt", 4, 1,
	  "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
	  "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783" },
	{ "sha256", "Password", 8, "NaCl", 4, 80000,
	  "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
	  "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d" },
	{ "sha512", "password", 8, "salt", 4, 1,
	  "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
	  "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce" },
	/* ripemd160 goes through the generic EVP path (and OpenSSL's legacy provider) */
	{ "ripemd160", "password", 8, "salt", 4, 2, "768dcc27b7bfdef794a1ff9d935090fcf598555e" },
};

static void test_pbkdf2_vectors(void)
{
	for (size_t i = 0; i < sizeof(pbkdf2_vectors) / sizeof(pbkdf2_vectors[0]); i++) {
		const struct pbkdf2_vector *v = &pbkdf2_vectors[i];
		uint8_t want[64], got[64];
		size_t n = test_unhex(v->expected_hex, want, sizeof(want));

		memset(got, 0, sizeof(got));
		CU_ASSERT_EQUAL_FATAL(vecs_pbkdf2(v->hash, v->pass, v->pass_len,
						  (const uint8_t *)v->salt, v->salt_len,
						  v->iterations, got, n), 0);
		CU_ASSERT(memcmp(got, want, n) == 0);
	}
}

static void test_pbkdf2_rejects(void)
{
	uint8_t out[20];

	CU_ASSERT_EQUAL(vecs_pbkdf2("sha1", "p", 1, (const uint8_t *)"s", 1, 0, out, 20), -EINVAL);
	CU_ASSERT_EQUAL(vecs_pbkdf2("no-such-hash", "p", 1, (const uint8_t *)"s", 1, 1, out, 20),
			-ENOTSUP);
	CU_ASSERT_EQUAL(vecs_hash_size("sha256"), 32);
	CU_ASSERT_EQUAL(vecs_hash_size("no-such-hash"), 0);
}

/* PBKDF2 with a key longer than the hash block (the HMAC key is hashed first). */
static void test_pbkdf2_long_password(void)
{
	uint8_t a[32], b[32];
	char pass[200];

	memset(pass, 'x', sizeof(pass));
	CU_ASSERT_EQUAL(vecs_pbkdf2("sha256", pass, sizeof(pass), (const uint8_t *)"salt", 4, 3, a,
				    32), 0);
	pass[199] = 'y';
	CU_ASSERT_EQUAL(vecs_pbkdf2("sha256", pass, sizeof(pass), (const uint8_t *)"salt", 4, 3, b,
				    32), 0);
	CU_ASSERT(memcmp(a, b, 32) != 0);
}

struct xts_vector {
	const char *key_hex;
	uint64_t sector;
	int pattern; /* 0: 32 x 0x44; 1: 0x00..0xff twice (512 bytes) */
	const char *ct32_hex;
};

static const struct xts_vector xts_vectors[] = {
	{ "11111111111111111111111111111111" "22222222222222222222222222222222", 0x3333333333ull, 0,
	  "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0" },
	{ "27182818284590452353602874713526" "31415926535897932384626433832795", 0, 1,
	  "27a7479befa1d476489f308cd4cfa6e2a96e4bbe3208ff25287dd3819616e89c" },
	{ "2718281828459045235360287471352662497757247093699959574966967627"
	  "3141592653589793238462643383279502884197169399375105820974944592", 0xff, 1,
	  "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b" },
};

static void test_xts_vectors(void)
{
	for (size_t i = 0; i < sizeof(xts_vectors) / sizeof(xts_vectors[0]); i++) {
		const struct xts_vector *v = &xts_vectors[i];
		struct vecs_sector_cipher *c = NULL;
		uint8_t key[64], sector[512], plain[512], want[32];
		size_t klen = test_unhex(v->key_hex, key, sizeof(key));

		test_unhex(v->ct32_hex, want, sizeof(want));
		for (int b = 0; b < 512; b++)
			plain[b] = v->pattern == 0 ? 0x44 : (uint8_t)b;
		memcpy(sector, plain, 512);
		CU_ASSERT_EQUAL_FATAL(vecs_sector_cipher_new("aes", "xts-plain64", key, klen, &c, NULL), 0);
		CU_ASSERT_EQUAL(vecs_sector_crypt(c, true, sector, 1, v->sector), 0);
		/* IEEE vector 2 is 32 bytes long; in a 512-byte sector its first two blocks
		 * are the same, since XTS encrypts every 16-byte block independently. */
		CU_ASSERT(memcmp(sector, want, 32) == 0);
		CU_ASSERT_EQUAL(vecs_sector_crypt(c, false, sector, 1, v->sector), 0);
		CU_ASSERT(memcmp(sector, plain, 512) == 0);
		vecs_sector_cipher_free(c);
	}
}

/* Every mode the native oracle implements round-trips, and sectors are independent. */
static void test_sector_modes_round_trip(void)
{
	static const char *const modes[] = { "xts-plain64", "xts-plain", "cbc-essiv:sha256",
					     "cbc-plain64", "cbc-plain", "ecb", "xts-essiv:sha256" };
	uint8_t key[64], buf[4 * 512], orig[4 * 512];

	test_fill(key, sizeof(key), 7);
	test_fill(orig, sizeof(orig), 8);
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct vecs_sector_cipher *c = NULL;
		size_t klen = strncmp(modes[m], "xts", 3) == 0 ? 64 : 32;
		uint8_t first[512];

		CU_ASSERT_EQUAL_FATAL(vecs_sector_cipher_new("aes", modes[m], key, klen, &c, NULL), 0);
		memcpy(buf, orig, sizeof(buf));
		CU_ASSERT_EQUAL(vecs_sector_crypt(c, true, buf, 4, 1000), 0);
		CU_ASSERT(memcmp(buf, orig, sizeof(buf)) != 0);
		/* decrypting sector 1001 alone gives the same plaintext */
		memcpy(first, buf + 512, 512);
		CU_ASSERT_EQUAL(vecs_sector_crypt(c, false, first, 1, 1001), 0);
		CU_ASSERT(memcmp(first, orig + 512, 512) == 0);
		CU_ASSERT_EQUAL(vecs_sector_crypt(c, false, buf, 4, 1000), 0);
		CU_ASSERT(memcmp(buf, orig, sizeof(buf)) == 0);
		vecs_sector_cipher_free(c);
	}
}

static void test_sector_unsupported(void)
{
	struct vecs_sector_cipher *c = NULL;
	struct vecs_err err = { 0 };
	uint8_t key[64] = { 1 };

	CU_ASSERT_EQUAL(vecs_sector_cipher_new("serpent", "xts-plain64", key, 64, &c, &err), -ENOTSUP);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT(strstr(err.msg, "serpent") != NULL);
	CU_ASSERT_EQUAL(vecs_sector_cipher_new("aes", "lrw-benbi", key, 48, &c, NULL), -ENOTSUP);
	CU_ASSERT_EQUAL(vecs_sector_cipher_new("aes", "xts-plain64", key, 40, &c, NULL), -ENOTSUP);
}

static void test_af_known_answer(void)
{
	static const char *const last_stripe[] = {
		"088eb7582ed4ca4b77025ec2ab92b6ac1bac067f423bb52b7613eb030d8f3e40828689b15e522c0d",
		"aa436eecffeee1c7ffef52cc57ab2e9eb0e04e0ca2617451310c24c15a74293a19b46bf285982856",
	};
	static const char *const hashes[] = { "sha256", "sha1" };
	uint8_t key[40], rnd[80], blocks[120], want[40], merged[40];

	for (int i = 0; i < 40; i++)
		key[i] = (uint8_t)i;
	memset(rnd, 0x55, 40);
	memset(rnd + 40, 0xaa, 40);
	for (int h = 0; h < 2; h++) {
		test_unhex(last_stripe[h], want, sizeof(want));
		CU_ASSERT_EQUAL_FATAL(vecs_af_split(hashes[h], key, 40, 3, rnd, blocks), 0);
		CU_ASSERT(memcmp(blocks, rnd, 80) == 0);
		CU_ASSERT(memcmp(blocks + 80, want, 40) == 0);
		CU_ASSERT_EQUAL(vecs_af_merge(hashes[h], blocks, 40, 3, merged), 0);
		CU_ASSERT(memcmp(merged, key, 40) == 0);
	}
}

static void test_af_round_trip_4000(void)
{
	static uint8_t rnd[3999 * 64], blocks[4000 * 64];
	uint8_t key[64], merged[64];

	test_fill(key, sizeof(key), 1);
	test_fill(rnd, sizeof(rnd), 2);
	CU_ASSERT_EQUAL_FATAL(vecs_af_split("sha256", key, 64, 4000, rnd, blocks), 0);
	CU_ASSERT_EQUAL(vecs_af_merge("sha256", blocks, 64, 4000, merged), 0);
	CU_ASSERT(memcmp(merged, key, 64) == 0);
	/* one flipped bit anywhere in the material destroys the key */
	blocks[1234 * 64 + 5] ^= 1;
	CU_ASSERT_EQUAL(vecs_af_merge("sha256", blocks, 64, 4000, merged), 0);
	CU_ASSERT(memcmp(merged, key, 64) != 0);
	/* stripes = 1: the material is the key itself */
	CU_ASSERT_EQUAL(vecs_af_merge("sha256", key, 64, 1, merged), 0);
	CU_ASSERT(memcmp(merged, key, 64) == 0);
	CU_ASSERT_EQUAL(vecs_af_merge("sha256", key, 64, 0, merged), -EINVAL);
}

static CU_TestInfo tests[] = {
	{ "pbkdf2 known answers (RFC 6070, RFC 7914)", test_pbkdf2_vectors },
	{ "pbkdf2 rejects bad input", test_pbkdf2_rejects },
	{ "pbkdf2 password longer than a block", test_pbkdf2_long_password },
	{ "aes-xts known answers (IEEE 1619)", test_xts_vectors },
	{ "sector modes round trip", test_sector_modes_round_trip },
	{ "unsupported ciphers are refused", test_sector_unsupported },
	{ "af split known answer", test_af_known_answer },
	{ "af split/merge 4000 stripes", test_af_round_trip_4000 },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(luks1_crypto, "luks1 crypto", tests)
