/* qcow2 header parsing: crypt_method and the encryption header extension, on headers
 * built here byte by byte from docs/interop/qcow2.txt. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "oracle/qcow2_crypt.h"
#include "tests/test_registry.h"
#include "util/bytes.h"

#define FILE_SIZE (4u << 20)

static uint8_t buf[1 << 16];

/* A v3 header, 112 bytes long, optional FDE extension, then an end marker. */
static size_t make_header(uint32_t version, uint32_t crypt, bool fde, uint64_t off, uint64_t len)
{
	size_t p;

	memset(buf, 0, sizeof(buf));
	be32_store(buf, QCOW2_MAGIC);
	be32_store(buf + 4, version);
	be32_store(buf + 20, 16);
	be64_store(buf + 24, 1u << 30);
	be32_store(buf + 32, crypt);
	p = version == 2 ? 72 : 112;
	if (version == 3)
		be32_store(buf + 100, 112);
	/* an unknown extension first, to prove the walk skips it (len 5 -> padded 8) */
	be32_store(buf + p, 0x6803f857);
	be32_store(buf + p + 4, 5);
	p += 16;
	if (fde) {
		be32_store(buf + p, QCOW2_EXT_FDE);
		be32_store(buf + p + 4, 16);
		be64_store(buf + p + 8, off);
		be64_store(buf + p + 16, len);
		p += 24;
	}
	return p + 8; /* end marker: type 0 */
}

static void test_luks_qcow2(void)
{
	struct qcow2_info q;
	struct findings f = { 0 };

	make_header(3, QCOW2_CRYPT_LUKS, true, 65536, 2068480);
	CU_ASSERT(qcow2_detect(buf, sizeof(buf)));
	CU_ASSERT_EQUAL(qcow2_parse(buf, sizeof(buf), FILE_SIZE, &q, &f), 0);
	CU_ASSERT_EQUAL(f.n, 0);
	CU_ASSERT(q.has_fde);
	CU_ASSERT_EQUAL(q.fde_offset, 65536);
	CU_ASSERT_EQUAL(q.fde_length, 2068480);
	CU_ASSERT_EQUAL(q.virtual_size, 1u << 30);
	/* version 2 headers end at byte 72 */
	memset(&f, 0, sizeof(f));
	make_header(2, QCOW2_CRYPT_LUKS, true, 65536, 4096);
	CU_ASSERT_EQUAL(qcow2_parse(buf, sizeof(buf), FILE_SIZE, &q, &f), 0);
	CU_ASSERT_EQUAL(q.fde_length, 4096);
}

static void expect(uint32_t version, uint32_t crypt, bool fde, uint64_t off, uint64_t len,
		   int rc, const char *id)
{
	struct qcow2_info q;
	struct findings f = { 0 };

	make_header(version, crypt, fde, off, len);
	CU_ASSERT_EQUAL(qcow2_parse(buf, sizeof(buf), FILE_SIZE, &q, &f), rc);
	CU_ASSERT(findings_has(&f, id));
	if (!findings_has(&f, id))
		fprintf(stderr, "\n  expected %s (v%u crypt %u)\n", id, version, crypt);
}

static void test_nonconformant(void)
{
	expect(3, QCOW2_CRYPT_NONE, false, 0, 0, -ENOENT, "qcow2.not_encrypted");
	expect(3, QCOW2_CRYPT_AES, false, 0, 0, -ENOENT, "qcow2.legacy_aes");
	expect(3, 7, false, 0, 0, -ENOENT, "qcow2.crypt_method");
	expect(3, QCOW2_CRYPT_LUKS, false, 0, 0, -ENOENT, "qcow2.fde_missing");
	expect(3, QCOW2_CRYPT_NONE, true, 65536, 4096, 0, "qcow2.fde_unexpected");
	expect(3, QCOW2_CRYPT_LUKS, true, FILE_SIZE, 4096, -EINVAL, "qcow2.fde_bounds");
	expect(3, QCOW2_CRYPT_LUKS, true, 65536, UINT64_MAX, -EINVAL, "qcow2.fde_bounds");
	expect(3, QCOW2_CRYPT_LUKS, true, 1000, 4096, -EINVAL, "qcow2.fde_bounds");
	expect(4, QCOW2_CRYPT_LUKS, true, 65536, 4096, -EINVAL, "qcow2.header");
}

static void test_malformed_extensions(void)
{
	struct qcow2_info q;
	struct findings f = { 0 };
	size_t end = make_header(3, QCOW2_CRYPT_LUKS, true, 65536, 4096);

	/* an extension length running past the first cluster */
	be32_store(buf + 112 + 4, 0x7fffffff);
	CU_ASSERT_EQUAL(qcow2_parse(buf, sizeof(buf), FILE_SIZE, &q, &f), -EINVAL);
	CU_ASSERT(findings_has(&f, "qcow2.extension"));
	/* no end marker anywhere in the cluster */
	memset(&f, 0, sizeof(f));
	make_header(3, QCOW2_CRYPT_LUKS, true, 65536, 4096);
	memset(buf + end - 8, 0xee, sizeof(buf) - (end - 8));
	CU_ASSERT_EQUAL(qcow2_parse(buf, sizeof(buf), FILE_SIZE, &q, &f), -EINVAL);
	CU_ASSERT(findings_has(&f, "qcow2.extension"));
	/* header_length not a multiple of 8, and a buffer too short for a header */
	memset(&f, 0, sizeof(f));
	make_header(3, QCOW2_CRYPT_LUKS, true, 65536, 4096);
	be32_store(buf + 100, 113);
	CU_ASSERT_EQUAL(qcow2_parse(buf, sizeof(buf), FILE_SIZE, &q, &f), -EINVAL);
	CU_ASSERT(findings_has(&f, "qcow2.header"));
	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(qcow2_parse(buf, 50, FILE_SIZE, &q, &f), -EINVAL);
	/* an FDE extension of the wrong length */
	memset(&f, 0, sizeof(f));
	make_header(3, QCOW2_CRYPT_LUKS, true, 65536, 4096);
	be32_store(buf + 112 + 16 + 4, 8);
	CU_ASSERT_EQUAL(qcow2_parse(buf, sizeof(buf), FILE_SIZE, &q, &f), -EINVAL);
	CU_ASSERT(findings_has(&f, "qcow2.fde_bounds"));
}

static CU_TestInfo tests[] = {
	{ "LUKS qcow2 v3 and v2 headers", test_luks_qcow2 },
	{ "nonconformant crypt methods and regions", test_nonconformant },
	{ "malformed extension areas", test_malformed_extensions },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(qcow2, "qcow2 header", tests)
