/* The at-rest scanner (oracle/scan.h): pieces at every offset, read boundaries, holes,
 * foreign seeds, hex text, trees; offsets exact to the byte. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oracle/scan.h"
#include "tests/test_registry.h"

#define MAX_HITS 64

struct collect {
	struct vecs_scan_hit hits[MAX_HITS];
	char paths[MAX_HITS][256];
	int n;
	int errors;
};

static int on_hit(const struct vecs_scan_hit *h, void *ctx)
{
	struct collect *c = ctx;

	if (c->n < MAX_HITS) {
		c->hits[c->n] = *h;
		snprintf(c->paths[c->n], sizeof(c->paths[0]), "%s", h->path);
	}
	c->n++;
	return 0;
}

static void on_error(const struct vecs_err *err, void *ctx)
{
	((struct collect *)ctx)->errors++;
}

static struct vecs_scan *scanner(struct collect *c, size_t buf_size, bool no_hex)
{
	struct vecs_scan_opts o = { .buf_size = buf_size, .no_hex = no_hex, .on_hit = on_hit,
				    .on_error = on_error, .ctx = c };
	struct vecs_scan *s = NULL;

	memset(c, 0, sizeof(*c));
	CU_ASSERT_EQUAL(vecs_scan_new(&s, "unit", &o, NULL), 0);
	return s;
}

/* Deterministic filler that contains no 0xC3 run and no hex "c3" pairs by chance. */
static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

static uint8_t *canary_bytes(const char *seed, uint64_t off, size_t len)
{
	struct vecs_canary c;
	uint8_t *p = malloc(len);

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL_FATAL(vecs_canary_init(&c, seed, NULL), 0);
	CU_ASSERT_EQUAL(vecs_canary_fill(&c, off, p, len, NULL), 0);
	vecs_canary_free(&c);
	return p;
}

/* Put canary[coff, coff+len) at buf[pos], with the bytes around it chosen to disagree
 * with the canary, so the expected range is exact. */
static void plant(uint8_t *buf, size_t buflen, size_t pos, const char *seed, uint64_t coff,
		  size_t len)
{
	uint8_t *c = canary_bytes(seed, coff ? coff - 1 : 0, len + 2);
	const uint8_t *piece = coff ? c + 1 : c;

	memcpy(buf + pos, piece, len);
	if (pos > 0)
		buf[pos - 1] = (uint8_t)~(coff ? c[0] : 0xC3);
	if (pos + len < buflen)
		buf[pos + len] = (uint8_t)~piece[len];
	free(c);
}

static void expect_hit(const struct collect *c, int i, enum vecs_scan_kind kind, uint64_t off,
		       uint64_t len, int64_t coff, uint64_t records)
{
	if (getenv("VECS_TEST_DEBUG"))
		for (int k = 0; k < c->n && k < MAX_HITS; k++)
			fprintf(stderr, "hit %d: %s off %llu len %llu co %lld rec %llu\n", k,
				vecs_scan_kind_name(c->hits[k].kind),
				(unsigned long long)c->hits[k].offset,
				(unsigned long long)c->hits[k].length,
				(long long)c->hits[k].canary_offset,
				(unsigned long long)c->hits[k].records);
	CU_ASSERT_FATAL(i < c->n);
	CU_ASSERT_EQUAL(c->hits[i].kind, kind);
	CU_ASSERT_EQUAL(c->hits[i].offset, off);
	CU_ASSERT_EQUAL(c->hits[i].length, len);
	CU_ASSERT_EQUAL(c->hits[i].canary_offset, coff);
	if (records)
		CU_ASSERT_EQUAL(c->hits[i].records, records);
}

/* A 47-byte piece (one record and the 15-byte run start of the next) at buffer offsets
 * 0..63 from a random base: every alignment mod 8 and mod 64, and across read buffers
 * of 256 bytes. */
static void test_piece_every_offset(void)
{
	enum { LEN = 4096 };
	uint8_t *buf = malloc(LEN);
	struct collect c;
	struct vecs_scan *s = scanner(&c, 256, false);

	for (size_t off = 0; off < 64; off++) {
		size_t pos = 1000 + off;

		fill_random(buf, LEN, off);
		plant(buf, LEN, pos, "unit", 160, 47);
		c.n = 0;
		CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, LEN, NULL), 0);
		CU_ASSERT_EQUAL(c.n, 1);
		expect_hit(&c, 0, VECS_SCAN_MATCH, pos, 47, 160, 1);
	}
	/* the very start and the very end of the data */
	fill_random(buf, LEN, 99);
	plant(buf, LEN, 0, "unit", 160, 47);
	plant(buf, LEN, LEN - 47, "unit", 160, 47);
	c.n = 0;
	CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, LEN, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 2);
	expect_hit(&c, 0, VECS_SCAN_MATCH, 0, 47, 160, 1);
	expect_hit(&c, 1, VECS_SCAN_MATCH, LEN - 47, 47, 160, 1);
	vecs_scan_free(s);
	free(buf);
}

