#include "oracle/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUN_BYTE VECS_CANARY_RUN_BYTE
#define RUN_WORD UINT64_C(0xC3C3C3C3C3C3C3C3)
/* A candidate is judged with the bytes [run end - 64, run end + 48) in memory: up to 16
 * bytes of run ambiguity, 32 bytes of back extension before the record, and the record
 * plus the next one after it (the foreign-pair test). Hex needs 64 characters back and
 * 32 ahead of the run end. So a window is only scanned up to TAIL bytes before its end
 * unless it is the last one, and BACK bytes before the scan position are carried into
 * the next read. */
#define BACK 64
#define TAIL 128
#define CARRY_MAX 256
#define BLOCK 64
#define DEFAULT_BUF (512u << 10)
#define MIN_BUF 256
#define MAX_DEPTH 256

static inline uint64_t align_down8(uint64_t x)
{
	return x & ~(uint64_t)7;
}

static inline uint64_t align_up8(uint64_t x)
{
	return (x + 7) & ~(uint64_t)7;
}

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A hit range being grown: consecutive records in a file become one hit. */
struct range {
	bool active;
	enum vecs_scan_kind kind;
	uint64_t start, end;   /* file offsets */
	int64_t canary_off;    /* -1 unknown */
	int64_t canary_end;    /* canary offset just past the range, -1 unknown */
	uint64_t records;
	uint8_t seed_id[VECS_CANARY_SEED_ID_LEN];
};

/* Bytes [off, end) of the current data extent, at p. */
struct window {
	const uint8_t *p;
	uint64_t off, end;
	bool final;  /* end is the end of the extent: nothing more will follow */
};

/* Signed, as x may lie in the carried bytes just before off (still inside the buffer). */
#define AT(w, x) ((w)->p + (ptrdiff_t)((int64_t)(x) - (int64_t)(w)->off))

typedef ssize_t (*read_fn)(void *src, void *buf, size_t n, uint64_t off);
/* index of the first 64-byte block with a candidate word, nblk if none */
typedef size_t (*find_block_fn)(const uint8_t *p, size_t nblk);

struct vecs_scan {
	struct vecs_canary canary;
	struct vecs_scan_opts opts;
	find_block_fn find_block;
	size_t buf_size;
	uint8_t *buf;  /* CARRY_MAX bytes of carry room, then buf_size of read buffer */
	struct vecs_scan_stats stats;
	const char *path;
	/* state of the current data extent */
	uint64_t scan_pos;  /* next 8-aligned word to test */
	uint64_t last_end;  /* end of the last hit range: nothing before it is looked at again */
	struct range pend;
	int cb_err;
};

const char *vecs_scan_kind_name(enum vecs_scan_kind kind)
{
	switch (kind) {
	case VECS_SCAN_MATCH: return "match";
	case VECS_SCAN_CORRUPT: return "corrupt";
	case VECS_SCAN_PARTIAL: return "partial";
	case VECS_SCAN_FOREIGN: return "foreign";
	case VECS_SCAN_HEX: return "hex";
	}
	return "unknown";
}

/* --- the pre-filter -------------------------------------------------------------------
 * Every 16-byte run holds an 8-byte-aligned word of 0xC3, so it holds two aligned
 * 4-byte words of 0xC3C3C3C3; 32 hex characters "c3c3..." hold aligned 4-byte words
 * "c3c3" or "3c3c". OR-ing 0x20 into every byte folds 'C' into 'c' (and 0xC3 into 0xE3),
 * so three compares cover binary and both hex cases. GCC vector extensions keep this
 * portable (SSE2 on plain x86-64) and branch once per 64-byte block. */
typedef uint32_t v8u32 __attribute__((vector_size(32)));

/* Macros, not functions: passing 32-byte vectors by value would tie the ABI to AVX. */
#define LOAD32(v, p) memcpy(&(v), (p), sizeof(v))

static inline bool any_lane(const void *m)
{
	uint64_t t[4];
	memcpy(t, m, sizeof(t));
	return (t[0] | t[1] | t[2] | t[3]) != 0;
}

