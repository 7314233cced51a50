#include "tests/luks1_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/luks1_crypto.h"
#include "tests/test_helpers.h"

struct luks1_build luks1_build_defaults(void)
{
	return (struct luks1_build){
		.cipher = "aes", .mode = "xts-plain64", .hash = "sha256", .key_bytes = 64,
		.iterations = 1000, .slot_mask = 1, .pass = "passphrase", .seed = 42,
		.payload_sectors = 16,
	};
}

uint8_t *luks1_build_image(const struct luks1_build *b, size_t *len, struct luks1_header *h,
			   uint8_t *mk_out)
{
	uint64_t area = luks1_keyslot_sectors(b->key_bytes, LUKS1_STRIPES);
	uint64_t step = (area + 7) / 8 * 8;
	uint64_t payload = (8 + step * LUKS1_NUMKEYS + 2047) / 2048 * 2048;
	size_t size = (size_t)(payload + b->payload_sectors) * LUKS1_SECTOR;
	size_t material = (size_t)area * LUKS1_SECTOR;
	uint8_t mk[LUKS1_MAX_KEY_BYTES], derived[LUKS1_MAX_KEY_BYTES];
	uint8_t *img = calloc(1, size), *rnd = malloc(material), *blocks = calloc(1, material);

	if (!img || !rnd || !blocks)
		goto fail;
	memset(h, 0, sizeof(*h));
	h->version = 1;
	snprintf(h->cipher_name, sizeof(h->cipher_name), "%s", b->cipher);
	snprintf(h->cipher_mode, sizeof(h->cipher_mode), "%s", b->mode);
	snprintf(h->hash_spec, sizeof(h->hash_spec), "%s", b->hash);
	snprintf(h->uuid, sizeof(h->uuid), "0123abcd-4567-89ef-0123-456789abcdef");
	h->payload_offset = (uint32_t)payload;
	h->key_bytes = b->key_bytes;
	h->mk_digest_iterations = b->iterations;
	test_fill(mk, b->key_bytes, b->seed);
	test_fill(h->mk_digest_salt, LUKS1_SALT_SIZE, b->seed + 1);
	if (vecs_pbkdf2(b->hash, mk, b->key_bytes, h->mk_digest_salt, LUKS1_SALT_SIZE,
			b->iterations, h->mk_digest, LUKS1_DIGEST_SIZE) < 0)
		goto fail;
	for (int i = 0; i < LUKS1_NUMKEYS; i++) {
		struct luks1_keyslot *ks = &h->keyslots[i];
		struct vecs_sector_cipher *c = NULL;
		uint8_t *dst;

		ks->active = LUKS1_KEY_DISABLED;
		ks->stripes = LUKS1_STRIPES;
		ks->key_material_offset = (uint32_t)(8 + step * (uint64_t)i);
		if (!(b->slot_mask & (1u << i)))
			continue;
		ks->active = LUKS1_KEY_ENABLED;
		ks->iterations = b->iterations;
		test_fill(ks->salt, LUKS1_SALT_SIZE, b->seed + 100 + (uint64_t)i);
		test_fill(rnd, material, b->seed + 200 + (uint64_t)i);
		memset(blocks, 0, material);
		if (vecs_pbkdf2(b->hash, b->pass, strlen(b->pass), ks->salt, LUKS1_SALT_SIZE,
				b->iterations, derived, b->key_bytes) < 0 ||
		    vecs_af_split(b->hash, mk, b->key_bytes, LUKS1_STRIPES, rnd, blocks) < 0 ||
		    vecs_sector_cipher_new(b->cipher, b->mode, derived, b->key_bytes, &c, NULL) < 0)
			goto fail;
		dst = img + (size_t)ks->key_material_offset * LUKS1_SECTOR;
		memcpy(dst, blocks, material);
		vecs_sector_crypt(c, true, dst, (size_t)area, 0);
		vecs_sector_cipher_free(c);
	}
	luks1_encode(h, img);
	test_fill(img + (size_t)payload * LUKS1_SECTOR, (size_t)b->payload_sectors * LUKS1_SECTOR,
		  b->seed + 999);
	if (mk_out)
		memcpy(mk_out, mk, b->key_bytes);
	free(rnd);
	free(blocks);
	*len = size;
	return img;
fail:
	free(img);
	free(rnd);
	free(blocks);
	return NULL;
}