/* 55-byte pieces cut from every offset within a record, at every alignment mod 8: the
 * range is exact whether the piece holds a whole record (match) or only a record cut
 * inside its check value (corrupt). */
static void test_piece_every_canary_offset(void)
{
	enum { LEN = 2048 };
	uint8_t *buf = malloc(LEN);
	struct collect c;
	struct vecs_scan *s = scanner(&c, 0, false);

	for (uint64_t co = 64; co < 96; co++) {
		size_t pos = 777 + (size_t)(co % 8);
		bool whole = co == 64 || co + 55 >= 128;

		fill_random(buf, LEN, co);
		plant(buf, LEN, pos, "unit", co, 55);
		c.n = 0;
		CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, LEN, NULL), 0);
		CU_ASSERT_EQUAL(c.n, 1);
		expect_hit(&c, 0, whole ? VECS_SCAN_MATCH : VECS_SCAN_CORRUPT, pos, 55,
			   (int64_t)co, 1);
	}
	vecs_scan_free(s);
	free(buf);
}

/* A piece straddling read-buffer boundaries (buffer 256 bytes) at every offset around
 * them, and a long leak across many buffers: one range each. */
static void test_read_boundaries(void)
{
	enum { LEN = 2048, BIG = 1 << 20, LEAK = 64 << 10 };
	uint8_t *buf = malloc(BIG);
	struct collect c;
	struct vecs_scan *s = scanner(&c, 256, false);

	for (size_t pos = 180; pos < 300; pos++) {
		fill_random(buf, LEN, pos);
		plant(buf, LEN, pos, "unit", 0, 200);
		c.n = 0;
		CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, LEN, NULL), 0);
		CU_ASSERT_EQUAL(c.n, 1);
		expect_hit(&c, 0, VECS_SCAN_MATCH, pos, 200, 0, 6);
	}
	vecs_scan_free(s);
	/* 2048 records: some check values end in 0xC3 (record 2763's does), so a run
	 * starts inside the previous record; that once split the range */
	s = scanner(&c, 4096, false);
	fill_random(buf, BIG, 7);
	plant(buf, BIG, 300001, "unit", 32 * 1000, LEAK);
	CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, BIG, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 1);
	expect_hit(&c, 0, VECS_SCAN_MATCH, 300001, LEAK, 32 * 1000, LEAK / 32);
	CU_ASSERT_EQUAL(vecs_scan_get_stats(s)->bytes_scanned, BIG);
	vecs_scan_free(s);
	free(buf);
}

/* 0xC3 runs that are not canary: no hit. */
static void test_not_canary(void)
{
	enum { LEN = 8192 };
	uint8_t *buf = malloc(LEN), *other = canary_bytes("other", 0, 32);
	struct collect c;
	struct vecs_scan *s = scanner(&c, 256, false);

	fill_random(buf, LEN, 3);
	memset(buf + 100, 0xC3, 16);          /* a run and random bytes */
	memset(buf + 1001, 0xC3, 3000);       /* a long run, across many buffers */
	memcpy(buf + 5003, other, 32);        /* one lone record of another seed */
	memset(buf + 6000, 0xC3, 16);         /* a run and a seed id of ours, minus a byte */
	memcpy(buf + 6016, vecs_scan_get_canary(s)->seed_id, 3);
	memcpy(buf + 7000, "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3deadbeef00000000", 48);
	CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, LEN, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 0);
	/* a buffer of nothing but 0xC3 */
	memset(buf, 0xC3, LEN - 1);
	buf[LEN - 1] = 0;
	CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, LEN, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 0);
	vecs_scan_free(s);
	free(other);
	free(buf);
}

static void test_foreign(void)
{
	enum { LEN = 4096 };
	uint8_t *buf = malloc(LEN), id[4];
	struct collect c;
	struct vecs_scan *s = scanner(&c, 256, false);

	CU_ASSERT_EQUAL(vecs_canary_seed_id("other", id, NULL), 0);
	fill_random(buf, LEN, 5);
	plant(buf, LEN, 333, "other", 64, 96);
	CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, LEN, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 1);
	expect_hit(&c, 0, VECS_SCAN_FOREIGN, 333, 96, 64, 3);
	CU_ASSERT(memcmp(c.hits[0].seed_id, id, 4) == 0);
	vecs_scan_free(s);
	free(buf);
}

