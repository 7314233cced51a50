/* faults/corrupt: where each target lies (raw LUKS1 from the builder and from
 * cryptsetup's own test images; a hand-built qcow2 with an FDE extension and an L2 table
 * that has zero and compressed entries before the first data cluster), that apply
 * changes exactly one bit (or keyslot 1) inside the field, and that restore puts every
 * byte back. Offsets are written out here from the LUKS1 spec and qcow2.txt, not taken
 * from corrupt.c. */
#include <CUnit/CUnit.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faults/corrupt.h"
#include "oracle/luks1_header.h"
#include "tests/luks1_builder.h"
#include "tests/test_registry.h"
#include "util/bytes.h"
#include "util/spawn.h"

#define CLUSTER 65536u
#define Q_LUKS_OFF (1 * CLUSTER) /* LUKS region: clusters 1.. */
#define Q_EXT_DATA 112u          /* 104-byte v3 header, then the extension's 8-byte head */

static uint8_t *raw_img, *q_img;
static size_t raw_len, q_len;
static struct luks1_header raw_h;
static uint64_t q_data_off; /* the data cluster the locator must find */
static char raw_path[4096], q_path[4096];

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(buf, 1, len, f) == len;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* qcow2 v3, 64 KiB clusters, crypt_method 2, the FDE extension pointing at the LUKS
 * image in clusters 1..k, the L1 table, an L2 table whose entries 0 (zero flag) and 1
 * (compressed) must be skipped and whose entry 2 is the first data cluster. */
static int build_qcow2(void)
{
	size_t luks_clusters = (raw_h.payload_offset * (size_t)LUKS1_SECTOR + CLUSTER - 1) / CLUSTER;
	uint64_t l1 = Q_LUKS_OFF + luks_clusters * CLUSTER, l2 = l1 + CLUSTER;
	uint8_t *p;

	q_data_off = l2 + 2 * CLUSTER; /* cluster l2+1 is the "compressed" one's target */
	q_len = (size_t)q_data_off + CLUSTER;
	q_img = p = calloc(1, q_len);
	if (!p)
		return -1;
	be32_store(p, 0x514649fbu);
	be32_store(p + 4, 3);
	be32_store(p + 20, 16);                   /* cluster_bits */
	be64_store(p + 24, 16u << 20);            /* virtual size */
	be32_store(p + 32, 2);                    /* crypt_method LUKS */
	be32_store(p + 36, 1);                    /* l1_size */
	be64_store(p + 40, l1);                   /* l1_table_offset */
	be32_store(p + 100, 104);                 /* header_length */
	be32_store(p + 104, 0x0537be77u);         /* FDE extension */
	be32_store(p + 108, 16);
	be64_store(p + Q_EXT_DATA, Q_LUKS_OFF);
	be64_store(p + Q_EXT_DATA + 8, luks_clusters * CLUSTER);
	/* end marker: 8 zero bytes at 128 */
	memcpy(p + Q_LUKS_OFF, raw_img, (size_t)raw_h.payload_offset * LUKS1_SECTOR);
	be64_store(p + l1, (1ull << 63) | l2);
	be64_store(p + l2, (1ull << 63) | (l2 + CLUSTER) | 1); /* zero flag */
	be64_store(p + l2 + 8, (1ull << 62) | (l2 + CLUSTER));  /* compressed */
	be64_store(p + l2 + 16, (1ull << 63) | q_data_off);
	memset(p + q_data_off, 0x5a, CLUSTER);
	return 0;
}

static int suite_init(void)
{
	struct luks1_build b = luks1_build_defaults();

	raw_img = luks1_build_image(&b, &raw_len, &raw_h, NULL);
	if (!raw_img || build_qcow2() < 0)
		return -1;
	snprintf(raw_path, sizeof(raw_path), "%s/corrupt-raw.img", vecs_test_tmpdir());
	snprintf(q_path, sizeof(q_path), "%s/corrupt.qcow2", vecs_test_tmpdir());
	return 0;
}

static int suite_cleanup(void)
{
	free(raw_img);
	free(q_img);
	unlink(raw_path);
	unlink(q_path);
	return 0;
}

