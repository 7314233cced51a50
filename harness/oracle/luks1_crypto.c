/* The low-level SHA API is deprecated in OpenSSL 3 but is the fastest way to run
 * millions of HMAC iterations: contexts copy by assignment, with no provider dispatch
 * per call. Other hashes go through EVP. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "oracle/luks1_crypto.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/bytes.h"

/* whirlpool and (on some builds) ripemd160 live in OpenSSL's legacy provider. Loading
 * it explicitly unloads "default" unless that is loaded explicitly too. Both are
 * unloaded at exit so leak checkers see a clean process. */
static OSSL_PROVIDER *provider_default, *provider_legacy;

static void unload_providers(void)
{
	if (provider_legacy)
		OSSL_PROVIDER_unload(provider_legacy);
	if (provider_default)
		OSSL_PROVIDER_unload(provider_default);
	provider_legacy = provider_default = NULL;
}

static void load_providers(void)
{
	provider_default = OSSL_PROVIDER_load(NULL, "default");
	provider_legacy = OSSL_PROVIDER_load(NULL, "legacy");
	atexit(unload_providers);
}

static EVP_MD *fetch_md(const char *hash)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	EVP_MD *md = EVP_MD_fetch(NULL, hash, NULL);

	if (!md) {
		pthread_once(&once, load_providers);
		md = EVP_MD_fetch(NULL, hash, NULL);
	}
	return md;
}

size_t vecs_hash_size(const char *hash)
{
	EVP_MD *md = fetch_md(hash);
	size_t n = 0;

	if (md) {
		n = (size_t)EVP_MD_get_size(md);
		EVP_MD_free(md);
	}
	return n;
}

/* ---- PBKDF2 ------------------------------------------------------------------------ */

#define MAX_DIGEST 64
#define MAX_BLOCK 128

/* One HMAC "engine": precomputed inner and outer states, able to compute
 * HMAC(key, msg) = H(opad-state || H(ipad-state || msg)). */
struct hmac_engine {
	size_t dlen;
	void (*mac)(struct hmac_engine *e, const uint8_t *m1, size_t l1, const uint8_t *m2,
		    size_t l2, uint8_t *out);
	union {
		struct { SHA_CTX i, o; } s1;
		struct { SHA256_CTX i, o; } s256;
		struct { SHA512_CTX i, o; } s512;
	} fast;
	EVP_MD_CTX *ictx, *octx, *work;
};

#define FAST_MAC(NAME, CTX, UPDATE, FINAL, FIELD)                                          \
	static void NAME(struct hmac_engine *e, const uint8_t *m1, size_t l1, const uint8_t *m2, \
			 size_t l2, uint8_t *out)                                                 \
	{                                                                                    \
		CTX c = e->fast.FIELD.i;                                                     \
		UPDATE(&c, m1, l1);                                                          \
		if (l2)                                                                      \
			UPDATE(&c, m2, l2);                                                  \
		FINAL(out, &c);                                                              \
		c = e->fast.FIELD.o;                                                         \
		UPDATE(&c, out, e->dlen);                                                    \
		FINAL(out, &c);                                                              \
	}

FAST_MAC(mac_sha1, SHA_CTX, SHA1_Update, SHA1_Final, s1)
FAST_MAC(mac_sha256, SHA256_CTX, SHA256_Update, SHA256_Final, s256)
FAST_MAC(mac_sha512, SHA512_CTX, SHA512_Update, SHA512_Final, s512)

static void mac_evp(struct hmac_engine *e, const uint8_t *m1, size_t l1, const uint8_t *m2,
		    size_t l2, uint8_t *out)
{
	unsigned int n;

	EVP_MD_CTX_copy_ex(e->work, e->ictx);
	EVP_DigestUpdate(e->work, m1, l1);
	if (l2)
		EVP_DigestUpdate(e->work, m2, l2);
	EVP_DigestFinal_ex(e->work, out, &n);
	EVP_MD_CTX_copy_ex(e->work, e->octx);
	EVP_DigestUpdate(e->work, out, e->dlen);
	EVP_DigestFinal_ex(e->work, out, &n);
}

