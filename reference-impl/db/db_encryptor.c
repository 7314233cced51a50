#include "db/db_encryptor.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "db/properties.h"
#include "util/base64.h"
#include "util/secret.h"

#define V1_BLOCK 8

static int fill_random(unsigned char *p, size_t n, struct vecs_err *err)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return vecs_err_set(err, -errno, "getrandom failed: %s", strerror(errno));
		}
		got += (size_t)r;
	}
	return 0;
}

struct db_encryptor_v1 {
	OSSL_LIB_CTX *ctx;
	OSSL_PROVIDER *legacy;
	OSSL_PROVIDER *dflt;
};

static void legacy_ctx_free(struct db_encryptor_v1 *v)
{
	if (!v)
		return;
	/* Providers are reference-counted: unload what was loaded, then the context. */
	if (v->legacy)
		OSSL_PROVIDER_unload(v->legacy);
	if (v->dflt)
		OSSL_PROVIDER_unload(v->dflt);
	OSSL_LIB_CTX_free(v->ctx);
	free(v);
}

/* Private library context with DES (legacy) and MD5 (default); NULL on failure. */
static struct db_encryptor_v1 *legacy_ctx_new(void)
{
	struct db_encryptor_v1 *v = calloc(1, sizeof(*v));
	EVP_CIPHER *des = NULL;

	if (!v)
		return NULL;
	v->ctx = OSSL_LIB_CTX_new();
	if (v->ctx) {
		v->legacy = OSSL_PROVIDER_load(v->ctx, "legacy");
		v->dflt = OSSL_PROVIDER_load(v->ctx, "default");
	}
	if (v->legacy && v->dflt)
		des = EVP_CIPHER_fetch(v->ctx, "DES-CBC", NULL);
	if (!des) {
		legacy_ctx_free(v);
		return NULL;
	}
	EVP_CIPHER_free(des);
	return v;
}

const char *db_encryptor_version_name(enum db_encryptor_version v)
{
	switch (v) {
	case DB_ENCRYPTOR_V1:
		return "V1";
	case DB_ENCRYPTOR_V2:
		return "V2";
	default:
		return "unset";
	}
}

int db_encryptor_parse_version(const char *s, enum db_encryptor_version *v, struct vecs_err *err)
{
	if (strcasecmp(s, "V1") == 0)
		*v = DB_ENCRYPTOR_V1;
	else if (strcasecmp(s, "V2") == 0)
		*v = DB_ENCRYPTOR_V2;
	else
		return vecs_err_set(err, -EINVAL,
				    "'%.32s' is not a known %s; use V1 or V2 (or leave it out)", s,
				    DB_PROP_VERSION);
	return 0;
}

int db_encryptor_init(struct db_encryptor *e, const void *secret, size_t len,
		      enum db_encryptor_version version, struct vecs_err *err)
{
	const unsigned char *s = secret;
	int r;

	memset(e, 0, sizeof(*e));
	if (len == 0)
		return vecs_err_set(err, -EINVAL,
				    "the database key (%s) is empty; passphrases must be stored "
				    "encrypted, so a key is required",
				    DB_PROP_SECRET);
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return vecs_err_set(err, -EINVAL,
					    "the database key (%s) has a character outside printable "
					    "ASCII at position %zu; CloudStack's encryptors accept only "
					    "printable ASCII keys",
					    DB_PROP_SECRET, i);
	r = vecs_secret_from_mem(&e->secret, secret, len, err);
	if (r < 0)
		return r;
	e->version = version;
	e->legacy = legacy_ctx_new();
	if (!e->legacy && version == DB_ENCRYPTOR_V1) {
		db_encryptor_release(e);
		return vecs_err_set(err, -ENOTSUP,
				    "encryptor V1 (PBEWithMD5AndDES) needs DES from OpenSSL's legacy "
				    "provider, which did not load; install the provider (legacy.so) "
				    "or set OPENSSL_MODULES to its directory");
	}
	return 0;
}