/* Offsets of the phdr fields, from the LUKS1 spec (1.2.3, table 1 and 2). */
static const struct { const char *id; uint64_t off; size_t len; } phdr_fields[] = {
	{ "luks.magic", 0, 6 },           { "luks.version", 6, 2 },
	{ "luks.cipher_name", 8, 32 },    { "luks.cipher_mode", 40, 32 },
	{ "luks.hash_spec", 72, 32 },     { "luks.payload_offset", 104, 4 },
	{ "luks.key_bytes", 108, 4 },     { "luks.mk_digest", 112, 20 },
	{ "luks.mk_digest_salt", 132, 32 }, { "luks.mk_digest_iter", 164, 4 },
	{ "luks.uuid", 168, 40 },         { "luks.ks0.active", 208, 4 },
	{ "luks.ks0.iterations", 212, 4 }, { "luks.ks0.salt", 216, 32 },
	{ "luks.ks0.key_offset", 248, 4 }, { "luks.ks0.stripes", 252, 4 },
	{ "luks.ks1.active", 256, 48 },
};

static void expect_at(const char *path, const char *id, uint64_t off, size_t len)
{
	struct vecs_err err = { 0 };
	uint64_t got_off = 0;
	size_t got_len = 0;
	int r = vecs_corrupt_locate(path, id, &got_off, &got_len, &err);

	CU_ASSERT_EQUAL_FATAL(r, 0);
	if (got_off != off || got_len != len)
		fprintf(stderr, "\n  %s in %s: got %llu+%zu, want %llu+%zu\n", id, path,
			(unsigned long long)got_off, got_len, (unsigned long long)off, len);
	CU_ASSERT_EQUAL(got_off, off);
	CU_ASSERT_EQUAL(got_len, len);
}

static void test_target_table(void)
{
	CU_ASSERT(vecs_corrupt_n_targets >= 21);
	for (size_t i = 0; i < vecs_corrupt_n_targets; i++) {
		const struct vecs_corrupt_target *t = &vecs_corrupt_targets[i];
		CU_ASSERT_PTR_EQUAL(vecs_corrupt_find(t->id), t);
		CU_ASSERT(t->description && strlen(t->description) > 10);
		CU_ASSERT(strlen(t->id) < sizeof(((struct vecs_corrupt_undo *)0)->target));
		CU_ASSERT_NOT_EQUAL(t->expect_qcow2, VECS_CORRUPT_NOT_APPLICABLE);
		CU_ASSERT_EQUAL(t->expect == VECS_CORRUPT_NOT_APPLICABLE, strncmp(t->id, "qcow2.", 6) == 0);
	}
	CU_ASSERT_PTR_NULL(vecs_corrupt_find("luks.nonsense"));
	CU_ASSERT_STRING_EQUAL(vecs_corrupt_expect_name(VECS_CORRUPT_UNDETECTABLE), "undetectable");
	CU_ASSERT_EQUAL(vecs_corrupt_expect_on(vecs_corrupt_find("luks.payload_offset"), true),
			VECS_CORRUPT_HARMLESS);
	CU_ASSERT_EQUAL(vecs_corrupt_expect_on(vecs_corrupt_find("luks.payload_offset"), false),
			VECS_CORRUPT_UNDETECTABLE);
}

static void test_locate_raw(void)
{
	struct vecs_err err = { 0 };
	uint64_t off;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(write_file(raw_path, raw_img, raw_len), 0);
	for (size_t i = 0; i < sizeof(phdr_fields) / sizeof(phdr_fields[0]); i++)
		expect_at(raw_path, phdr_fields[i].id, phdr_fields[i].off, phdr_fields[i].len);
	expect_at(raw_path, "luks.ks0.material", 8 * 512, 64 * 4000);
	/* the builder's payload is 16 sectors: less than the 64 KiB span */
	expect_at(raw_path, "ciphertext", (uint64_t)raw_h.payload_offset * 512, 16 * 512);
	CU_ASSERT_EQUAL(vecs_corrupt_locate(raw_path, "qcow2.crypt_method", &off, &len, &err), -EINVAL);
	CU_ASSERT(strstr(err.msg, "raw LUKS1") != NULL);
	CU_ASSERT_EQUAL(vecs_corrupt_locate(raw_path, "luks.bogus", &off, &len, &err), -ENOENT);
}