static int hmac_engine_init(struct hmac_engine *e, const char *hash, const void *key,
			    size_t key_len)
{
	uint8_t k[MAX_BLOCK], ipad[MAX_BLOCK], opad[MAX_BLOCK];
	EVP_MD *md;
	size_t block;
	int r = 0;

	memset(e, 0, sizeof(*e));
	md = fetch_md(hash);
	if (!md)
		return -ENOTSUP;
	e->dlen = (size_t)EVP_MD_get_size(md);
	block = (size_t)EVP_MD_get_block_size(md);
	if (e->dlen > MAX_DIGEST || block > MAX_BLOCK || e->dlen == 0) {
		EVP_MD_free(md);
		return -ENOTSUP;
	}
	memset(k, 0, sizeof(k));
	if (key_len > block) {
		unsigned int n;
		EVP_Digest(key, key_len, k, &n, md, NULL);
	} else {
		memcpy(k, key, key_len);
	}
	for (size_t i = 0; i < block; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}

	if (!strcasecmp(hash, "sha1")) {
		SHA1_Init(&e->fast.s1.i);
		SHA1_Update(&e->fast.s1.i, ipad, block);
		SHA1_Init(&e->fast.s1.o);
		SHA1_Update(&e->fast.s1.o, opad, block);
		e->mac = mac_sha1;
	} else if (!strcasecmp(hash, "sha256")) {
		SHA256_Init(&e->fast.s256.i);
		SHA256_Update(&e->fast.s256.i, ipad, block);
		SHA256_Init(&e->fast.s256.o);
		SHA256_Update(&e->fast.s256.o, opad, block);
		e->mac = mac_sha256;
	} else if (!strcasecmp(hash, "sha512")) {
		SHA512_Init(&e->fast.s512.i);
		SHA512_Update(&e->fast.s512.i, ipad, block);
		SHA512_Init(&e->fast.s512.o);
		SHA512_Update(&e->fast.s512.o, opad, block);
		e->mac = mac_sha512;
	} else {
		e->ictx = EVP_MD_CTX_new();
		e->octx = EVP_MD_CTX_new();
		e->work = EVP_MD_CTX_new();
		if (!e->ictx || !e->octx || !e->work ||
		    !EVP_DigestInit_ex(e->ictx, md, NULL) ||
		    !EVP_DigestUpdate(e->ictx, ipad, block) ||
		    !EVP_DigestInit_ex(e->octx, md, NULL) ||
		    !EVP_DigestUpdate(e->octx, opad, block))
			r = -ENOMEM;
		e->mac = mac_evp;
	}
	explicit_bzero(k, sizeof(k));
	explicit_bzero(ipad, sizeof(ipad));
	explicit_bzero(opad, sizeof(opad));
	EVP_MD_free(md);
	return r;
}

static void hmac_engine_destroy(struct hmac_engine *e)
{
	EVP_MD_CTX_free(e->ictx);
	EVP_MD_CTX_free(e->octx);
	EVP_MD_CTX_free(e->work);
	explicit_bzero(e, sizeof(*e));
}

int vecs_pbkdf2(const char *hash, const void *pass, size_t pass_len, const uint8_t *salt,
		size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len)
{
	struct hmac_engine e;
	uint8_t u[MAX_DIGEST], t[MAX_DIGEST], be_i[4];
	int r;

	if (iterations == 0)
		return -EINVAL;
	r = hmac_engine_init(&e, hash, pass, pass_len);
	if (r < 0) {
		hmac_engine_destroy(&e);
		return r;
	}
	for (uint32_t block = 1; out_len > 0; block++) {
		size_t n = out_len < e.dlen ? out_len : e.dlen;

		be32_store(be_i, block);
		e.mac(&e, salt, salt_len, be_i, 4, u);
		memcpy(t, u, e.dlen);
		for (uint32_t it = 1; it < iterations; it++) {
			e.mac(&e, u, e.dlen, NULL, 0, u);
			for (size_t k = 0; k < e.dlen; k++)
				t[k] ^= u[k];
		}
		memcpy(out, t, n);
		out += n;
		out_len -= n;
	}
	explicit_bzero(u, sizeof(u));
	explicit_bzero(t, sizeof(t));
	hmac_engine_destroy(&e);
	return 0;
}

/* ---- anti-forensic splitter -------------------------------------------------------- */

/* LUKS "diffuse": hash the block in digest-sized pieces, each prefixed by its index
 * (big-endian), the last piece truncated. */
static int diffuse(EVP_MD *md, size_t dlen, uint8_t *block, size_t len)
{
	uint8_t d[MAX_DIGEST], be_i[4];
	size_t pieces = (len + dlen - 1) / dlen;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < pieces; i++) {
		size_t n = (i + 1) * dlen <= len ? dlen : len - i * dlen;
		be32_store(be_i, (uint32_t)i);
		if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, be_i, 4) ||
		    !EVP_DigestUpdate(ctx, block + i * dlen, n) ||
		    !EVP_DigestFinal_ex(ctx, d, NULL)) {
			r = -EIO;
			break;
		}
		memcpy(block + i * dlen, d, n);
	}
	explicit_bzero(d, sizeof(d));
	EVP_MD_CTX_free(ctx);
	return r;
}

