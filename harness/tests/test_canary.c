/* The canary format (oracle/canary.h): known answers, layout, determinism, sizes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/canary.h"
#include "tests/test_registry.h"

/* First 64 bytes for seed "kat": computed once, then checked by hand against the layout
 * and with Python's hashlib (seed id = sha256("vecs-canary-seed:kat")[:4] = a6af306e;
 * check(0) = sha256("vecs-canary-rec:kat" || le64(0))[:8] = debb64bad6c43220, check(1)
 * = 2f3126a13d28a5bd). */
static const uint8_t kat64[64] = {
	0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3,
	0xa6, 0xaf, 0x30, 0x6e, 0x00, 0x00, 0x00, 0x00, 0xde, 0xbb, 0x64, 0xba, 0xd6, 0xc4, 0x32, 0x20,
	0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3,
	0xa6, 0xaf, 0x30, 0x6e, 0x01, 0x00, 0x00, 0x00, 0x2f, 0x31, 0x26, 0xa1, 0x3d, 0x28, 0xa5, 0xbd,
};

static void test_known_answer(void)
{
	struct vecs_canary c;
	uint8_t buf[64];

	CU_ASSERT_EQUAL_FATAL(vecs_canary_init(&c, "kat", NULL), 0);
	CU_ASSERT_EQUAL(vecs_canary_fill(&c, 0, buf, sizeof(buf), NULL), 0);
	CU_ASSERT(memcmp(buf, kat64, sizeof(buf)) == 0);
	/* a slice starting mid-record is the same bytes */
	CU_ASSERT_EQUAL(vecs_canary_fill(&c, 21, buf, 30, NULL), 0);
	CU_ASSERT(memcmp(buf, kat64 + 21, 30) == 0);
	vecs_canary_free(&c);
}

static void test_deterministic(void)
{
	struct vecs_canary a, b, o;
	uint8_t *x = malloc(4096), *y = malloc(4096), *z = malloc(4096);

	CU_ASSERT_FATAL(x && y && z);
	CU_ASSERT_EQUAL_FATAL(vecs_canary_init(&a, "seed-1", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(vecs_canary_init(&b, "seed-1", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(vecs_canary_init(&o, "seed-2", NULL), 0);
	vecs_canary_fill(&a, 12345, x, 4096, NULL);
	vecs_canary_fill(&b, 12345, y, 4096, NULL);
	vecs_canary_fill(&o, 12345, z, 4096, NULL);
	CU_ASSERT(memcmp(x, y, 4096) == 0);
	CU_ASSERT(memcmp(x, z, 4096) != 0);
	CU_ASSERT(memcmp(a.seed_id, o.seed_id, 4) != 0);
	/* a prefix of the seed is another seed */
	vecs_canary_free(&o);
	CU_ASSERT_EQUAL_FATAL(vecs_canary_init(&o, "seed-", NULL), 0);
	vecs_canary_fill(&o, 12345, z, 4096, NULL);
	CU_ASSERT(memcmp(x, z, 4096) != 0);
	vecs_canary_free(&a);
	vecs_canary_free(&b);
	vecs_canary_free(&o);
	free(x);
	free(y);
	free(z);
}

static void test_layout(void)
{
	enum { N = 300 };
	struct vecs_canary c;
	uint8_t id[4], check[8], *buf = malloc(N * 32);
	uint32_t idx;

	CU_ASSERT_FATAL(buf != NULL);
	CU_ASSERT_EQUAL_FATAL(vecs_canary_init(&c, "layout", NULL), 0);
	CU_ASSERT_EQUAL(vecs_canary_seed_id("layout", id, NULL), 0);
	CU_ASSERT(memcmp(id, c.seed_id, 4) == 0);
	vecs_canary_fill(&c, 0, buf, N * 32, NULL);
	for (uint32_t i = 0; i < N; i++) {
		uint8_t *r = buf + 32 * i;
		for (int k = 0; k < 16; k++)
			CU_ASSERT_EQUAL(r[k], 0xC3);
		CU_ASSERT(memcmp(r + 16, id, 4) == 0);
		CU_ASSERT_EQUAL(r[20] | r[21] << 8 | r[22] << 16 | (uint32_t)r[23] << 24, i);
		vecs_canary_check(&c, i, check);
		CU_ASSERT(memcmp(r + 24, check, 8) == 0);
		CU_ASSERT(vecs_canary_verify(&c, r, &idx));
		CU_ASSERT_EQUAL(idx, i);
		/* records never repeat: checks differ (index 195 has 0xC3 as its low byte) */
		if (i > 0)
			CU_ASSERT(memcmp(r + 24, r - 8, 8) != 0);
	}
	/* any changed byte breaks verification */
	for (int k = 0; k < 32; k++) {
		buf[32 * 7 + k] ^= 0x01;
		CU_ASSERT(!vecs_canary_verify(&c, buf + 32 * 7, NULL));
		buf[32 * 7 + k] ^= 0x01;
	}
	vecs_canary_free(&c);
	free(buf);
}

static void test_bounds(void)
{
	struct vecs_canary c;
	struct vecs_err err = { 0 };
	uint8_t buf[64];

	CU_ASSERT_EQUAL(vecs_canary_init(&c, "", &err), -EINVAL);
	CU_ASSERT(strstr(err.msg, "seed") != NULL);
	CU_ASSERT_EQUAL_FATAL(vecs_canary_init(&c, "bounds", NULL), 0);
	/* the last record has index 2^32 - 1; one byte further is out of the stream */
	CU_ASSERT_EQUAL(vecs_canary_fill(&c, VECS_CANARY_MAX_SIZE - 32, buf, 32, NULL), 0);
	CU_ASSERT_EQUAL(buf[20] & buf[21] & buf[22] & buf[23], 0xFF);
	CU_ASSERT_EQUAL(vecs_canary_fill(&c, VECS_CANARY_MAX_SIZE - 32, buf, 33, &err), -ERANGE);
	vecs_canary_free(&c);
}

static void test_parse_size(void)
{
	struct { const char *s; int rc; uint64_t v; } cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "1k", 0, 1024 },
		{ "64M", 0, 64ull << 20 },
		{ "2G", 0, 2ull << 30 },
		{ "1T", 0, 1ull << 40 },
		{ "", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "12X", -EINVAL, 0 },
		{ "1MB", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "99999999999999999999", -EINVAL, 0 },
		{ "16777216T", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vecs_err err = { 0 };
		uint64_t v = 77;
		int rc = vecs_canary_parse_size(cases[i].s, &v, &err);

		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0) {
			CU_ASSERT_EQUAL(v, cases[i].v);
		} else {
			CU_ASSERT(strstr(err.msg, "K, M, G") != NULL);
		}
	}
}

static CU_TestInfo tests[] = {
	{ "known answer, seed \"kat\"", test_known_answer },
	{ "same seed same bytes, other seed other bytes", test_deterministic },
	{ "record layout and verification", test_layout },
	{ "stream bounds and empty seed", test_bounds },
	{ "size suffixes", test_parse_size },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(canary, "canary", tests)
