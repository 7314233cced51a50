/* The canary: deterministic, self-identifying plaintext for the ciphertext-at-rest
 * oracle.
 *
 * A canary is a stream of 32-byte records; record i covers stream offsets
 * [32i, 32i + 32):
 *
 *   bytes  0..15  16 x 0xC3: a constant run the scanner can find fast at any offset
 *   bytes 16..19  seed id: the first 4 bytes of SHA-256("vecs-canary-seed:" || S)
 *   bytes 20..23  i, uint32 little-endian
 *   bytes 24..31  check: the first 8 bytes of SHA-256("vecs-canary-rec:" || S || le64(i))
 *
 * S is the seed string as given (no terminator). The check value ties a record to its
 * seed and index, so a record found on disk is proof of a plaintext leak and says which
 * byte of which canary leaked; it also keeps records from repeating, so no two 4 KiB
 * blocks of a canary are equal (deduplicating or compressing storage cannot hide a
 * leak). A stream is at most 2^32 records (128 GiB). */
#ifndef VECS_ORACLE_CANARY_H
#define VECS_ORACLE_CANARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define VECS_CANARY_RECORD 32
#define VECS_CANARY_RUN 16
#define VECS_CANARY_RUN_BYTE 0xC3
#define VECS_CANARY_SEED_ID_LEN 4
#define VECS_CANARY_CHECK_LEN 8
/* 2^32 records of 32 bytes. */
#define VECS_CANARY_MAX_SIZE (UINT64_C(1) << 37)

struct vecs_canary_hash; /* private: prepared SHA-256 state */

struct vecs_canary {
	uint8_t seed_id[VECS_CANARY_SEED_ID_LEN];
	struct vecs_canary_hash *hash;
};

/* Prepare a canary for seed (a non-empty string). Release with vecs_canary_free. */
int vecs_canary_init(struct vecs_canary *c, const char *seed, struct vecs_err *err);
void vecs_canary_free(struct vecs_canary *c);

/* The 4-byte seed id of a seed, without preparing a whole canary. */
int vecs_canary_seed_id(const char *seed, uint8_t id[VECS_CANARY_SEED_ID_LEN],
			struct vecs_err *err);

/* The check value of record index. */
void vecs_canary_check(const struct vecs_canary *c, uint32_t index,
		       uint8_t check[VECS_CANARY_CHECK_LEN]);

/* Record index, all 32 bytes. */
void vecs_canary_record(const struct vecs_canary *c, uint32_t index,
			uint8_t rec[VECS_CANARY_RECORD]);

/* Whether rec (32 bytes) is an intact record of this canary; its index goes to *index. */
bool vecs_canary_verify(const struct vecs_canary *c, const uint8_t *rec, uint32_t *index);

/* Stream bytes [offset, offset + len). Fails with -ERANGE past VECS_CANARY_MAX_SIZE. */
int vecs_canary_fill(const struct vecs_canary *c, uint64_t offset, void *buf, size_t len,
		     struct vecs_err *err);

/* Parse a size: decimal digits, optionally followed by K, M, G or T (binary: 1024^n;
 * lower case accepted). */
int vecs_canary_parse_size(const char *s, uint64_t *out, struct vecs_err *err);

#endif