static int af_run(const char *hash, const uint8_t *blocks, size_t key_len, uint32_t stripes,
		  uint8_t *acc, const uint8_t *random, uint8_t *split_out)
{
	EVP_MD *md;
	size_t dlen;
	int r = 0;

	if (stripes == 0 || key_len == 0)
		return -EINVAL;
	md = fetch_md(hash);
	if (!md)
		return -ENOTSUP;
	dlen = (size_t)EVP_MD_get_size(md);
	memset(acc, 0, key_len);
	for (uint32_t s = 0; s + 1 < stripes && r == 0; s++) {
		const uint8_t *src = blocks ? blocks + (size_t)s * key_len : random + (size_t)s * key_len;
		if (split_out)
			memcpy(split_out + (size_t)s * key_len, src, key_len);
		for (size_t k = 0; k < key_len; k++)
			acc[k] ^= src[k];
		r = diffuse(md, dlen, acc, key_len);
	}
	EVP_MD_free(md);
	return r;
}

int vecs_af_merge(const char *hash, const uint8_t *blocks, size_t key_len, uint32_t stripes,
		  uint8_t *key_out)
{
	int r = af_run(hash, blocks, key_len, stripes, key_out, NULL, NULL);
	const uint8_t *last = blocks + (size_t)(stripes - 1) * key_len;

	if (r < 0) {
		explicit_bzero(key_out, key_len);
		return r;
	}
	for (size_t k = 0; k < key_len; k++)
		key_out[k] ^= last[k];
	return 0;
}

int vecs_af_split(const char *hash, const uint8_t *key, size_t key_len, uint32_t stripes,
		  const uint8_t *random, uint8_t *blocks_out)
{
	uint8_t *acc = malloc(key_len ? key_len : 1);
	uint8_t *last;
	int r;

	if (!acc)
		return -ENOMEM;
	r = af_run(hash, NULL, key_len, stripes, acc, random, blocks_out);
	if (r == 0) {
		last = blocks_out + (size_t)(stripes - 1) * key_len;
		for (size_t k = 0; k < key_len; k++)
			last[k] = acc[k] ^ key[k];
	}
	explicit_bzero(acc, key_len);
	free(acc);
	return r;
}

/* ---- sector ciphers ---------------------------------------------------------------- */

enum chain { CHAIN_ECB, CHAIN_CBC, CHAIN_XTS };
enum ivgen { IV_NONE, IV_PLAIN, IV_PLAIN64, IV_ESSIV };

struct vecs_sector_cipher {
	enum chain chain;
	enum ivgen ivgen;
	EVP_CIPHER *evp;
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *essiv_evp;
	EVP_CIPHER_CTX *essiv; /* AES-ECB keyed with H(key), for ESSIV */
	uint8_t key[128];
	size_t key_len;
};

static const char *aes_name(enum chain chain, size_t key_len)
{
	switch (chain) {
	case CHAIN_XTS:
		return key_len == 32 ? "AES-128-XTS" : key_len == 64 ? "AES-256-XTS" : NULL;
	case CHAIN_CBC:
		return key_len == 16 ? "AES-128-CBC" : key_len == 24 ? "AES-192-CBC" :
		       key_len == 32 ? "AES-256-CBC" : NULL;
	case CHAIN_ECB:
		return key_len == 16 ? "AES-128-ECB" : key_len == 24 ? "AES-192-ECB" :
		       key_len == 32 ? "AES-256-ECB" : NULL;
	}
	return NULL;
}

void vecs_sector_cipher_free(struct vecs_sector_cipher *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->ctx);
	EVP_CIPHER_CTX_free(c->essiv);
	EVP_CIPHER_free(c->evp);
	EVP_CIPHER_free(c->essiv_evp);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

static int setup_essiv(struct vecs_sector_cipher *c, const char *hash, struct vecs_err *err)
{
	uint8_t salt[MAX_DIGEST];
	unsigned int n = 0;
	EVP_MD *md = fetch_md(hash);
	const char *name;
	int ok;

	if (!md)
		return vecs_err_set(err, -ENOTSUP, "ESSIV hash %s is not available in OpenSSL", hash);
	ok = EVP_Digest(c->key, c->key_len, salt, &n, md, NULL);
	EVP_MD_free(md);
	name = aes_name(CHAIN_ECB, n);
	if (!ok || !name) {
		explicit_bzero(salt, sizeof(salt));
		return vecs_err_set(err, -ENOTSUP, "ESSIV with hash %s gives no AES key size", hash);
	}
	c->essiv_evp = EVP_CIPHER_fetch(NULL, name, NULL);
	c->essiv = EVP_CIPHER_CTX_new();
	ok = c->essiv_evp && c->essiv &&
	     EVP_EncryptInit_ex(c->essiv, c->essiv_evp, NULL, salt, NULL) &&
	     EVP_CIPHER_CTX_set_padding(c->essiv, 0);
	explicit_bzero(salt, sizeof(salt));
	return ok ? 0 : vecs_err_set(err, -EIO, "OpenSSL could not set up ESSIV with %s", name);
}