int db_encryptor_load(struct db_encryptor *e, const char *path, struct vecs_err *err)
{
	enum db_encryptor_version v = DB_ENCRYPTOR_UNSET;
	struct properties p;
	const char *secret, *version;
	int r;

	memset(e, 0, sizeof(*e));
	r = properties_load_private(&p, path, err);
	if (r < 0)
		return r;
	secret = properties_get(&p, DB_PROP_SECRET);
	version = properties_get(&p, DB_PROP_VERSION);
	if (!secret) {
		r = vecs_err_set(err, -ENOKEY, "properties file %s has no %s; add the database key",
				 path, DB_PROP_SECRET);
		goto out;
	}
	if (version && *version && (r = db_encryptor_parse_version(version, &v, err)) < 0)
		goto out;
	r = db_encryptor_init(e, secret, strlen(secret), v, err);
	if (r < 0 && err) {
		char inner[sizeof(err->msg)];
		memcpy(inner, err->msg, sizeof(inner));
		vecs_err_set(err, r, "properties file %s: %s", path, inner);
	}
out:
	properties_release(&p);
	return r;
}

void db_encryptor_release(struct db_encryptor *e)
{
	if (!e)
		return;
	vecs_secret_release(&e->secret);
	legacy_ctx_free(e->legacy);
	e->legacy = NULL;
	e->version = DB_ENCRYPTOR_UNSET;
}

/* base64 of a buffer into a new string. */
static int encode_out(const unsigned char *buf, size_t n, char **out, struct vecs_err *err)
{
	char *s = malloc(b64_encoded_len(n) + 1);

	if (!s)
		return vecs_err_set(err, -ENOMEM, "out of memory encoding a database value");
	b64_encode(buf, n, s);
	*out = s;
	return 0;
}

static int decode_in(const char *value, unsigned char **buf, size_t *n, const char *what,
		     struct vecs_err *err)
{
	size_t len = strlen(value);
	unsigned char *b = malloc(len / 4 * 3 + 1);

	*buf = NULL;
	if (!b)
		return vecs_err_set(err, -ENOMEM, "out of memory decoding a database value");
	if (b64_decode(value, len, b, n) < 0) {
		free(b);
		return vecs_err_set(err, -EBADMSG,
				    "cannot decrypt a database value with %s: it is not valid "
				    "base64 (%zu characters); the value was altered or is not encrypted",
				    what, len);
	}
	*buf = b;
	return 0;
}

/* --- V2: AES-256-GCM ---------------------------------------------------------------- */

static int v2_key(const struct db_encryptor *e, unsigned char key[32], struct vecs_err *err)
{
	unsigned int n = 0;

	if (!EVP_Digest(e->secret.data, e->secret.len, key, &n, EVP_sha256(), NULL) || n != 32)
		return vecs_err_set(err, -EIO, "SHA-256 of the database key failed in OpenSSL");
	return 0;
}

int db_encrypt_v2_iv(const struct db_encryptor *e, const unsigned char iv[DB_ENCRYPTOR_V2_IV_LEN],
		     const void *plain, size_t len, char **out, struct vecs_err *err)
{
	size_t total = DB_ENCRYPTOR_V2_IV_LEN + len + DB_ENCRYPTOR_V2_TAG_LEN;
	unsigned char key[32], *buf = NULL;
	EVP_CIPHER_CTX *c = NULL;
	int n = 0, fin = 0, r;

	*out = NULL;
	if (len > INT32_MAX - 64)
		return vecs_err_set(err, -EFBIG, "database value too large to encrypt");
	r = v2_key(e, key, err);
	if (r < 0)
		return r;
	buf = malloc(total);
	c = EVP_CIPHER_CTX_new();
	if (!buf || !c) {
		r = vecs_err_set(err, -ENOMEM, "out of memory encrypting a database value");
		goto out;
	}
	memcpy(buf, iv, DB_ENCRYPTOR_V2_IV_LEN);
	if (!EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, DB_ENCRYPTOR_V2_IV_LEN, NULL) ||
	    !EVP_EncryptInit_ex(c, NULL, NULL, key, iv) ||
	    !EVP_EncryptUpdate(c, buf + DB_ENCRYPTOR_V2_IV_LEN, &n, plain, (int)len) ||
	    !EVP_EncryptFinal_ex(c, buf + DB_ENCRYPTOR_V2_IV_LEN + n, &fin) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, DB_ENCRYPTOR_V2_TAG_LEN,
				 buf + DB_ENCRYPTOR_V2_IV_LEN + len)) {
		r = vecs_err_set(err, -EIO, "AES-256-GCM encryption failed in OpenSSL");
		goto out;
	}
	r = encode_out(buf, total, out, err);