#define SPLAT(x) { x, x, x, x, x, x, x, x }
#define HEX_C3C3 0x33633363u /* "c3c3" little-endian */
#define HEX_3C3C 0x63336333u /* "3c3c" */
#define FOLD 0x20202020u

static size_t find_block_bin(const uint8_t *p, size_t nblk)
{
	const v8u32 k = SPLAT(0xC3C3C3C3u);

	for (size_t i = 0; i < nblk; i++, p += BLOCK) {
		v8u32 a, b, m;
		LOAD32(a, p);
		LOAD32(b, p + 32);
		m = (v8u32)((a == k) | (b == k));
		if (any_lane(&m))
			return i;
	}
	return nblk;
}

/* OR-ing 0x70 into a byte keeps only bits 7 and 0..3: 0xC3 becomes 0xF3 and each of
 * 'c', 'C', '3' becomes 0x73, so two compares cover binary runs and hex runs of both
 * phases and cases. Other bytes that fold the same way (0x83..0xF3 step 0x10, or
 * "sS#" and control bytes) pass only the pre-filter; four of them in a row are rare in
 * any data (random: one 4-byte word in 2^20) and cost a few instructions each. */
#define FOLD_HEX 0x70707070u
static size_t find_block_hex(const uint8_t *p, size_t nblk)
{
	const v8u32 f = SPLAT(FOLD_HEX), kb = SPLAT(0xF3F3F3F3u), kh = SPLAT(0x73737373u);

	for (size_t i = 0; i < nblk; i++, p += BLOCK) {
		v8u32 a, b, m;
		LOAD32(a, p);
		LOAD32(b, p + 32);
		a |= f;
		b |= f;
		m = (v8u32)((a == kb) | (b == kb) | (a == kh) | (b == kh));
		if (any_lane(&m))
			return i;
	}
	return nblk;
}

/* The same two filters with AVX2, chosen at run time: twice the width, 128 bytes per
 * branch, and VPTEST instead of a lane-by-lane reduction. The page cache delivers
 * ~20 GB/s on the machines this was measured on, and the scan must keep up. A flagged
 * pair of blocks returns the first; the caller looks at 64 bytes and calls again. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_FILTER 1

__attribute__((target("avx2"))) static size_t find_block_bin_avx2(const uint8_t *p, size_t nblk)
{
	const __m256i k = _mm256_set1_epi32((int)0xC3C3C3C3u);
	size_t i = 0;

	for (; i + 2 <= nblk; i += 2, p += 2 * BLOCK) {
		__m256i m = _mm256_or_si256(
			_mm256_or_si256(_mm256_cmpeq_epi32(_mm256_loadu_si256((const __m256i *)p), k),
					_mm256_cmpeq_epi32(_mm256_loadu_si256((const __m256i *)(p + 32)), k)),
			_mm256_or_si256(_mm256_cmpeq_epi32(_mm256_loadu_si256((const __m256i *)(p + 64)), k),
					_mm256_cmpeq_epi32(_mm256_loadu_si256((const __m256i *)(p + 96)), k)));
		if (!_mm256_testz_si256(m, m))
			return i;
	}
	return i + find_block_bin(p, nblk - i);
}

__attribute__((target("avx2"))) static size_t find_block_hex_avx2(const uint8_t *p, size_t nblk)
{
	const __m256i f = _mm256_set1_epi32((int)FOLD_HEX), kb = _mm256_set1_epi32((int)0xF3F3F3F3u),
		      kh = _mm256_set1_epi32((int)0x73737373u);
	size_t i = 0;

	for (; i + 2 <= nblk; i += 2, p += 2 * BLOCK) {
		__m256i a = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)p), f);
		__m256i b = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(p + 32)), f);
		__m256i c = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(p + 64)), f);
		__m256i d = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(p + 96)), f);
		__m256i m = _mm256_or_si256(
			_mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi32(a, kb), _mm256_cmpeq_epi32(a, kh)),
					_mm256_or_si256(_mm256_cmpeq_epi32(b, kb), _mm256_cmpeq_epi32(b, kh))),
			_mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi32(c, kb), _mm256_cmpeq_epi32(c, kh)),
					_mm256_or_si256(_mm256_cmpeq_epi32(d, kb), _mm256_cmpeq_epi32(d, kh))));
		if (!_mm256_testz_si256(m, m))
			return i;
	}
	return i + find_block_hex(p, nblk - i);
}
#endif

static find_block_fn pick_filter(bool hex)
{
#ifdef HAVE_AVX2_FILTER
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		return hex ? find_block_hex_avx2 : find_block_bin_avx2;
#endif
	return hex ? find_block_hex : find_block_bin;
}

/* --- hit ranges ------------------------------------------------------------------------ */

