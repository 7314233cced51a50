/* The LUKS1 on-disk header (phdr), parsed and judged without any LUKS library.
 *
 * Layout (big-endian, 592 bytes) from the LUKS1 On-Disk Format Specification 1.2.3:
 * magic[6] version u16 cipherName[32] cipherMode[32] hashSpec[32] payloadOffset u32
 * keyBytes u32 mkDigest[20] mkDigestSalt[32] mkDigestIterations u32 uuid[40], then 8
 * keyslots of {active u32, passwordIterations u32, passwordSalt[32],
 * keyMaterialOffset u32, stripes u32}. Offsets and sizes are in 512-byte sectors. */
#ifndef VECS_ORACLE_LUKS1_HEADER_H
#define VECS_ORACLE_LUKS1_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oracle/findings.h"

#define LUKS1_PHDR_SIZE 592
#define LUKS1_NUMKEYS 8
#define LUKS1_SECTOR 512
#define LUKS1_STRIPES 4000
#define LUKS1_DIGEST_SIZE 20
#define LUKS1_SALT_SIZE 32
#define LUKS1_KEY_ENABLED 0x00AC71F3u
#define LUKS1_KEY_DISABLED 0x0000DEADu
#define LUKS1_MAX_KEY_BYTES 256

enum luks_kind {
	LUKS_KIND_NONE,    /* no LUKS magic */
	LUKS_KIND_V1,
	LUKS_KIND_V2,      /* LUKS2 primary or secondary header magic */
	LUKS_KIND_OTHER,   /* LUKS magic, unknown version */
	LUKS_KIND_TRUNCATED, /* LUKS magic, but fewer than 592 bytes */
};

struct luks1_keyslot {
	uint32_t active;
	uint32_t iterations;
	uint8_t salt[LUKS1_SALT_SIZE];
	uint32_t key_material_offset; /* sectors */
	uint32_t stripes;
};

struct luks1_header {
	uint16_t version;
	/* Copies of the fixed-size text fields, always NUL-terminated; the *_terminated
	 * flags say whether the on-disk field had its own NUL. */
	char cipher_name[33];
	char cipher_mode[33];
	char hash_spec[33];
	char uuid[41];
	bool cipher_name_terminated, cipher_mode_terminated, hash_spec_terminated, uuid_terminated;
	uint32_t payload_offset; /* sectors */
	uint32_t key_bytes;
	uint8_t mk_digest[LUKS1_DIGEST_SIZE];
	uint8_t mk_digest_salt[LUKS1_SALT_SIZE];
	uint32_t mk_digest_iterations;
	struct luks1_keyslot keyslots[LUKS1_NUMKEYS];
};

/* Which kind of header starts at buf. */
enum luks_kind luks_detect(const uint8_t *buf, size_t len);

/* Decode a LUKS1 header; buf must hold LUKS1_PHDR_SIZE bytes. Decoding never fails:
 * judging the fields is luks1_validate's job. */
void luks1_decode(const uint8_t *buf, struct luks1_header *h);

/* Encode h into 592 bytes (used by tests and fixture generators to craft headers). */
void luks1_encode(const struct luks1_header *h, uint8_t *buf);

/* Sectors occupied by one keyslot's key material: ceil(key_bytes * stripes / 512). */
uint64_t luks1_keyslot_sectors(uint32_t key_bytes, uint32_t stripes);

/* Structural rules of the format, against a container of device_size bytes (the LUKS
 * device, or the qcow2 encryption header region). Adds luks.* findings. */
void luks1_validate(const struct luks1_header *h, uint64_t device_size, struct findings *f);

/* Number of keyslots in state ENABLED. */
int luks1_active_keyslots(const struct luks1_header *h);

#endif