static void test_corrupt(void)
{
	enum { LEN = 4096 };
	uint8_t *buf = malloc(LEN);
	struct collect c;
	struct vecs_scan *s = scanner(&c, 0, false);

	fill_random(buf, LEN, 6);
	plant(buf, LEN, 512, "unit", 0, 128);
	buf[512 + 64 + 30] ^= 0xFF; /* record 2's check value */
	CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, LEN, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 3);
	expect_hit(&c, 0, VECS_SCAN_MATCH, 512, 64, 0, 2);
	expect_hit(&c, 1, VECS_SCAN_CORRUPT, 576, 30, 64, 1);
	/* record 2's last byte is intact: the next range starts with it */
	expect_hit(&c, 2, VECS_SCAN_MATCH, 607, 33, 95, 1);
	vecs_scan_free(s);
	free(buf);
}

/* A record cut by the end of the data. */
static void test_partial(void)
{
	enum { LEN = 1024 };
	uint8_t *buf = malloc(LEN), *can = canary_bytes("unit", 0, 64);
	struct collect c;
	struct vecs_scan *s = scanner(&c, 256, false);
	struct {
		size_t n;       /* bytes of record 1 at the end */
		int64_t coff;   /* expected canary offset */
		bool hit;
	} cases[] = {
		{ 28, 32, true },  /* run, seed id, index, 4 check bytes */
		{ 20, -1, true },  /* run and seed id */
		{ 18, -1, true },  /* run and half a seed id */
		{ 16, -1, true },  /* the run alone at the very end */
		{ 15, 0, false },  /* less than a run */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fill_random(buf, LEN, i);
		memcpy(buf + LEN - cases[i].n, can + 32, cases[i].n);
		buf[LEN - cases[i].n - 1] = 0;
		c.n = 0;
		CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, LEN, NULL), 0);
		CU_ASSERT_EQUAL(c.n, cases[i].hit ? 1 : 0);
		if (cases[i].hit)
			expect_hit(&c, 0, VECS_SCAN_PARTIAL, LEN - cases[i].n, cases[i].n,
				   cases[i].coff, 1);
	}
	/* half a seed id that is not ours: no hit */
	memset(buf + LEN - 18, 0xC3, 16);
	buf[LEN - 2] = (uint8_t)~can[16];
	c.n = 0;
	CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, LEN, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 0);
	/* after a whole record, the cut one is part of the match */
	fill_random(buf, LEN, 11);
	memcpy(buf + LEN - 52, can, 52);
	c.n = 0;
	CU_ASSERT_EQUAL(vecs_scan_mem(s, "mem", buf, LEN, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 1);
	expect_hit(&c, 0, VECS_SCAN_MATCH, LEN - 52, 52, 0, 1);
	vecs_scan_free(s);
	free(can);
	free(buf);
}