out:
	explicit_bzero(key, sizeof(key));
	EVP_CIPHER_CTX_free(c);
	free(buf);
	return r;
}

int db_decrypt_v2(const struct db_encryptor *e, const char *value, struct vecs_secret *out,
		  struct vecs_err *err)
{
	unsigned char key[32], *buf = NULL;
	EVP_CIPHER_CTX *c = NULL;
	size_t n = 0, ctlen;
	int len = 0, fin = 0, r;

	memset(out, 0, sizeof(*out));
	r = decode_in(value, &buf, &n, "encryptor V2 (AES-256-GCM)", err);
	if (r < 0)
		return r;
	if (n < DB_ENCRYPTOR_V2_IV_LEN + DB_ENCRYPTOR_V2_TAG_LEN || n > INT32_MAX) {
		free(buf);
		return vecs_err_set(err, -EBADMSG,
				    "cannot decrypt a database value with encryptor V2 "
				    "(AES-256-GCM): %zu bytes is too short for IV and tag",
				    n);
	}
	ctlen = n - DB_ENCRYPTOR_V2_IV_LEN - DB_ENCRYPTOR_V2_TAG_LEN;
	r = v2_key(e, key, err);
	if (r == 0)
		r = vecs_secret_alloc(out, ctlen + 1, err);
	if (r < 0)
		goto out;
	c = EVP_CIPHER_CTX_new();
	if (!c) {
		r = vecs_err_set(err, -ENOMEM, "out of memory decrypting a database value");
		goto out;
	}
	if (!EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, DB_ENCRYPTOR_V2_IV_LEN, NULL) ||
	    !EVP_DecryptInit_ex(c, NULL, NULL, key, buf) ||
	    !EVP_DecryptUpdate(c, out->data, &len, buf + DB_ENCRYPTOR_V2_IV_LEN, (int)ctlen) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, DB_ENCRYPTOR_V2_TAG_LEN,
				 buf + n - DB_ENCRYPTOR_V2_TAG_LEN)) {
		r = vecs_err_set(err, -EIO, "AES-256-GCM decryption failed in OpenSSL");
		goto out;
	}
	if (EVP_DecryptFinal_ex(c, out->data + len, &fin) <= 0) {
		r = vecs_err_set(err, -EBADMSG,
				 "cannot decrypt a database value with encryptor V2 (AES-256-GCM): "
				 "the authentication tag does not match; the database key "
				 "(%s) is wrong or the value was altered",
				 DB_PROP_SECRET);
		goto out;
	}
	out->len = (size_t)len + (size_t)fin;
	out->data[out->len] = '\0';
out:
	explicit_bzero(key, sizeof(key));
	EVP_CIPHER_CTX_free(c);
	free(buf);
	if (r < 0)
		vecs_secret_release(out);
	return r;
}

/* --- V1: jasypt PBEWithMD5AndDES ----------------------------------------------------- */

static int v1_available(const struct db_encryptor *e, struct vecs_err *err)
{
	if (e->legacy)
		return 0;
	return vecs_err_set(err, -ENOTSUP,
			    "encryptor V1 (PBEWithMD5AndDES) needs DES from OpenSSL's legacy "
			    "provider, which did not load; install it (legacy.so) or set "
			    "OPENSSL_MODULES to its directory");
}