static void test_locate_qcow2(void)
{
	CU_ASSERT_EQUAL_FATAL(write_file(q_path, q_img, q_len), 0);
	for (size_t i = 0; i < sizeof(phdr_fields) / sizeof(phdr_fields[0]); i++)
		expect_at(q_path, phdr_fields[i].id, Q_LUKS_OFF + phdr_fields[i].off, phdr_fields[i].len);
	expect_at(q_path, "luks.ks0.material", Q_LUKS_OFF + 8 * 512, 64 * 4000);
	expect_at(q_path, "qcow2.crypt_method", 32, 4);
	expect_at(q_path, "qcow2.crypto_ext", Q_EXT_DATA, 8);
	expect_at(q_path, "qcow2.crypto_ext_length", Q_EXT_DATA + 8, 8);
	expect_at(q_path, "ciphertext", q_data_off, CLUSTER);
}

/* A qcow2 whose L2 table holds no data cluster: nothing to corrupt, said clearly. */
static void test_locate_qcow2_unallocated(void)
{
	uint8_t *copy = malloc(q_len);
	struct vecs_err err = { 0 };
	uint64_t off;
	size_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	memcpy(copy, q_img, q_len);
	memset(copy + q_data_off - 2 * CLUSTER + 16, 0, 8); /* L2 entry 2 */
	CU_ASSERT_EQUAL_FATAL(write_file(q_path, copy, q_len), 0);
	CU_ASSERT_EQUAL(vecs_corrupt_locate(q_path, "ciphertext", &off, &len, &err), -ENOENT);
	CU_ASSERT(strstr(err.msg, "no allocated data cluster") != NULL);
	free(copy);
}

/* cryptsetup's own test image (256-bit key: 128000 bytes of material). */
static void test_locate_cryptsetup_fixture(void)
{
	const char *fx = vecs_test_shared_fixtures();
	char tarball[4096], img[4096], tar_err[512] = "";
	struct vecs_spawn_opts o = { .timeout_ms = 60000, .errbuf = tar_err, .err_cap = sizeof(tar_err) };
	struct vecs_err err = { 0 };
	struct luks1_header h;
	uint8_t phdr[LUKS1_PHDR_SIZE];
	int status = -1, fd;

	if (!fx) {
		fprintf(stderr, "\n  shared fixtures missing (../shared/fixtures or VECS_SHARED_FIXTURES)\n");
		CU_FAIL("shared fixtures missing");
		return;
	}
	snprintf(tarball, sizeof(tarball), "%s/cryptsetup/luks1-images.tar.xz", fx);
	{
		const char *argv[] = { "tar", "-xJf", tarball, "-C", vecs_test_tmpdir(),
				       "luks1-images/luks1_aes-xts-plain64-sha256.img", NULL };
		CU_ASSERT_EQUAL_FATAL(vecs_spawn_run(argv, &o, &status, &err), 0);
	}
	if (status != 0)
		fprintf(stderr, "\n  tar -xJf %s: status %d: %s\n", tarball, status, tar_err);
	CU_ASSERT_EQUAL_FATAL(status, 0);
	snprintf(img, sizeof(img), "%s/luks1-images/luks1_aes-xts-plain64-sha256.img", vecs_test_tmpdir());
	fd = open(img, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(pread(fd, phdr, sizeof(phdr), 0), (ssize_t)sizeof(phdr));
	close(fd);
	luks1_decode(phdr, &h);
	CU_ASSERT_EQUAL(h.key_bytes, 32);
	expect_at(img, "luks.uuid", 168, 40);
	for (int s = 0; s < 2; s++) {
		/* the fixture's only keyslot is 0 */
		CU_ASSERT_EQUAL(h.keyslots[s].active, s == 0 ? LUKS1_KEY_ENABLED : LUKS1_KEY_DISABLED);
	}
	expect_at(img, "luks.ks0.material", (uint64_t)h.keyslots[0].key_material_offset * 512, 32 * 4000);
	expect_at(img, "ciphertext", (uint64_t)h.payload_offset * 512, 65536);
	unlink(img);
}

/* The set bits that differ between a and b: exactly one, at byte *at, or more. */
static int diff_bits(const uint8_t *a, const uint8_t *b, size_t len, size_t *at, size_t *bytes)
{
	int bits = 0;

	*bytes = 0;
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i]) {
			bits += __builtin_popcount(a[i] ^ b[i]);
			if (!*bytes)
				*at = i;
			(*bytes)++;
		}
	return bits;
}

