#include "oracle/canary.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"

static const char seed_label[] = "vecs-canary-seed:";
static const char rec_label[] = "vecs-canary-rec:";

/* SHA-256 over label || S is the same for every record: hash it once and copy the
 * state per record (about 60 ns a record, so 1 GiB of canary takes ~2 s). */
struct vecs_canary_hash {
	EVP_MD *md;
	EVP_MD_CTX *base;
	EVP_MD_CTX *work;
};

static void hash_free(struct vecs_canary_hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->work);
	EVP_MD_CTX_free(h->base);
	EVP_MD_free(h->md);
	free(h);
}

int vecs_canary_seed_id(const char *seed, uint8_t id[VECS_CANARY_SEED_ID_LEN],
			struct vecs_err *err)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int ok;

	if (!seed || !*seed)
		return vecs_err_set(err, -EINVAL, "canary seed is empty; give a seed string");
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return vecs_err_set(err, -ENOMEM, "canary: out of memory for a SHA-256 context");
	ok = EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, seed_label, strlen(seed_label)) &&
	     EVP_DigestUpdate(ctx, seed, strlen(seed)) && EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return vecs_err_set(err, -EIO, "canary: SHA-256 failed in OpenSSL; check libcrypto");
	memcpy(id, md, VECS_CANARY_SEED_ID_LEN);
	return 0;
}

int vecs_canary_init(struct vecs_canary *c, const char *seed, struct vecs_err *err)
{
	struct vecs_canary_hash *h;
	int r;

	memset(c, 0, sizeof(*c));
	r = vecs_canary_seed_id(seed, c->seed_id, err);
	if (r < 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (!h)
		return vecs_err_set(err, -ENOMEM, "canary: out of memory");
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->base = EVP_MD_CTX_new();
	h->work = EVP_MD_CTX_new();
	if (!h->md || !h->base || !h->work || !EVP_DigestInit_ex2(h->base, h->md, NULL) ||
	    !EVP_DigestUpdate(h->base, rec_label, strlen(rec_label)) ||
	    !EVP_DigestUpdate(h->base, seed, strlen(seed))) {
		hash_free(h);
		return vecs_err_set(err, -EIO,
				    "canary: cannot prepare SHA-256 in OpenSSL; check libcrypto");
	}
	c->hash = h;
	return 0;
}

void vecs_canary_free(struct vecs_canary *c)
{
	if (!c)
		return;
	hash_free(c->hash);
	c->hash = NULL;
}

void vecs_canary_check(const struct vecs_canary *c, uint32_t index,
		       uint8_t check[VECS_CANARY_CHECK_LEN])
{
	struct vecs_canary_hash *h = c->hash;
	uint8_t md[EVP_MAX_MD_SIZE], le[8];
	unsigned int mdlen = 0;

	le64_store(le, index);
	/* Copying the state can only fail on allocation failure; then all-zero check bytes
	 * make records fail verification (a scan reports them "corrupt", still found)
	 * rather than pass unnoticed. */
	if (!EVP_MD_CTX_copy_ex(h->work, h->base) || !EVP_DigestUpdate(h->work, le, sizeof(le)) ||
	    !EVP_DigestFinal_ex(h->work, md, &mdlen))
		memset(md, 0, sizeof(md));
	memcpy(check, md, VECS_CANARY_CHECK_LEN);
}

void vecs_canary_record(const struct vecs_canary *c, uint32_t index,
			uint8_t rec[VECS_CANARY_RECORD])
{
	memset(rec, VECS_CANARY_RUN_BYTE, VECS_CANARY_RUN);
	memcpy(rec + 16, c->seed_id, VECS_CANARY_SEED_ID_LEN);
	rec[20] = (uint8_t)index;
	rec[21] = (uint8_t)(index >> 8);
	rec[22] = (uint8_t)(index >> 16);
	rec[23] = (uint8_t)(index >> 24);
	vecs_canary_check(c, index, rec + 24);
}

bool vecs_canary_verify(const struct vecs_canary *c, const uint8_t *rec, uint32_t *index)
{
	uint8_t check[VECS_CANARY_CHECK_LEN];
	uint32_t i;

	for (int k = 0; k < VECS_CANARY_RUN; k++)
		if (rec[k] != VECS_CANARY_RUN_BYTE)
			return false;
	if (memcmp(rec + 16, c->seed_id, VECS_CANARY_SEED_ID_LEN))
		return false;
	i = (uint32_t)rec[20] | (uint32_t)rec[21] << 8 | (uint32_t)rec[22] << 16 |
	    (uint32_t)rec[23] << 24;
	vecs_canary_check(c, i, check);
	if (memcmp(rec + 24, check, sizeof(check)))
		return false;
	if (index)
		*index = i;
	return true;
}

int vecs_canary_fill(const struct vecs_canary *c, uint64_t offset, void *buf, size_t len,
		     struct vecs_err *err)
{
	uint8_t rec[VECS_CANARY_RECORD];
	uint8_t *out = buf;

	if (offset > VECS_CANARY_MAX_SIZE || len > VECS_CANARY_MAX_SIZE - offset)
		return vecs_err_set(err, -ERANGE,
				    "canary: bytes %llu..%llu are past the end of the stream "
				    "(%llu bytes); ask for less",
				    (unsigned long long)offset, (unsigned long long)(offset + len),
				    (unsigned long long)VECS_CANARY_MAX_SIZE);
	while (len) {
		uint32_t idx = (uint32_t)(offset / VECS_CANARY_RECORD);
		size_t in = offset % VECS_CANARY_RECORD;
		size_t n = VECS_CANARY_RECORD - in;

		if (n > len)
			n = len;
		vecs_canary_record(c, idx, rec);
		memcpy(out, rec + in, n);
		out += n;
		offset += n;
		len -= n;
	}
	return 0;
}

int vecs_canary_parse_size(const char *s, uint64_t *out, struct vecs_err *err)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		goto bad;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default:
		goto bad;
	}
	if (*end)
		goto bad;
	if (shift && v > (UINT64_MAX >> shift))
		goto bad;
	*out = (uint64_t)v << shift;
	return 0;
bad:
	return vecs_err_set(err, -EINVAL,
			    "size '%s' is not a byte count; give digits, optionally followed by "
			    "K, M, G or T (powers of 1024), e.g. 4096 or 64M",
			    s ? s : "");
}
