/* Builds complete LUKS1 images in memory with the native crypto, laid out as
 * cryptsetup lays them out (key material 4 KiB-aligned, payload 1 MiB-aligned).
 * Tests use them as known-good inputs, then damage them field by field. */
#ifndef VECS_TESTS_LUKS1_BUILDER_H
#define VECS_TESTS_LUKS1_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "oracle/luks1_header.h"

struct luks1_build {
	const char *cipher, *mode, *hash;
	uint32_t key_bytes;
	uint32_t iterations;   /* keyslot and digest iterations */
	unsigned slot_mask;    /* which keyslots to enable with the passphrase */
	const char *pass;
	uint64_t seed;         /* for the volume key, salts and AF stripes */
	uint32_t payload_sectors; /* data sectors after the payload offset */
};

/* Returns a malloc'ed image (size in *len) and its header in *h, or NULL. The volume
 * key is written to mk (key_bytes) when mk is not NULL. */
uint8_t *luks1_build_image(const struct luks1_build *b, size_t *len, struct luks1_header *h,
			   uint8_t *mk);

/* Defaults: aes xts-plain64 sha256, 64-byte key, 1000 iterations, slot 0, "passphrase". */
struct luks1_build luks1_build_defaults(void);

#endif