static void flush(struct vecs_scan *s)
{
	struct vecs_scan_hit h;
	int r;

	if (!s->pend.active)
		return;
	s->pend.active = false;
	h.path = s->path;
	h.kind = s->pend.kind;
	h.offset = s->pend.start;
	h.length = s->pend.end - s->pend.start;
	h.canary_offset = s->pend.canary_off;
	h.records = s->pend.records;
	memcpy(h.seed_id, s->pend.seed_id, sizeof(h.seed_id));
	s->stats.hits++;
	if (s->opts.on_hit) {
		r = s->opts.on_hit(&h, s->opts.ctx);
		if (r < 0 && !s->cb_err)
			s->cb_err = r;
	}
}

/* Grow the pending range when the new one continues it in the file and in the canary
 * stream; otherwise report the pending one and start anew. */
static void add_range(struct vecs_scan *s, enum vecs_scan_kind kind, uint64_t start,
		      uint64_t end, int64_t canary_off, int64_t canary_end, const uint8_t *seed_id)
{
	struct range *p = &s->pend;

	if (p->active && p->kind == kind && p->end == start && p->canary_end >= 0 &&
	    p->canary_end == canary_off && !memcmp(p->seed_id, seed_id, sizeof(p->seed_id))) {
		p->end = end;
		p->canary_end = canary_end;
		p->records++;
	} else {
		flush(s);
		p->active = true;
		p->kind = kind;
		p->start = start;
		p->end = end;
		p->canary_off = canary_off;
		p->canary_end = canary_end;
		p->records = 1;
		memcpy(p->seed_id, seed_id, sizeof(p->seed_id));
	}
	s->last_end = max_u64(s->last_end, end);
}

/* How many bytes just before r are the tail of record idx - 1: a piece copied from the
 * middle of a record is then reported from its first byte. */
static uint64_t back_ext(struct vecs_scan *s, const struct window *w, uint64_t r, uint32_t idx)
{
	uint8_t exp[VECS_CANARY_RECORD];
	uint64_t lo = max_u64(max_u64(w->off, s->last_end), r >= 31 ? r - 31 : 0);
	uint64_t k = 0;

	if (idx == 0 || r <= lo)
		return 0;
	vecs_canary_record(&s->canary, idx - 1, exp);
	while (r - k > lo && *AT(w, r - k - 1) == exp[VECS_CANARY_RECORD - 1 - k])
		k++;
	return k;
}

/* How many bytes just after record idx (at r) are the head of record idx + 1. When the
 * whole head through the index is there and 32 bytes are in the window, the next record
 * is found as a record of its own (match or corrupt), so nothing is added here; that
 * keeps a long leak at one hash per record. */
static uint64_t fwd_ext(struct vecs_scan *s, const struct window *w, uint64_t r, uint32_t idx)
{
	uint8_t exp[VECS_CANARY_RECORD];
	uint64_t q = r + VECS_CANARY_RECORD, avail, m = 0;

	if (idx == UINT32_MAX || q >= w->end)
		return 0;
	avail = min_u64(VECS_CANARY_RECORD, w->end - q);
	memset(exp, RUN_BYTE, VECS_CANARY_RUN);
	memcpy(exp + 16, s->canary.seed_id, VECS_CANARY_SEED_ID_LEN);
	for (int i = 0; i < 4; i++)
		exp[20 + i] = (uint8_t)((idx + 1) >> (8 * i));
	while (m < min_u64(avail, 24) && *AT(w, q + m) == exp[m])
		m++;
	if (m < 24)
		return m;
	if (avail == VECS_CANARY_RECORD)
		return 0;
	vecs_canary_check(&s->canary, idx + 1, exp + 24);
	while (m < avail && *AT(w, q + m) == exp[m])
		m++;
	return m;
}

