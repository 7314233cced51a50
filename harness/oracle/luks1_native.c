#include "oracle/luks1_native.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/luks1_crypto.h"

int luks1_native_check_mk(const struct luks1_header *h, const uint8_t *key)
{
	uint8_t digest[LUKS1_DIGEST_SIZE];
	int r;

	r = vecs_pbkdf2(h->hash_spec, key, h->key_bytes, h->mk_digest_salt, LUKS1_SALT_SIZE,
			h->mk_digest_iterations, digest, sizeof(digest));
	if (r < 0)
		return r;
	return CRYPTO_memcmp(digest, h->mk_digest, LUKS1_DIGEST_SIZE) == 0;
}

/* Open one keyslot: 1 opened, 0 wrong passphrase, <0 error. */
static int try_keyslot(const struct luks1_header *h, int i, const struct vecs_blob *dev,
		       const uint8_t *pass, size_t pass_len, uint8_t *mk, struct vecs_err *err)
{
	const struct luks1_keyslot *ks = &h->keyslots[i];
	uint64_t sectors = luks1_keyslot_sectors(h->key_bytes, ks->stripes);
	size_t area = (size_t)(sectors * LUKS1_SECTOR);
	struct vecs_sector_cipher *cipher = NULL;
	uint8_t *material = NULL;
	uint8_t derived[LUKS1_MAX_KEY_BYTES];
	int r;

	r = vecs_pbkdf2(h->hash_spec, pass, pass_len, ks->salt, LUKS1_SALT_SIZE, ks->iterations,
			derived, h->key_bytes);
	if (r < 0) {
		vecs_err_set(err, r, "hash %s is not available to the native oracle", h->hash_spec);
		goto out;
	}
	r = vecs_sector_cipher_new(h->cipher_name, h->cipher_mode, derived, h->key_bytes, &cipher,
				   err);
	if (r < 0)
		goto out;
	material = malloc(area);
	if (!material) {
		r = vecs_err_set(err, -ENOMEM, "out of memory for keyslot %d key material", i);
		goto out;
	}
	r = vecs_blob_read(dev, (uint64_t)ks->key_material_offset * LUKS1_SECTOR, material, area);
	if (r < 0) {
		vecs_err_set(err, r, "cannot read keyslot %d key material (sector %u, %zu bytes)", i,
			     ks->key_material_offset, area);
		goto out;
	}
	/* Keyslot material is encrypted with sector numbers counted from its own start. */
	r = vecs_sector_crypt(cipher, false, material, (size_t)sectors, 0);
	if (r < 0) {
		vecs_err_set(err, r, "OpenSSL failed to decrypt keyslot %d", i);
		goto out;
	}
	r = vecs_af_merge(h->hash_spec, material, h->key_bytes, ks->stripes, mk);
	if (r < 0) {
		vecs_err_set(err, r, "anti-forensic merge of keyslot %d failed", i);
		goto out;
	}
	r = luks1_native_check_mk(h, mk);
	if (r < 0)
		vecs_err_set(err, r, "master-key digest check of keyslot %d failed", i);
out:
	explicit_bzero(derived, sizeof(derived));
	if (material) {
		explicit_bzero(material, area);
		free(material);
	}
	vecs_sector_cipher_free(cipher);
	return r;
}

int luks1_native_unlock(const struct luks1_header *h, const struct vecs_blob *dev,
			const uint8_t *pass, size_t pass_len, int *slot, uint8_t *mk_out,
			struct vecs_err *err)
{
	uint8_t mk[LUKS1_MAX_KEY_BYTES];
	int r = 0, last_err = 0;

	*slot = -1;
	if (h->key_bytes == 0 || h->key_bytes > LUKS1_MAX_KEY_BYTES)
		return vecs_err_set(err, -EINVAL, "header key size %u is unusable", h->key_bytes);
	for (int i = 0; i < LUKS1_NUMKEYS; i++) {
		const struct luks1_keyslot *ks = &h->keyslots[i];

		if (ks->active != LUKS1_KEY_ENABLED || ks->stripes != LUKS1_STRIPES ||
		    ks->iterations == 0)
			continue;
		r = try_keyslot(h, i, dev, pass, pass_len, mk, err);
		if (r == -ENOTSUP)
			break; /* the same for every slot */
		if (r < 0) {
			last_err = r; /* a damaged slot must not hide a good one */
			continue;
		}
		if (r == 1) {
			*slot = i;
			if (mk_out)
				memcpy(mk_out, mk, h->key_bytes);
			break;
		}
	}
	explicit_bzero(mk, sizeof(mk));
	if (r == 1)
		return 1;
	if (r == -ENOTSUP)
		return r;
	return last_err ? last_err : 0;
}