static uint32_t be32_at(const uint8_t *img, uint64_t off)
{
	return be32_load(img + off);
}

/* What a change must look like for targets with numeric rules. */
static void check_value_rule(const char *id, const uint8_t *before, const uint8_t *after,
			     uint64_t field)
{
	if (!strcmp(id, "luks.mk_digest_iter") || !strcmp(id, "luks.ks0.iterations"))
		CU_ASSERT(be32_at(after, field) < be32_at(before, field));
	if (!strcmp(id, "luks.payload_offset"))
		CU_ASSERT(be32_at(after, field) > be32_at(before, field) &&
			  be32_at(after, field) <= be32_at(before, field) + 255);
	if (!strcmp(id, "luks.ks0.stripes"))
		CU_ASSERT(be32_at(after, field) < 8192);
	if (!strcmp(id, "luks.key_bytes"))
		CU_ASSERT(be32_at(after, field) < 256);
	if (!strcmp(id, "qcow2.crypt_method")) {
		uint32_t v = be32_at(after, field);
		CU_ASSERT(v > 2 && v < 256);
	}
	if (!strcmp(id, "qcow2.crypto_ext_length"))
		CU_ASSERT(be64_load(after + field) > be64_load(before + field) + (1ull << 31));
	if (!strcmp(id, "luks.cipher_name") || !strcmp(id, "luks.cipher_mode") ||
	    !strcmp(id, "luks.hash_spec")) {
		/* a character of the name changes, never only its case */
		size_t n = strnlen((const char *)before + field, 32), i;
		for (i = 0; i < 32 && before[field + i] == after[field + i]; i++)
			;
		CU_ASSERT(i < n);
		CU_ASSERT(i < 32 && (tolower(before[field + i]) != tolower(after[field + i]) ||
				     !isalpha(before[field + i])));
	}
	if (!strcmp(id, "luks.ks1.active")) {
		CU_ASSERT_EQUAL(be32_at(after, field), LUKS1_KEY_ENABLED);
		CU_ASSERT(be32_at(after, field + 4) >= 1000 && be32_at(after, field + 4) < 2000);
		/* key material offset and stripes kept */
		CU_ASSERT(memcmp(after + field + 40, before + field + 40, 8) == 0);
	}
}