static uint64_t common_prefix(const uint8_t *a, const uint8_t *b, uint64_t n)
{
	uint64_t m = 0;

	while (m < n && a[m] == b[m])
		m++;
	return m;
}

/* A record of our seed at r with index idx, of which n bytes are in the window, is not
 * intact: report the bytes that agree with what record idx should be. */
static void add_cut(struct vecs_scan *s, const struct window *w, enum vecs_scan_kind kind,
		    uint64_t r, uint64_t n)
{
	uint8_t exp[VECS_CANARY_RECORD];
	uint32_t idx;
	uint64_t back, m;

	if (n < 24) {
		/* index not there: where in the canary this is cannot be told */
		add_range(s, kind, r, r + n, -1, -1, s->canary.seed_id);
		return;
	}
	idx = le32_at(AT(w, r + 20));
	vecs_canary_record(&s->canary, idx, exp);
	m = common_prefix(AT(w, r), exp, n);
	back = back_ext(s, w, r, idx);
	add_range(s, kind, r - back, r + m, (int64_t)idx * VECS_CANARY_RECORD - (int64_t)back,
		  (int64_t)idx * VECS_CANARY_RECORD + (int64_t)m, s->canary.seed_id);
}

static bool all_run(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != RUN_BYTE)
			return false;
	return true;
}

/* Records of another seed, at r: one that continues a foreign range, or the first of two
 * consecutive ones (same seed id, indexes i and i + 1). */
static bool try_foreign(struct vecs_scan *s, const struct window *w, uint64_t r)
{
	const uint8_t *p = AT(w, r);
	uint64_t n = w->end - r;
	uint32_t idx;
	int64_t co;

	if (n < VECS_CANARY_RECORD)
		return false;
	idx = le32_at(p + 20);
	co = (int64_t)idx * VECS_CANARY_RECORD;
	if (s->pend.active && s->pend.kind == VECS_SCAN_FOREIGN && s->pend.end == r &&
	    s->pend.canary_end == co && !memcmp(s->pend.seed_id, p + 16, VECS_CANARY_SEED_ID_LEN))
		goto found;
	if (n < 2 * VECS_CANARY_RECORD || idx == UINT32_MAX || !all_run(p + 32, VECS_CANARY_RUN) ||
	    memcmp(p + 48, p + 16, VECS_CANARY_SEED_ID_LEN) || le32_at(p + 52) != idx + 1)
		return false;
found:
	add_range(s, VECS_SCAN_FOREIGN, r, r + VECS_CANARY_RECORD, co, co + VECS_CANARY_RECORD,
		  p + 16);
	return true;
}

/* An aligned word of 0xC3 at wpos. Returns where to go on scanning; sets *defer when the
 * candidate needs bytes past the window (then the return value is where to resume). */