/* PBKDF1 (PKCS #5 v1.5) with MD5: T1 = MD5(P || S), Ti = MD5(Ti-1); DES key = first 8
 * bytes of T1000, IV = last 8. */
static int v1_derive(const struct db_encryptor *e, const unsigned char *salt,
		     unsigned char key[8], unsigned char iv[8], struct vecs_err *err)
{
	unsigned char dk[16];
	unsigned int n = 0;
	EVP_MD *md5 = EVP_MD_fetch(e->legacy->ctx, "MD5", NULL);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = md5 && c;

	ok = ok && EVP_DigestInit_ex(c, md5, NULL) &&
	     EVP_DigestUpdate(c, e->secret.data, e->secret.len) &&
	     EVP_DigestUpdate(c, salt, DB_ENCRYPTOR_V1_SALT_LEN) && EVP_DigestFinal_ex(c, dk, &n);
	for (int i = 1; ok && i < DB_ENCRYPTOR_V1_ITERATIONS; i++)
		ok = EVP_DigestInit_ex(c, md5, NULL) && EVP_DigestUpdate(c, dk, sizeof(dk)) &&
		     EVP_DigestFinal_ex(c, dk, &n);
	if (ok) {
		memcpy(key, dk, 8);
		memcpy(iv, dk + 8, 8);
	}
	explicit_bzero(dk, sizeof(dk));
	EVP_MD_CTX_free(c);
	EVP_MD_free(md5);
	if (!ok)
		return vecs_err_set(err, -EIO, "MD5 key derivation for encryptor V1 failed in OpenSSL");
	return 0;
}

/* DES-CBC with PKCS#5 padding; out has room for len + 8 bytes. */
static int v1_cipher(const struct db_encryptor *e, int enc, const unsigned char key[8],
		     const unsigned char iv[8], const unsigned char *in, size_t len,
		     unsigned char *out, size_t *outlen, struct vecs_err *err)
{
	EVP_CIPHER *des = EVP_CIPHER_fetch(e->legacy->ctx, "DES-CBC", NULL);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0, r = 0;

	if (!des || !c) {
		r = vecs_err_set(err, -ENOTSUP, "DES-CBC is not available from OpenSSL's legacy provider");
		goto out;
	}
	if (!EVP_CipherInit_ex2(c, des, key, iv, enc, NULL) ||
	    !EVP_CipherUpdate(c, out, &n, in, (int)len)) {
		r = vecs_err_set(err, -EIO, "DES-CBC failed in OpenSSL");
		goto out;
	}
	if (EVP_CipherFinal_ex(c, out + n, &fin) <= 0) {
		r = enc ? vecs_err_set(err, -EIO, "DES-CBC failed in OpenSSL")
			: vecs_err_set(err, -EBADMSG,
				       "cannot decrypt a database value with encryptor V1 "
				       "(PBEWithMD5AndDES): the padding is invalid; the database key "
				       "(%s) is wrong or the value was altered",
				       DB_PROP_SECRET);
		goto out;
	}
	*outlen = (size_t)n + (size_t)fin;
out:
	EVP_CIPHER_CTX_free(c);
	EVP_CIPHER_free(des);
	return r;
}

int db_encrypt_v1_salt(const struct db_encryptor *e,
		       const unsigned char salt[DB_ENCRYPTOR_V1_SALT_LEN], const void *plain,
		       size_t len, char **out, struct vecs_err *err)
{
	unsigned char key[8], iv[8], *buf = NULL;
	size_t ctlen = 0;
	int r;

	*out = NULL;
	if ((r = v1_available(e, err)) < 0)
		return r;
	if (len > INT32_MAX - 64)
		return vecs_err_set(err, -EFBIG, "database value too large to encrypt");
	r = v1_derive(e, salt, key, iv, err);
	if (r < 0)
		return r;
	buf = malloc(DB_ENCRYPTOR_V1_SALT_LEN + len + V1_BLOCK);
	if (!buf) {
		r = vecs_err_set(err, -ENOMEM, "out of memory encrypting a database value");
		goto out;
	}
	memcpy(buf, salt, DB_ENCRYPTOR_V1_SALT_LEN);
	r = v1_cipher(e, 1, key, iv, plain, len, buf + DB_ENCRYPTOR_V1_SALT_LEN, &ctlen, err);
	if (r == 0)
		r = encode_out(buf, DB_ENCRYPTOR_V1_SALT_LEN + ctlen, out, err);
out:
	explicit_bzero(key, sizeof(key));
	explicit_bzero(iv, sizeof(iv));
	free(buf);
	return r;
}