static void apply_restore_one(const char *path, const uint8_t *img, size_t len, const char *id,
			      uint64_t seed)
{
	struct vecs_corrupt_undo u;
	struct vecs_err err = { 0 };
	uint64_t foff;
	size_t flen, at = 0, nbytes, got_len;
	uint8_t *after;
	int bits;

	CU_ASSERT_EQUAL_FATAL(write_file(path, img, len), 0);
	CU_ASSERT_EQUAL_FATAL(vecs_corrupt_locate(path, id, &foff, &flen, &err), 0);
	if (vecs_corrupt_apply(path, id, seed, &u, &err) != 0) {
		fprintf(stderr, "\n  apply %s seed %llu: %s\n", id, (unsigned long long)seed, err.msg);
		CU_FAIL("apply failed");
		return;
	}
	CU_ASSERT_STRING_EQUAL(u.target, id);
	CU_ASSERT_EQUAL(u.qcow2, path == q_path);
	after = read_file(path, &got_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(after);
	CU_ASSERT_EQUAL_FATAL(got_len, len);
	bits = diff_bits(img, after, len, &at, &nbytes);
	if (!strcmp(id, "luks.ks1.active")) {
		CU_ASSERT(nbytes > 4 && at >= foff && at + nbytes <= foff + flen);
	} else {
		CU_ASSERT_EQUAL(bits, 1);
		CU_ASSERT(at >= foff && at < foff + flen);
		CU_ASSERT_EQUAL(u.len, 1);
		CU_ASSERT_EQUAL(u.offset, at);
	}
	CU_ASSERT_EQUAL(memcmp(img + u.offset, u.old, u.len), 0);
	CU_ASSERT_EQUAL(memcmp(after + u.offset, u.now, u.len), 0);
	check_value_rule(id, img, after, foff);
	free(after);

	CU_ASSERT_EQUAL(vecs_corrupt_restore(path, &u, &err), 0);
	after = read_file(path, &got_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(after);
	CU_ASSERT(got_len == len && memcmp(after, img, len) == 0);
	free(after);
}

static void test_apply_restore_every_target(void)
{
	for (size_t i = 0; i < vecs_corrupt_n_targets; i++) {
		const char *id = vecs_corrupt_targets[i].id;
		for (uint64_t seed = 0; seed < 12; seed++) {
			apply_restore_one(q_path, q_img, q_len, id, seed * 0x9e37 + 1);
			if (strncmp(id, "qcow2.", 6) != 0)
				apply_restore_one(raw_path, raw_img, raw_len, id, seed * 0x9e37 + 1);
		}
	}
}

/* QEMU's layout puts the payload at 4040 sectors (0xFC8: low bits set, unlike
 * cryptsetup's 4096): the offset must still only grow, whichever bit the seed picks. */
static void test_payload_offset_grows_on_qemu_layout(void)
{
	uint8_t *copy = malloc(raw_len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	memcpy(copy, raw_img, raw_len);
	be32_store(copy + 104, 4040);
	for (uint64_t seed = 0; seed < 32; seed++)
		apply_restore_one(raw_path, copy, raw_len, "luks.payload_offset", seed);
	free(copy);
}

/* Same seed, same change; the seeds spread over the field. */
static void test_seed_determinism(void)
{
	struct vecs_corrupt_undo a, b;
	struct vecs_err err = { 0 };
	uint64_t offs[16];
	int distinct = 0;

	for (int s = 0; s < 16; s++) {
		CU_ASSERT_EQUAL_FATAL(write_file(raw_path, raw_img, raw_len), 0);
		CU_ASSERT_EQUAL_FATAL(vecs_corrupt_apply(raw_path, "luks.ks0.salt", (uint64_t)s, &a, &err), 0);
		CU_ASSERT_EQUAL_FATAL(write_file(raw_path, raw_img, raw_len), 0);
		CU_ASSERT_EQUAL_FATAL(vecs_corrupt_apply(raw_path, "luks.ks0.salt", (uint64_t)s, &b, &err), 0);
		CU_ASSERT(a.offset == b.offset && a.len == b.len && memcmp(a.now, b.now, a.len) == 0);
		offs[s] = a.offset;
		distinct += s == 0 || offs[s] != offs[s - 1];
	}
	CU_ASSERT(distinct >= 8);
}

static void test_restore_refuses_stale(void)
{
	struct vecs_corrupt_undo u;
	struct vecs_err err = { 0 };
	uint8_t *after, other;
	size_t len;
	int fd;

	CU_ASSERT_EQUAL_FATAL(write_file(raw_path, raw_img, raw_len), 0);
	CU_ASSERT_EQUAL_FATAL(vecs_corrupt_apply(raw_path, "luks.mk_digest", 5, &u, &err), 0);
	other = (uint8_t)(u.now[0] ^ 0xff);
	fd = open(raw_path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, &other, 1, (off_t)u.offset), 1);
	close(fd);
	CU_ASSERT_EQUAL(vecs_corrupt_restore(raw_path, &u, &err), -ESTALE);
	CU_ASSERT(strstr(err.msg, "not restored") != NULL);
	after = read_file(raw_path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(after);
	CU_ASSERT_EQUAL(after[u.offset], other);
	free(after);
}

static void test_refusals(void)
{
	struct vecs_corrupt_undo u;
	struct vecs_err err = { 0 };
	struct luks1_build b = luks1_build_defaults();
	struct luks1_header h;
	uint8_t zeros[4096] = { 0 }, *two, *after;
	size_t len, got;

	CU_ASSERT_EQUAL_FATAL(write_file(raw_path, zeros, sizeof(zeros)), 0);
	CU_ASSERT_EQUAL(vecs_corrupt_apply(raw_path, "luks.magic", 1, &u, &err), -EINVAL);
	CU_ASSERT(strstr(err.msg, "no LUKS1 header") != NULL);
	CU_ASSERT_EQUAL(vecs_corrupt_apply(raw_path, "nope", 1, &u, &err), -ENOENT);
	after = read_file(raw_path, &got);
	CU_ASSERT(after && got == sizeof(zeros) && memcmp(after, zeros, got) == 0);
	free(after);

	/* keyslot 1 already enabled: luks.ks1.active has nothing to fake */
	b.slot_mask = 3;
	two = luks1_build_image(&b, &len, &h, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(two);
	CU_ASSERT_EQUAL_FATAL(write_file(raw_path, two, len), 0);
	CU_ASSERT_EQUAL(vecs_corrupt_apply(raw_path, "luks.ks1.active", 1, &u, &err), -EEXIST);
	after = read_file(raw_path, &got);
	CU_ASSERT(after && got == len && memcmp(after, two, len) == 0);
	free(after);
	free(two);
	CU_ASSERT_EQUAL(vecs_corrupt_apply("/nonexistent/vol", "luks.magic", 1, &u, &err), -ENOENT);
}

static void test_undo_file(void)
{
	char file[4096];
	struct vecs_corrupt_undo u, back;
	struct vecs_err err = { 0 };
	struct stat st;
	FILE *f;

	snprintf(file, sizeof(file), "%s/undo.txt", vecs_test_tmpdir());
	CU_ASSERT_EQUAL_FATAL(write_file(q_path, q_img, q_len), 0);
	CU_ASSERT_EQUAL_FATAL(vecs_corrupt_apply(q_path, "luks.ks1.active", 3, &u, &err), 0);
	CU_ASSERT_EQUAL_FATAL(vecs_corrupt_undo_save(file, &u, &err), 0);
	CU_ASSERT_EQUAL(stat(file, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL_FATAL(vecs_corrupt_undo_load(file, &back, &err), 0);
	CU_ASSERT_STRING_EQUAL(back.target, "luks.ks1.active");
	CU_ASSERT(back.qcow2);
	CU_ASSERT(back.offset == u.offset && back.len == u.len && back.len == 48);
	CU_ASSERT(memcmp(back.old, u.old, u.len) == 0 && memcmp(back.now, u.now, u.len) == 0);
	CU_ASSERT_EQUAL(vecs_corrupt_restore(q_path, &back, &err), 0);

	f = fopen(file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("vecs-corrupt-undo 1\ntarget luks.magic\ncontainer raw\noffset 0\nlen 2\nold 4c\nnow 4d\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(vecs_corrupt_undo_load(file, &back, &err), -EINVAL);
	unlink(file);
}

static CU_TestInfo tests[] = {
	{ "target table: ids, descriptions, expectations", test_target_table },
	{ "locate every target in a raw LUKS1 image", test_locate_raw },
	{ "locate every target in a qcow2 with LUKS", test_locate_qcow2 },
	{ "ciphertext on a qcow2 without data clusters: -ENOENT", test_locate_qcow2_unallocated },
	{ "locate in cryptsetup's own LUKS1 test image", test_locate_cryptsetup_fixture },
	{ "apply flips one bit in the field; restore is byte-exact", test_apply_restore_every_target },
	{ "payload offset only grows (QEMU's 4040 layout)", test_payload_offset_grows_on_qemu_layout },
	{ "same seed, same change; seeds spread", test_seed_determinism },
	{ "restore refuses bytes changed since", test_restore_refuses_stale },
	{ "refusals: no LUKS, unknown target, keyslot 1 in use", test_refusals },
	{ "undo file round trip, mode 0600, malformed refused", test_undo_file },
	CU_TEST_INFO_NULL,
};

VECS_SUITE_FULL(corrupt, "corrupt", suite_init, suite_cleanup, tests)