static uint64_t on_run(struct vecs_scan *s, const struct window *w, uint64_t wpos, bool *defer)
{
	const uint8_t *seed_id = s->canary.seed_id;
	uint64_t a = wpos, b = wpos + 8, lo, next, r;
	int64_t corrupt_r = -1, partial_r = -1;
	uint32_t idx;

	while (b < w->end && *AT(w, b) == RUN_BYTE)
		b++;
	if (!w->final && b + 48 > w->end) {
		/* Only the last 32 bytes of a run can start a record, so a long run is
		 * resumed near its end, not re-walked. */
		*defer = true;
		return max_u64(wpos, b >= 40 ? align_down8(b - 40) : 0);
	}
	next = max_u64(wpos + 8, align_down8(b));
	/* The run may begin inside the previous range (a check value ending in 0xC3): only
	 * bytes from lo on can start a new record. */
	lo = max_u64(max_u64(w->off, s->last_end), b >= 32 ? b - 32 : 0);
	if (lo >= b)
		return next;
	a = max_u64(a, lo);
	while (a > lo && *AT(w, a - 1) == RUN_BYTE)
		a--;
	if (b - a < VECS_CANARY_RUN)
		return next;
	/* The record starts 16 bytes before the run ends, unless its seed id (or the
	 * previous record's check) also holds 0xC3 bytes: try each start the run allows. */
	for (r = b - VECS_CANARY_RUN;; r--) {
		uint64_t n = min_u64(VECS_CANARY_RECORD, w->end - r);

		if (n >= 20 && !memcmp(AT(w, r + 16), seed_id, VECS_CANARY_SEED_ID_LEN)) {
			if (n == VECS_CANARY_RECORD) {
				if (vecs_canary_verify(&s->canary, AT(w, r), &idx)) {
					uint64_t back = back_ext(s, w, r, idx);
					uint64_t fwd = fwd_ext(s, w, r, idx);
					int64_t co = (int64_t)idx * VECS_CANARY_RECORD;

					add_range(s, VECS_SCAN_MATCH, r - back, r + 32 + fwd,
						  co - (int64_t)back, co + 32 + (int64_t)fwd, seed_id);
					return next;
				}
				if (corrupt_r < 0)
					corrupt_r = (int64_t)r;
			} else if (partial_r < 0) {
				partial_r = (int64_t)r;
			}
		}
		if (r == a)
			break;
	}
	if (corrupt_r >= 0) {
		add_cut(s, w, VECS_SCAN_CORRUPT, (uint64_t)corrupt_r, VECS_CANARY_RECORD);
		return next;
	}
	if (partial_r >= 0) {
		add_cut(s, w, VECS_SCAN_PARTIAL, (uint64_t)partial_r, w->end - (uint64_t)partial_r);
		return next;
	}
	r = b - VECS_CANARY_RUN;
	if (w->final && w->end - r < 20 &&
	    !memcmp(AT(w, r + 16), seed_id, w->end - r - VECS_CANARY_RUN)) {
		/* the run, then the end of the data with room for at most part of a seed id:
		 * as much as there is agrees with ours */
		add_range(s, VECS_SCAN_PARTIAL, r, w->end, -1, -1, seed_id);
		return next;
	}
	for (r = b - VECS_CANARY_RUN;; r--) {
		if (try_foreign(s, w, r))
			return next;
		if (r == a)
			break;
	}
	return next;
}

static inline bool is_hex_c(uint8_t x)
{
	return (x | 0x20) == 'c';
}

/* Character at x continues the alternation c3c3... given the character after it. */
static inline bool hex_alt(uint8_t x, bool want_c)
{
	return want_c ? is_hex_c(x) : x == '3';
}

static int hexval(uint8_t x)
{
	if (x >= '0' && x <= '9')
		return x - '0';
	x |= 0x20;
	if (x >= 'a' && x <= 'f')
		return x - 'a' + 10;
	return -1;
}

