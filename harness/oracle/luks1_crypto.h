/* The native oracle's cryptography, written here on OpenSSL libcrypto primitives
 * (hashes and block ciphers only): PBKDF2-HMAC, the LUKS anti-forensic splitter, and
 * sector encryption with the IV generators LUKS1 headers name. Nothing here calls a
 * KDF or LUKS routine of another library, so it stays independent of libcryptsetup. */
#ifndef VECS_ORACLE_LUKS1_CRYPTO_H
#define VECS_ORACLE_LUKS1_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Digest size of a LUKS hash spec ("sha1", "sha256", "sha512", "ripemd160",
 * "whirlpool", ...), or 0 when OpenSSL does not know it. */
size_t vecs_hash_size(const char *hash);

/* PBKDF2 (RFC 8018) with HMAC over `hash`. Returns 0, -ENOTSUP for an unknown hash,
 * -EINVAL for iterations == 0. */
int vecs_pbkdf2(const char *hash, const void *pass, size_t pass_len, const uint8_t *salt,
		size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len);

/* LUKS anti-forensic split/merge (AF_split / AF_merge of the LUKS1 spec): `blocks` is
 * stripes * key_len bytes. af_split fills all but the last stripe from `random`
 * (stripes-1 * key_len bytes supplied by the caller, so tests are deterministic). */
int vecs_af_merge(const char *hash, const uint8_t *blocks, size_t key_len, uint32_t stripes,
		  uint8_t *key_out);
int vecs_af_split(const char *hash, const uint8_t *key, size_t key_len, uint32_t stripes,
		  const uint8_t *random, uint8_t *blocks_out);

/* A cipher spec from a LUKS header (cipher name + mode), e.g. aes + xts-plain64. */
struct vecs_sector_cipher;

/* Prepare for key (key_len bytes). Supported natively: aes with ecb, cbc-plain,
 * cbc-plain64, cbc-essiv:<hash>, xts-plain, xts-plain64, xts-essiv:<hash>.
 * -ENOTSUP for anything else (serpent, twofish, lrw, ...). */
int vecs_sector_cipher_new(const char *cipher, const char *mode, const uint8_t *key,
			   size_t key_len, struct vecs_sector_cipher **out, struct vecs_err *err);
/* Decrypt (or encrypt) `sectors` 512-byte sectors in place, the first being sector
 * number first_sector for the IV. */
int vecs_sector_crypt(struct vecs_sector_cipher *c, bool encrypt, uint8_t *buf, size_t sectors,
		      uint64_t first_sector);
void vecs_sector_cipher_free(struct vecs_sector_cipher *c);

#endif