int db_decrypt_v1(const struct db_encryptor *e, const char *value, struct vecs_secret *out,
		  struct vecs_err *err)
{
	unsigned char key[8], iv[8], *buf = NULL;
	size_t n = 0, ptlen = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = v1_available(e, err)) < 0)
		return r;
	r = decode_in(value, &buf, &n, "encryptor V1 (PBEWithMD5AndDES)", err);
	if (r < 0)
		return r;
	if (n < DB_ENCRYPTOR_V1_SALT_LEN + V1_BLOCK || (n - DB_ENCRYPTOR_V1_SALT_LEN) % V1_BLOCK ||
	    n > INT32_MAX) {
		free(buf);
		return vecs_err_set(err, -EBADMSG,
				    "cannot decrypt a database value with encryptor V1 "
				    "(PBEWithMD5AndDES): %zu bytes is not an 8-byte salt followed "
				    "by whole DES blocks",
				    n);
	}
	r = v1_derive(e, buf, key, iv, err);
	if (r == 0)
		r = vecs_secret_alloc(out, n - DB_ENCRYPTOR_V1_SALT_LEN + V1_BLOCK + 1, err);
	if (r == 0)
		r = v1_cipher(e, 0, key, iv, buf + DB_ENCRYPTOR_V1_SALT_LEN,
			      n - DB_ENCRYPTOR_V1_SALT_LEN, out->data, &ptlen, err);
	if (r == 0) {
		out->len = ptlen;
		out->data[ptlen] = '\0';
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(iv, sizeof(iv));
	free(buf);
	if (r < 0)
		vecs_secret_release(out);
	return r;
}

/* --- front -------------------------------------------------------------------------- */

int db_encrypt(const struct db_encryptor *e, const void *plain, size_t len, char **out,
	       struct vecs_err *err)
{
	if (e->version == DB_ENCRYPTOR_V1) {
		unsigned char salt[DB_ENCRYPTOR_V1_SALT_LEN];
		int r = fill_random(salt, sizeof(salt), err);
		return r < 0 ? r : db_encrypt_v1_salt(e, salt, plain, len, out, err);
	} else {
		unsigned char iv[DB_ENCRYPTOR_V2_IV_LEN];
		int r = fill_random(iv, sizeof(iv), err);
		return r < 0 ? r : db_encrypt_v2_iv(e, iv, plain, len, out, err);
	}
}

int db_decrypt(const struct db_encryptor *e, const char *value, struct vecs_secret *out,
	       struct vecs_err *err)
{
	struct vecs_err e2 = { 0 }, e1 = { 0 };
	int r2, r1;

	if (e->version == DB_ENCRYPTOR_V2)
		return db_decrypt_v2(e, value, out, err);
	if (e->version == DB_ENCRYPTOR_V1)
		return db_decrypt_v1(e, value, out, err);
	r2 = db_decrypt_v2(e, value, out, &e2);
	if (r2 == 0)
		return 0;
	r1 = db_decrypt_v1(e, value, out, &e1);
	if (r1 == 0)
		return 0;
	/* Neither: report both, V2's first, as the likelier one to have written it. */
	return vecs_err_set(err, r2, "no encryptor could read a database value (version unset, "
				     "tried V2 then V1). V2: %.240s V1: %.240s",
			    e2.msg, e1.msg);
}