/* Decode n bytes of hex text; false on a non-hex character. */
static bool hex_decode(const uint8_t *t, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(t[2 * i]), lo = hexval(t[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* A 4-byte-aligned word "c3c3" or "3c3c" (either case) at q. */
static uint64_t on_hex(struct vecs_scan *s, const struct window *w, uint64_t q, bool *defer)
{
	static const char digits[] = "0123456789abcdef";
	uint64_t e = q, st = q, lo, pe, ps, rt, next;
	bool want_c = is_hex_c(*AT(w, q));

	next = align_up8(q + 4);
	while (e < w->end && hex_alt(*AT(w, e), want_c)) {
		e++;
		want_c = !want_c;
	}
	if (!w->final && e + 40 > w->end) {
		*defer = true;
		return max_u64(align_down8(q), e >= 72 ? align_down8(e - 72) : 0);
	}
	next = max_u64(next, align_down8(e));
	/* last complete "c3" pair */
	pe = *AT(w, e - 1) == '3' ? e : e - 1;
	lo = max_u64(max_u64(w->off, s->last_end), pe >= 64 ? pe - 64 : 0);
	if (lo >= pe)
		return next;
	st = max_u64(st, lo);
	want_c = *AT(w, st) != '3';
	while (st > lo && hex_alt(*AT(w, st - 1), !want_c)) {
		st--;
		want_c = !want_c;
	}
	ps = is_hex_c(*AT(w, st)) ? st : st + 1;
	if (pe < ps + 2 * VECS_CANARY_RUN)
		return next;
	for (rt = pe - 2 * VECS_CANARY_RUN;; rt -= 2) {
		uint8_t dec[8], exp[VECS_CANARY_RECORD];
		uint64_t avail = w->end - rt, m = 0;
		uint32_t idx;

		if (avail >= 48 && hex_decode(AT(w, rt + 32), dec, 8) &&
		    !memcmp(dec, s->canary.seed_id, VECS_CANARY_SEED_ID_LEN)) {
			idx = le32_at(dec + 4);
			vecs_canary_record(&s->canary, idx, exp);
			avail = min_u64(avail, 2 * VECS_CANARY_RECORD);
			while (m < avail && (*AT(w, rt + m) | 0x20) == digits[exp[m / 2] >> (m & 1 ? 0 : 4) & 0xf])
				m++;
			add_range(s, VECS_SCAN_HEX, rt, rt + m, (int64_t)idx * VECS_CANARY_RECORD,
				  (int64_t)idx * VECS_CANARY_RECORD + (int64_t)(m / 2),
				  s->canary.seed_id);
			return max_u64(align_up8(q + 4), align_down8(rt + m));
		}
		if (rt < ps + 2 || rt - 2 < ps)
			break;
	}
	return next;
}

/* Test every word of the window from s->scan_pos on. */
static int process(struct vecs_scan *s, const struct window *w)
{
	uint64_t limit = w->final ? w->end : w->end - TAIL;
	uint64_t pos = s->scan_pos;
	bool hex = !s->opts.no_hex;

	limit = align_down8(limit);
	while (pos + 8 <= limit) {
		uint64_t nblk = (limit - pos) / BLOCK, blk, blk_end, q;
		size_t i = s->find_block(AT(w, pos), nblk);

		blk = pos + (uint64_t)i * BLOCK;
		blk_end = i == nblk ? limit : blk + BLOCK;
		pos = blk_end;
		for (q = blk; q + 4 <= blk_end; q += 4) {
			bool defer = false;
			uint64_t next;
			uint32_t v;

			if (!(q & 7) && q + 8 <= w->end) {
				uint64_t v64;
				memcpy(&v64, AT(w, q), 8);
				if (v64 == RUN_WORD) {
					next = on_run(s, w, q, &defer);
					goto handled;
				}
			}
			if (!hex)
				continue;
			memcpy(&v, AT(w, q), 4);
			v |= FOLD;
			if (v != HEX_C3C3 && v != HEX_3C3C)
				continue;
			next = on_hex(s, w, q, &defer);
handled:
			if (defer) {
				s->scan_pos = next;
				return s->cb_err;
			}
			pos = next;
			break;
		}
		if (s->cb_err)
			return s->cb_err;
	}
	s->scan_pos = pos;
	return s->cb_err;
}

/* --- reading ----------------------------------------------------------------------------
 * A read from the page cache is a memory copy into a buffer that then sits in this
 * core's L2 cache, so the scan reads it almost for free: 512 KiB buffers measured best
 * (1 GiB cached: dd 48 ms, scan 60 ms). A reader thread filling a second buffer was
 * slower here (76 ms: the data then crosses cores), and mmap slower still (page faults). */

/* Fill buf with up to want bytes at off; short only at the end of the source. */
static size_t read_full(read_fn rd, void *src, uint8_t *buf, size_t want, uint64_t off, int *err)
{
	size_t got = 0;

	*err = 0;
	while (got < want) {
		ssize_t n = rd(src, buf + got, want - got, off + got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*err = errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* Scan bytes [start, end) of a source as one data extent (end may be UINT64_MAX: read to
 * the end of the device). */
static int scan_extent(struct vecs_scan *s, read_fn rd, void *src, uint64_t start, uint64_t end,
		       struct vecs_err *err)
{
	uint8_t *data = s->buf + CARRY_MAX;
	uint64_t rpos = start;
	size_t carry = 0;
	int r = 0;

	s->scan_pos = align_up8(start);
	s->last_end = start;
	s->pend.active = false;
	for (;;) {
		size_t want = (size_t)min_u64(s->buf_size, end - rpos), got;
		struct window w;
		uint64_t keep;
		int rerr;

		got = read_full(rd, src, data, want, rpos, &rerr);
		s->stats.bytes_scanned += got;
		w.p = data - carry;
		w.off = rpos - carry;
		w.end = rpos + got;
		w.final = got < want || w.end >= end;
		r = process(s, &w);
		if (r < 0)
			break;
		if (rerr) {
			r = vecs_err_set(err, -rerr,
					 "cannot read %s at offset %llu: %s; check the device or "
					 "file and its permissions",
					 s->path, (unsigned long long)w.end, strerror(rerr));
			break;
		}
		if (w.final)
			break;
		/* keep what the next window needs before its scan position */
		keep = min_u64(s->scan_pos, w.end - TAIL);
		keep = keep >= w.off + BACK ? align_down8(keep - BACK) : w.off;
		carry = (size_t)(w.end - keep);
		if (carry > CARRY_MAX) {
			r = vecs_err_set(err, -EFAULT, "scan: internal error, carry %zu > %d", carry,
					 CARRY_MAX);
			break;
		}
		memmove(data - carry, AT(&w, keep), carry);
		rpos += got;
	}
	flush(s);
	return r < 0 ? r : s->cb_err;
}

struct mem_src {
	const uint8_t *p;
	size_t len;
};

static ssize_t mem_read(void *src, void *buf, size_t n, uint64_t off)
{
	struct mem_src *m = src;

	if (off >= m->len)
		return 0;
	if (n > m->len - off)
		n = (size_t)(m->len - off);
	memcpy(buf, m->p + off, n);
	return (ssize_t)n;
}

static ssize_t fd_read(void *src, void *buf, size_t n, uint64_t off)
{
	return pread(*(int *)src, buf, n, (off_t)off);
}

int vecs_scan_mem(struct vecs_scan *s, const char *name, const void *buf, size_t len,
		  struct vecs_err *err)
{
	struct mem_src m = { buf, len };

	s->path = name;
	s->stats.files_scanned++;
	return scan_extent(s, mem_read, &m, 0, len, err);
}

/* A regular file extent by extent, skipping holes; a block device to its end. */
static int scan_fd(struct vecs_scan *s, int fd, const struct stat *st, const char *path,
		   struct vecs_err *err)
{
	uint64_t off = 0, size = (uint64_t)st->st_size;
	int r;

	s->path = path;
	s->stats.files_scanned++;
	/* best effort: a hint for readahead only */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (S_ISBLK(st->st_mode))
		return scan_extent(s, fd_read, &fd, 0, UINT64_MAX, err);
	while (off < size) {
		off_t d = lseek(fd, (off_t)off, SEEK_DATA), h;

		if (d < 0) {
			if (errno == ENXIO)
				break; /* only a hole up to the end */
			if (errno != EINVAL && errno != EOPNOTSUPP)
				return vecs_err_set(err, -errno,
						    "cannot look for data in %s (SEEK_DATA): %s",
						    path, strerror(errno));
			/* no hole support here: all of it is data */
			return scan_extent(s, fd_read, &fd, off, size, err);
		}
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0 || (uint64_t)h > size)
			h = (off_t)size;
		s->stats.bytes_skipped_holes += (uint64_t)d - off;
		r = scan_extent(s, fd_read, &fd, (uint64_t)d, (uint64_t)h, err);
		if (r < 0)
			return r;
		off = (uint64_t)h;
	}
	if (off < size)
		s->stats.bytes_skipped_holes += size - off;
	return 0;
}

static void report(struct vecs_scan *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct vecs_scan *s, int code, const char *fmt, ...)
{
	struct vecs_err err;
	va_list ap;

	err.code = code;
	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	s->stats.errors++;
	if (s->opts.on_error)
		s->opts.on_error(&err, s->opts.ctx);
}

static int scan_dir(struct vecs_scan *s, int dfd, const char *path, int depth);

/* One directory entry; never follows a symlink. Returns < 0 only to stop the scan. */
static int scan_entry(struct vecs_scan *s, int dfd, const char *name, const char *path, int depth)
{
	struct vecs_err err;
	struct stat st, st2;
	int fd, r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		report(s, -errno, "cannot stat %s: %s; check its permissions", path, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		s->stats.files_skipped++;
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		report(s, -errno, "cannot open %s: %s; check its permissions", path, strerror(errno));
		return 0;
	}
	/* the entry may have been replaced since fstatat: judge what was opened */
	if (fstat(fd, &st2) < 0 || (st2.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
		report(s, -EAGAIN, "%s changed while being scanned; scan it again", path);
		close(fd);
		return 0;
	}
	if (S_ISDIR(st2.st_mode)) {
		if (depth >= MAX_DEPTH) {
			report(s, -ELOOP, "%s is nested more than %d directories deep; scan it on its own",
			       path, MAX_DEPTH);
			close(fd);
			return 0;
		}
		return scan_dir(s, fd, path, depth + 1); /* takes fd */
	}
	vecs_err_clear(&err);
	r = scan_fd(s, fd, &st2, path, &err);
	close(fd);
	if (r < 0 && !s->cb_err) {
		s->stats.errors++;
		if (s->opts.on_error)
			s->opts.on_error(&err, s->opts.ctx);
		r = 0;
	}
	return s->cb_err;
}

/* Entries in name order, so output does not depend on the file system's order. */
static int scan_dir(struct vecs_scan *s, int dfd, const char *path, int depth)
{
	struct dirent **list = NULL;
	size_t plen = strlen(path);
	int n, r = 0;

	n = scandirat(dfd, ".", &list, NULL, alphasort);
	if (n < 0) {
		report(s, -errno, "cannot list directory %s: %s; check its permissions", path,
		       strerror(errno));
		close(dfd);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		char *child;

		if (r < 0 || !strcmp(name, ".") || !strcmp(name, ".."))
			goto next;
		if (asprintf(&child, "%s%s%s", path, plen && path[plen - 1] == '/' ? "" : "/",
			     name) < 0) {
			r = -ENOMEM;
			goto next;
		}
		r = scan_entry(s, dfd, name, child, depth);
		free(child);
next:
		free(list[i]);
	}
	free(list);
	close(dfd);
	return r;
}

int vecs_scan_path(struct vecs_scan *s, const char *path, struct vecs_err *err)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return vecs_err_set(err, -errno, "cannot open %s: %s; check the path and its "
				    "permissions", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return vecs_err_set(err, r, "cannot stat %s: %s", path, strerror(-r));
	}
	if (S_ISDIR(st.st_mode)) {
		r = scan_dir(s, fd, path, 0);
		if (r < 0)
			return vecs_err_set(err, r, "scan of %s stopped: %s", path, strerror(-r));
		return 0;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return vecs_err_set(err, -EINVAL,
				    "%s is not a regular file, directory or block device; give "
				    "the file or device that holds the data",
				    path);
	}
	r = scan_fd(s, fd, &st, path, err);
	close(fd);
	return r;
}

int vecs_scan_new(struct vecs_scan **out, const char *seed, const struct vecs_scan_opts *opts,
		  struct vecs_err *err)
{
	struct vecs_scan *s;
	size_t bs;
	int r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return vecs_err_set(err, -ENOMEM, "scan: out of memory");
	if (opts)
		s->opts = *opts;
	bs = s->opts.buf_size ? s->opts.buf_size : DEFAULT_BUF;
	if (bs < MIN_BUF)
		bs = MIN_BUF;
	bs = (bs + BLOCK - 1) / BLOCK * BLOCK;
	s->buf_size = bs;
	s->find_block = pick_filter(!s->opts.no_hex);
	r = vecs_canary_init(&s->canary, seed, err);
	if (r < 0) {
		free(s);
		return r;
	}
	if (posix_memalign((void **)&s->buf, 64, CARRY_MAX + bs)) {
		vecs_canary_free(&s->canary);
		free(s);
		return vecs_err_set(err, -ENOMEM, "scan: cannot allocate a %zu-byte read buffer",
				    bs);
	}
	*out = s;
	return 0;
}

void vecs_scan_free(struct vecs_scan *s)
{
	if (!s)
		return;
	vecs_canary_free(&s->canary);
	free(s->buf);
	free(s);
}

const struct vecs_scan_stats *vecs_scan_get_stats(const struct vecs_scan *s)
{
	return &s->stats;
}

const struct vecs_canary *vecs_scan_get_canary(const struct vecs_scan *s)
{
	return &s->canary;
}