static void to_hex(const uint8_t *p, size_t n, char *out, bool upper)
{
	const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void test_hex(void)
{
	enum { LEN = 4096 };
	uint8_t *can = canary_bytes("unit", 0, 96);
	char *buf = malloc(LEN), hex[256];
	struct collect c;
	struct vecs_scan *s = scanner(&c, 256, false);

	for (int upper = 0; upper < 2; upper++) {
		for (size_t lead = 0; lead < 8; lead++) {
			int n;

			memset(buf, 'x', LEN);
			to_hex(can, 96, hex, upper);
			n = snprintf(buf + 200 + lead, 400, "2024-01-01 write data=%s end\n", hex);
			buf[200 + lead + (size_t)n] = 'x';
			c.n = 0;
			CU_ASSERT_EQUAL(vecs_scan_mem(s, "log", buf, LEN, NULL), 0);
			CU_ASSERT_EQUAL(c.n, 1);
			expect_hit(&c, 0, VECS_SCAN_HEX, 200 + lead + 22, 192, 0, 3);
		}
	}
	/* hex of a record cut after its index: still found, 48 characters */
	memset(buf, 'x', LEN);
	to_hex(can + 32, 24, hex, false);
	memcpy(buf + 1000, hex, 48);
	c.n = 0;
	CU_ASSERT_EQUAL(vecs_scan_mem(s, "log", buf, LEN, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 1);
	expect_hit(&c, 0, VECS_SCAN_HEX, 1000, 48, 32, 1);
	vecs_scan_free(s);
	/* and ignored when asked to */
	s = scanner(&c, 0, true);
	CU_ASSERT_EQUAL(vecs_scan_mem(s, "log", buf, LEN, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 0);
	vecs_scan_free(s);
	free(can);
	free(buf);
}

static char *tmp_path(const char *name)
{
	static char p[4][512];
	static int i;
	char *r = p[i++ & 3];

	snprintf(r, sizeof(p[0]), "%s/%s", vecs_test_tmpdir(), name);
	return r;
}

static void write_at(const char *path, uint64_t off, const void *p, size_t n, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	if (size)
		CU_ASSERT_EQUAL(ftruncate(fd, (off_t)size), 0);
	CU_ASSERT_EQUAL(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
	close(fd);
}

/* Canary after a hole: found at its file offset, and the hole is not read. */
static void test_sparse_file(void)
{
	const char *path = tmp_path("sparse");
	uint8_t *can = canary_bytes("unit", 0, 100);
	uint8_t junk[4096];
	struct collect c;
	struct vecs_scan *s = scanner(&c, 0, false);
	const struct vecs_scan_stats *st;

	fill_random(junk, sizeof(junk), 1);
	write_at(path, 0, junk, sizeof(junk), 8 << 20);
	write_at(path, (5 << 20) + 3, can, 100, 0);
	CU_ASSERT_EQUAL(vecs_scan_path(s, path, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 1);
	expect_hit(&c, 0, VECS_SCAN_MATCH, (5 << 20) + 3, 100, 0, 3);
	CU_ASSERT_STRING_EQUAL(c.paths[0], path);
	st = vecs_scan_get_stats(s);
	CU_ASSERT_EQUAL(st->files_scanned, 1);
	CU_ASSERT(st->bytes_skipped_holes >= (4 << 20));
	CU_ASSERT_EQUAL(st->bytes_scanned + st->bytes_skipped_holes, 8 << 20);
	vecs_scan_free(s);
	free(can);
}

/* A tree: hits below it, symlinks not followed, a missing path is an error. */
static void test_tree(void)
{
	uint8_t *can = canary_bytes("unit", 0, 64), junk[512];
	struct collect c;
	struct vecs_scan *s = scanner(&c, 0, false);
	struct vecs_err err = { 0 };
	char dir[512], sub[512], outside[512];

	snprintf(dir, sizeof(dir), "%s", tmp_path("tree"));
	snprintf(sub, sizeof(sub), "%s", tmp_path("tree/sub"));
	snprintf(outside, sizeof(outside), "%s", tmp_path("outside"));

	fill_random(junk, sizeof(junk), 2);
	CU_ASSERT_EQUAL(mkdir(dir, 0700), 0);
	CU_ASSERT_EQUAL(mkdir(sub, 0700), 0);
	write_at(tmp_path("tree/a"), 0, junk, sizeof(junk), 0);
	write_at(tmp_path("tree/sub/b"), 0, junk, sizeof(junk), 0);
	write_at(tmp_path("tree/sub/b"), 100, can, 64, 0);
	write_at(outside, 0, can, 64, 0);
	CU_ASSERT_EQUAL(symlink(outside, tmp_path("tree/link")), 0);
	CU_ASSERT_EQUAL(vecs_scan_path(s, dir, NULL), 0);
	CU_ASSERT_EQUAL(c.n, 1);
	CU_ASSERT(strstr(c.paths[0], "tree/sub/b") != NULL);
	expect_hit(&c, 0, VECS_SCAN_MATCH, 100, 64, 0, 2);
	CU_ASSERT_EQUAL(vecs_scan_get_stats(s)->files_scanned, 2);
	CU_ASSERT_EQUAL(vecs_scan_get_stats(s)->files_skipped, 1);
	/* a symlink named on the command line is followed */
	c.n = 0;
	CU_ASSERT_EQUAL(vecs_scan_path(s, tmp_path("tree/link"), NULL), 0);
	CU_ASSERT_EQUAL(c.n, 1);
	CU_ASSERT_EQUAL(vecs_scan_path(s, tmp_path("missing"), &err), -ENOENT);
	CU_ASSERT(strstr(err.msg, "missing") != NULL);
	vecs_scan_free(s);
	free(can);
}

static CU_TestInfo tests[] = {
	{ "47-byte piece at every offset 0..63", test_piece_every_offset },
	{ "pieces cut at every canary offset, exact ranges", test_piece_every_canary_offset },
	{ "records across read-buffer boundaries, long leak", test_read_boundaries },
	{ "0xC3 runs without a record are no hit", test_not_canary },
	{ "foreign seed", test_foreign },
	{ "corrupt record between matches", test_corrupt },
	{ "partial record at the end of the data", test_partial },
	{ "hex text, both cases, every alignment", test_hex },
	{ "sparse file: canary after a hole", test_sparse_file },
	{ "directory tree, symlinks, missing path", test_tree },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(scan, "scan", tests)