int vecs_sector_cipher_new(const char *cipher, const char *mode, const uint8_t *key,
			   size_t key_len, struct vecs_sector_cipher **out, struct vecs_err *err)
{
	struct vecs_sector_cipher *c;
	const char *iv, *name;
	int r;

	*out = NULL;
	if (strcmp(cipher, "aes") != 0)
		return vecs_err_set(err, -ENOTSUP, "cipher %s is not implemented by the native oracle",
				    cipher);
	if (key_len == 0 || key_len > 128)
		return vecs_err_set(err, -EINVAL, "key of %zu bytes is not usable", key_len);
	c = calloc(1, sizeof(*c));
	if (!c)
		return vecs_err_set(err, -ENOMEM, "out of memory");
	memcpy(c->key, key, key_len);
	c->key_len = key_len;

	if (!strcmp(mode, "ecb")) {
		c->chain = CHAIN_ECB;
		iv = NULL;
	} else if (!strncmp(mode, "cbc-", 4)) {
		c->chain = CHAIN_CBC;
		iv = mode + 4;
	} else if (!strncmp(mode, "xts-", 4)) {
		c->chain = CHAIN_XTS;
		iv = mode + 4;
	} else {
		vecs_sector_cipher_free(c);
		return vecs_err_set(err, -ENOTSUP, "cipher mode %s is not implemented by the native oracle",
				    mode);
	}
	r = 0;
	if (!iv)
		c->ivgen = IV_NONE;
	else if (!strcmp(iv, "plain"))
		c->ivgen = IV_PLAIN;
	else if (!strcmp(iv, "plain64"))
		c->ivgen = IV_PLAIN64;
	else if (!strncmp(iv, "essiv:", 6)) {
		c->ivgen = IV_ESSIV;
		r = setup_essiv(c, iv + 6, err);
	} else
		r = vecs_err_set(err, -ENOTSUP, "IV generator %s is not implemented by the native oracle",
				 iv);
	if (r < 0) {
		vecs_sector_cipher_free(c);
		return r;
	}
	name = aes_name(c->chain, key_len);
	if (!name) {
		vecs_sector_cipher_free(c);
		return vecs_err_set(err, -ENOTSUP, "aes-%s with a %zu-byte key is not implemented", mode,
				    key_len);
	}
	c->evp = EVP_CIPHER_fetch(NULL, name, NULL);
	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->evp || !c->ctx) {
		vecs_sector_cipher_free(c);
		return vecs_err_set(err, -EIO, "OpenSSL has no %s", name);
	}
	*out = c;
	return 0;
}

static int make_iv(struct vecs_sector_cipher *c, uint64_t sector, uint8_t iv[16])
{
	int n = 0;

	memset(iv, 0, 16);
	switch (c->ivgen) {
	case IV_NONE:
		break;
	case IV_PLAIN:
		le64_store(iv, sector & 0xffffffffu);
		break;
	case IV_PLAIN64:
		le64_store(iv, sector);
		break;
	case IV_ESSIV:
		le64_store(iv, sector);
		if (!EVP_EncryptUpdate(c->essiv, iv, &n, iv, 16) || n != 16)
			return -EIO;
		break;
	}
	return 0;
}

int vecs_sector_crypt(struct vecs_sector_cipher *c, bool encrypt, uint8_t *buf, size_t sectors,
		      uint64_t first_sector)
{
	const int enc = encrypt ? 1 : 0;
	uint8_t iv[16];
	int n;

	if (c->chain == CHAIN_ECB) {
		if (!EVP_CipherInit_ex(c->ctx, c->evp, NULL, c->key, NULL, enc) ||
		    !EVP_CIPHER_CTX_set_padding(c->ctx, 0) ||
		    !EVP_CipherUpdate(c->ctx, buf, &n, buf, (int)(sectors * 512)))
			return -EIO;
		return 0;
	}
	if (!EVP_CipherInit_ex(c->ctx, c->evp, NULL, c->key, NULL, enc) ||
	    !EVP_CIPHER_CTX_set_padding(c->ctx, 0))
		return -EIO;
	for (size_t s = 0; s < sectors; s++) {
		uint8_t *p = buf + s * 512;
		if (make_iv(c, first_sector + s, iv) < 0 ||
		    !EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, iv, enc) ||
		    !EVP_CipherUpdate(c->ctx, p, &n, p, 512) || n != 512)
			return -EIO;
	}
	return 0;
}
