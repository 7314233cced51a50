#include "faults/corrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oracle/blob.h"
#include "oracle/luks1_header.h"
#include "oracle/qcow2_crypt.h"
#include "util/bytes.h"
#include "util/file.h"

/* phdr layout (oracle/luks1_header.h) */
#define PHDR_KEYSLOTS 208
#define PHDR_KEYSLOT_SIZE 48
#define KS_ACTIVE 0
#define KS_ITERATIONS 4
#define KS_SALT 8
#define KS_KEY_OFFSET 40
#define KS_STRIPES 44
#define KS(n, field) (PHDR_KEYSLOTS + (n) * PHDR_KEYSLOT_SIZE + (field))

/* qcow2 header fields (QEMU docs/interop/qcow2.txt) */
#define QCOW2_OFF_CRYPT_METHOD 32
#define QCOW2_OFF_L1_SIZE 36
#define QCOW2_OFF_L1_TABLE 40
#define QCOW2_OFF_INCOMPAT 72
#define QCOW2_INCOMPAT_EXTL2 (1u << 4)
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_L2_COMPRESSED (1ull << 62)
#define QCOW2_L2_ZERO 1ull

#define RAW_CIPHERTEXT_SPAN 65536u

enum field_kind {
	FIELD_PHDR,        /* off/len inside the LUKS1 phdr */
	FIELD_KS0_MATERIAL,
	FIELD_QCOW2_HEADER, /* off/len inside the qcow2 header */
	FIELD_QCOW2_FDE_EXT, /* the 16 data bytes of the encryption header extension */
	FIELD_CIPHERTEXT,
};

enum mutation {
	MUT_FLIP,       /* any bit of any byte */
	MUT_FLIP_TEXT,  /* any bit of a byte before the string's NUL */
	MUT_FLIP_BITS,  /* a bit in [bit_lo, bit_hi] of a big-endian integer */
	MUT_SET_BIT,    /* set one clear bit in [bit_lo, bit_hi] of a big-endian integer
			 * (the value grows) */
	MUT_CLEAR_BIT,  /* clear one set bit of a big-endian u32 (iterations: never slower) */
	MUT_SLOT_GARBAGE, /* a disabled keyslot turned enabled, with garbage salt/iterations */
};

struct spec {
	enum field_kind kind;
	uint32_t off, len;
	enum mutation mut;
	unsigned bit_lo, bit_hi;
};

#define R VECS_CORRUPT_REFUSED
#define U VECS_CORRUPT_UNDETECTABLE
#define H VECS_CORRUPT_HARMLESS
#define NA VECS_CORRUPT_NOT_APPLICABLE

/* The expectations were decided by experiment (harness/tests/integration/t-corrupt.sh
 * asserts them on both volume kinds; faults/README.md has the table). */
const struct vecs_corrupt_target vecs_corrupt_targets[] = {
	/* id, description, expect (raw LUKS1), expect_qcow2 */
	{ "luks.magic", "one bit of the 6-byte magic \"LUKS\\xba\\xbe\"", R, R },
	{ "luks.version", "one bit of the 16-bit version (1)", R, R },
	{ "luks.cipher_name", "one bit of a character of cipherName (\"aes\"), never a letter's case", R, R },
	{ "luks.cipher_mode", "one bit of a character of cipherMode (\"xts-plain64\"), never a letter's case", R, R },
	{ "luks.hash_spec", "one bit of a character of hashSpec (\"sha256\"), never a letter's case", R, R },
	/* Raw: the payload moves by 1..128 sectors and everybody (cryptsetup, QEMU's luks
	 * driver, inspect) accepts it: reads return other bytes. qcow2 never reads the
	 * payload offset (data lives in clusters): QEMU opens and reads as before. */
	{ "luks.payload_offset", "one clear bit of the low 8 bits of payloadOffset set (payload moves up to 128 sectors)", U, H },
	{ "luks.key_bytes", "one of the low 8 bits of keyBytes (64)", R, R },
	{ "luks.mk_digest", "one bit of the 20-byte master key digest", R, R },
	{ "luks.mk_digest_salt", "one bit of the 32-byte master key digest salt", R, R },
	{ "luks.mk_digest_iter", "one set bit of mkDigestIterations cleared (fewer iterations)", R, R },
	{ "luks.uuid", "one bit of a character of the uuid", H, H },
	{ "luks.ks0.active", "one bit of keyslot 0's state (0x00AC71F3)", R, R },
	{ "luks.ks0.iterations", "one set bit of keyslot 0's iterations cleared (fewer iterations)", R, R },
	{ "luks.ks0.salt", "one bit of keyslot 0's 32-byte salt", R, R },
	{ "luks.ks0.key_offset", "one bit of keyslot 0's keyMaterialOffset", R, R },
	{ "luks.ks0.stripes", "one of the low 12 bits of keyslot 0's stripes (4000)", R, R },
	{ "luks.ks0.material", "one bit of keyslot 0's AF-split key material", R, R },
	/* The right passphrase still opens keyslot 0, tried first. */
	{ "luks.ks1.active", "disabled keyslot 1 marked enabled, with a garbage salt and 1000-1999 iterations", H, H },
	{ "qcow2.crypt_method", "one of bits 2..7 of the qcow2 crypt_method (2): an unknown method", NA, R },
	{ "qcow2.crypto_ext", "one bit of the encryption header extension's offset (no LUKS header there)", NA, R },
	/* QEMU reads the LUKS header through the offset and checks the length only against
	 * what it reads: a region running past the end of the file goes unnoticed. */
	{ "qcow2.crypto_ext_length", "one clear bit of bits 32..47 of the encryption header extension's length set (the region runs past the end of the file)", NA, H },
	{ "ciphertext", "one bit of a data cluster (qcow2: lowest allocated guest cluster; raw: first 64 KiB of the payload)", U, U },
};

/* Same order as vecs_corrupt_targets. */
static const struct spec specs[] = {
	{ FIELD_PHDR, 0, 6, MUT_FLIP, 0, 0 },
	{ FIELD_PHDR, 6, 2, MUT_FLIP_BITS, 0, 15 },
	{ FIELD_PHDR, 8, 32, MUT_FLIP_TEXT, 0, 0 },
	{ FIELD_PHDR, 40, 32, MUT_FLIP_TEXT, 0, 0 },
	{ FIELD_PHDR, 72, 32, MUT_FLIP_TEXT, 0, 0 },
	{ FIELD_PHDR, 104, 4, MUT_SET_BIT, 0, 7 },
	{ FIELD_PHDR, 108, 4, MUT_FLIP_BITS, 0, 7 },
	{ FIELD_PHDR, 112, 20, MUT_FLIP, 0, 0 },
	{ FIELD_PHDR, 132, 32, MUT_FLIP, 0, 0 },
	{ FIELD_PHDR, 164, 4, MUT_CLEAR_BIT, 0, 0 },
	{ FIELD_PHDR, 168, 40, MUT_FLIP_TEXT, 0, 0 },
	{ FIELD_PHDR, KS(0, KS_ACTIVE), 4, MUT_FLIP, 0, 0 },
	{ FIELD_PHDR, KS(0, KS_ITERATIONS), 4, MUT_CLEAR_BIT, 0, 0 },
	{ FIELD_PHDR, KS(0, KS_SALT), 32, MUT_FLIP, 0, 0 },
	{ FIELD_PHDR, KS(0, KS_KEY_OFFSET), 4, MUT_FLIP_BITS, 0, 31 },
	{ FIELD_PHDR, KS(0, KS_STRIPES), 4, MUT_FLIP_BITS, 0, 11 },
	{ FIELD_KS0_MATERIAL, 0, 0, MUT_FLIP, 0, 0 },
	{ FIELD_PHDR, KS(1, 0), PHDR_KEYSLOT_SIZE, MUT_SLOT_GARBAGE, 0, 0 },
	{ FIELD_QCOW2_HEADER, QCOW2_OFF_CRYPT_METHOD, 4, MUT_FLIP_BITS, 2, 7 },
	{ FIELD_QCOW2_FDE_EXT, 0, 8, MUT_FLIP, 0, 0 },
	{ FIELD_QCOW2_FDE_EXT, 8, 8, MUT_SET_BIT, 32, 47 },
	{ FIELD_CIPHERTEXT, 0, 0, MUT_FLIP, 0, 0 },
};

#undef R
#undef U
#undef H
#undef NA

const size_t vecs_corrupt_n_targets = sizeof(specs) / sizeof(specs[0]);

_Static_assert(sizeof(vecs_corrupt_targets) / sizeof(vecs_corrupt_targets[0]) ==
		       sizeof(specs) / sizeof(specs[0]),
	       "every corruption target needs its spec");

enum vecs_corrupt_expect vecs_corrupt_expect_on(const struct vecs_corrupt_target *t, bool qcow2)
{
	return qcow2 ? t->expect_qcow2 : t->expect;
}

const char *vecs_corrupt_expect_name(enum vecs_corrupt_expect e)
{
	switch (e) {
	case VECS_CORRUPT_REFUSED: return "refused";
	case VECS_CORRUPT_UNDETECTABLE: return "undetectable";
	case VECS_CORRUPT_HARMLESS: return "harmless";
	case VECS_CORRUPT_NOT_APPLICABLE: return "n/a";
	}
	return "unknown";
}

static int find_index(const char *id)
{
	for (size_t i = 0; i < vecs_corrupt_n_targets; i++)
		if (!strcmp(vecs_corrupt_targets[i].id, id))
			return (int)i;
	return -1;
}

const struct vecs_corrupt_target *vecs_corrupt_find(const char *target_id)
{
	int i = find_index(target_id);

	return i < 0 ? NULL : &vecs_corrupt_targets[i];
}

/* --- the volume: where its LUKS device and qcow2 header lie --------------------------- */

struct volume {
	const char *path;
	int fd;
	uint64_t size;
	bool is_qcow2;
	struct qcow2_info q;
	uint64_t fde_ext_data; /* absolute offset of the extension's 16 data bytes */
	uint64_t luks_base, luks_size;
	uint8_t phdr[LUKS1_PHDR_SIZE];
	struct luks1_header h;
};

static int read_at(const struct volume *v, uint64_t off, void *buf, size_t len, struct vecs_err *err)
{
	struct vecs_blob whole = { .fd = v->fd, .base = 0, .size = v->size };
	int r = vecs_blob_read(&whole, off, buf, len);

	if (r < 0)
		return vecs_err_set(err, r, "cannot read %zu bytes at %" PRIu64 " of %s: %s", len, off,
				    v->path, r == -ERANGE ? "past its end" : strerror(-r));
	return 0;
}

/* Walk the extensions for the FDE one; qcow2_parse has checked they are well formed. */
static void find_fde_ext(struct volume *v, const uint8_t *head, size_t len)
{
	size_t off = v->q.header_length;
	size_t end = ((size_t)1 << v->q.cluster_bits) < len ? (size_t)1 << v->q.cluster_bits : len;

	while (off + 8 <= end) {
		uint32_t type = be32_load(head + off);
		uint32_t elen = be32_load(head + off + 4);

		if (type == 0)
			return;
		if (type == QCOW2_EXT_FDE) {
			v->fde_ext_data = off + 8;
			return;
		}
		off += 8 + (((size_t)elen + 7) & ~(size_t)7);
	}
}

static int load_qcow2(struct volume *v, const uint8_t *head, size_t len, struct vecs_err *err)
{
	struct findings f = { 0 };
	int r = qcow2_parse(head, len, v->size, &v->q, &f);

	v->is_qcow2 = true;
	if (r < 0 || !v->q.has_fde) {
		const char *why = f.n ? f.items[0].message : "no encryption header extension";
		return vecs_err_set(err, -EINVAL,
				    "%s is a qcow2 image without a usable LUKS encryption header (%s); only qcow2 with encrypt.format=luks can be corrupted",
				    v->path, why);
	}
	find_fde_ext(v, head, len);
	v->luks_base = v->q.fde_offset;
	v->luks_size = v->q.fde_length;
	return 0;
}

/* Open path and find its LUKS header. mode is O_RDONLY or O_RDWR. */
static int volume_open(struct volume *v, const char *path, int mode, struct vecs_err *err)
{
	size_t want;
	uint8_t *head;
	int r;

	memset(v, 0, sizeof(*v));
	v->path = path;
	v->fd = open(path, mode | O_CLOEXEC | O_NOCTTY);
	if (v->fd < 0)
		return vecs_err_set(err, -errno, "cannot open %s%s: %s", path,
				    mode == O_RDWR ? " for writing" : "", strerror(errno));
	r = vecs_fd_size(v->fd, &v->size);
	if (r < 0) {
		close(v->fd);
		return vecs_err_set(err, r, "%s is neither a regular file nor a block device", path);
	}
	want = v->size < QCOW2_HEADER_READ_MAX ? (size_t)v->size : QCOW2_HEADER_READ_MAX;
	head = malloc(want ? want : 1);
	if (!head) {
		close(v->fd);
		return vecs_err_set(err, -ENOMEM, "out of memory reading %s", path);
	}
	r = read_at(v, 0, head, want, err);
	if (r == 0 && qcow2_detect(head, want)) {
		r = load_qcow2(v, head, want, err);
	} else if (r == 0) {
		v->luks_base = 0;
		v->luks_size = v->size;
	}
	free(head);
	if (r == 0 && v->luks_size >= LUKS1_PHDR_SIZE)
		r = read_at(v, v->luks_base, v->phdr, sizeof(v->phdr), err);
	if (r == 0 && (v->luks_size < LUKS1_PHDR_SIZE || luks_detect(v->phdr, sizeof(v->phdr)) != LUKS_KIND_V1))
		r = vecs_err_set(err, -EINVAL,
				 "%s holds no LUKS1 header at byte %" PRIu64 " (neither raw LUKS1 nor qcow2 with LUKS encryption)",
				 path, v->luks_base);
	if (r < 0) {
		close(v->fd);
		v->fd = -1;
		return r;
	}
	luks1_decode(v->phdr, &v->h);
	return 0;
}

static void volume_close(struct volume *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}

/* --- locating a field ----------------------------------------------------------------- */

static int locate_in_luks(const struct volume *v, uint64_t off, uint64_t len, const char *what,
			  uint64_t *abs, size_t *out_len, struct vecs_err *err)
{
	if (off > v->luks_size || len > v->luks_size - off || len > SIZE_MAX)
		return vecs_err_set(err, -EINVAL,
				    "%s of %s (%" PRIu64 " bytes at %" PRIu64 ") lies outside its %" PRIu64 "-byte LUKS device",
				    what, v->path, len, off, v->luks_size);
	*abs = v->luks_base + off;
	*out_len = (size_t)len;
	return 0;
}

/* The host cluster backing the lowest allocated, uncompressed guest cluster. */
static int locate_qcow2_data(const struct volume *v, uint64_t *abs, size_t *len, struct vecs_err *err)
{
	uint8_t hdr[80];
	size_t cluster = (size_t)1 << v->q.cluster_bits;
	uint64_t l1_off;
	uint32_t l1_size;
	uint8_t *l2;
	int r;

	r = read_at(v, 0, hdr, sizeof(hdr), err);
	if (r < 0)
		return r;
	if (v->q.version >= 3 && (be64_load(hdr + QCOW2_OFF_INCOMPAT) & QCOW2_INCOMPAT_EXTL2))
		return vecs_err_set(err, -ENOTSUP, "%s uses extended L2 entries, which the ciphertext locator does not read",
				    v->path);
	l1_size = be32_load(hdr + QCOW2_OFF_L1_SIZE);
	l1_off = be64_load(hdr + QCOW2_OFF_L1_TABLE);
	l2 = malloc(cluster);
	if (!l2)
		return vecs_err_set(err, -ENOMEM, "out of memory reading %s", v->path);
	for (uint32_t i = 0; i < l1_size; i++) {
		uint8_t e[8];
		uint64_t l2_off;

		r = read_at(v, l1_off + 8ull * i, e, sizeof(e), err);
		if (r < 0)
			break;
		l2_off = be64_load(e) & QCOW2_OFFSET_MASK;
		if (!l2_off)
			continue;
		r = read_at(v, l2_off, l2, cluster, err);
		if (r < 0)
			break;
		for (size_t j = 0; j < cluster / 8; j++) {
			uint64_t ent = be64_load(l2 + 8 * j);
			uint64_t data = ent & QCOW2_OFFSET_MASK;

			if ((ent & QCOW2_L2_COMPRESSED) || (ent & QCOW2_L2_ZERO) || !data)
				continue;
			free(l2);
			if (data > v->size || cluster > v->size - data)
				return vecs_err_set(err, -EINVAL, "%s: data cluster at %" PRIu64 " lies past the end of the file",
						    v->path, data);
			*abs = data;
			*len = cluster;
			return 0;
		}
	}
	free(l2);
	if (r < 0)
		return r;
	return vecs_err_set(err, -ENOENT,
			    "%s has no allocated data cluster to corrupt; write data into the image first (e.g. qemu-io -c 'write ...')",
			    v->path);
}

static int locate_raw_payload(const struct volume *v, uint64_t *abs, size_t *len, struct vecs_err *err)
{
	uint64_t off = (uint64_t)v->h.payload_offset * LUKS1_SECTOR;

	if (off >= v->size)
		return vecs_err_set(err, -EINVAL, "%s: the LUKS payload (sector %u) starts past the end of the device",
				    v->path, v->h.payload_offset);
	*abs = off;
	*len = v->size - off < RAW_CIPHERTEXT_SPAN ? (size_t)(v->size - off) : RAW_CIPHERTEXT_SPAN;
	return 0;
}

static int locate_spec(const struct volume *v, const struct spec *s, const char *id, uint64_t *abs,
		       size_t *len, struct vecs_err *err)
{
	const struct luks1_keyslot *ks0 = &v->h.keyslots[0];

	switch (s->kind) {
	case FIELD_PHDR:
		return locate_in_luks(v, s->off, s->len, id, abs, len, err);
	case FIELD_KS0_MATERIAL:
		if (ks0->active != LUKS1_KEY_ENABLED)
			return vecs_err_set(err, -ENOENT, "keyslot 0 of %s is not enabled: no key material to corrupt",
					    v->path);
		return locate_in_luks(v, (uint64_t)ks0->key_material_offset * LUKS1_SECTOR,
				      (uint64_t)v->h.key_bytes * ks0->stripes, id, abs, len, err);
	case FIELD_QCOW2_HEADER:
	case FIELD_QCOW2_FDE_EXT:
		if (!v->is_qcow2)
			return vecs_err_set(err, -EINVAL, "%s is raw LUKS1, not qcow2: target %s does not apply",
					    v->path, id);
		*abs = s->kind == FIELD_QCOW2_HEADER ? s->off : v->fde_ext_data + s->off;
		*len = s->len;
		return 0;
	case FIELD_CIPHERTEXT:
		return v->is_qcow2 ? locate_qcow2_data(v, abs, len, err) : locate_raw_payload(v, abs, len, err);
	}
	return vecs_err_set(err, -EINVAL, "target %s has no locator", id);
}

int vecs_corrupt_locate(const char *path, const char *target_id, uint64_t *offset, size_t *len,
			struct vecs_err *err)
{
	struct volume v;
	int i = find_index(target_id);
	int r;

	if (i < 0)
		return vecs_err_set(err, -ENOENT, "unknown corruption target '%s'; `vecs corrupt --list` shows them",
				    target_id);
	r = volume_open(&v, path, O_RDONLY, err);
	if (r < 0)
		return r;
	r = locate_spec(&v, &specs[i], target_id, offset, len, err);
	volume_close(&v);
	return r;
}

/* --- changing a field ----------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Bit k (0 = least significant) of a big-endian integer of len bytes. */
static bool be_bit(const uint8_t *p, size_t len, unsigned k)
{
	return (p[len - 1 - k / 8] >> (k % 8)) & 1;
}

/* The r-th (mod count) bit in [lo, hi] whose value is want, or -1 when there is none. */
static int pick_bit(const uint8_t *p, size_t len, unsigned lo, unsigned hi, bool want, uint64_t r)
{
	unsigned n = 0;
	uint64_t pick;

	for (unsigned k = lo; k <= hi; k++)
		n += be_bit(p, len, k) == want;
	if (!n)
		return -1;
	pick = r % n;
	for (unsigned k = lo; k <= hi; k++)
		if (be_bit(p, len, k) == want && pick-- == 0)
			return (int)k;
	return -1;
}

/* Fill u from field (len bytes at absolute offset field_off) as s says: the changed
 * range is narrowed to the byte(s) that differ (one, or a whole keyslot). */
static int mutate(const struct spec *s, const uint8_t *field, size_t len, uint64_t seed,
		  uint64_t field_off, struct vecs_corrupt_undo *u, struct vecs_err *err)
{
	uint64_t st = seed;
	uint64_t r1 = splitmix64(&st), r2 = splitmix64(&st);
	size_t byte = 0;
	unsigned bit = (unsigned)(r2 % 8);

	switch (s->mut) {
	case MUT_FLIP:
		byte = (size_t)(r1 % len);
		break;
	case MUT_FLIP_TEXT: {
		size_t n = strnlen((const char *)field, len);
		bool letter;

		byte = (size_t)(r1 % (n ? n : 1));
		/* Never bit 5 of a letter: libcryptsetup (and OpenSSL's digest lookup) take
		 * "Aes", "plAin64", "Sha256" for the same algorithms, so a case change is no
		 * corruption for the raw path (QEMU refuses it; faults/README.md). */
		letter = (field[byte] | 0x20) >= 'a' && (field[byte] | 0x20) <= 'z';
		bit = (unsigned)(r2 % (letter ? 7 : 8));
		if (letter && bit >= 5)
			bit++;
		break;
	}
	case MUT_FLIP_BITS: {
		unsigned k = s->bit_lo + (unsigned)(r1 % (s->bit_hi - s->bit_lo + 1));
		byte = len - 1 - k / 8;
		bit = k % 8;
		break;
	}
	case MUT_SET_BIT:
	case MUT_CLEAR_BIT: {
		bool set = s->mut == MUT_SET_BIT;
		unsigned lo = set ? s->bit_lo : 0, hi = set ? s->bit_hi : 8 * (unsigned)len - 1;
		int k = pick_bit(field, len, lo, hi, !set, r1);

		if (k < 0)
			return vecs_err_set(err, -EINVAL, "%s has no %s bit to %s", u->target,
					    set ? "clear" : "set", set ? "set" : "clear");
		byte = len - 1 - (unsigned)k / 8;
		bit = (unsigned)k % 8;
		break;
	}
	case MUT_SLOT_GARBAGE:
		if (be32_load(field + KS_ACTIVE) == LUKS1_KEY_ENABLED)
			return vecs_err_set(err, -EEXIST, "keyslot 1 is already enabled: %s needs a disabled keyslot 1",
					    u->target);
		u->offset = field_off;
		u->len = len;
		memcpy(u->old, field, len);
		memcpy(u->now, field, len);
		be32_store(u->now + KS_ACTIVE, LUKS1_KEY_ENABLED);
		be32_store(u->now + KS_ITERATIONS, 1000u + (uint32_t)(r1 % 1000));
		for (size_t i = 0; i < LUKS1_SALT_SIZE; i++)
			u->now[KS_SALT + i] = (uint8_t)(splitmix64(&st) >> 24);
		return 0;
	}
	u->offset = field_off + byte;
	u->len = 1;
	u->old[0] = field[byte];
	u->now[0] = (uint8_t)(field[byte] ^ (1u << bit));
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

/* The bytes of the field that mutate looks at: all of it, except for the very long
 * ones (key material, a data cluster), where only one byte is read. */
static int corrupt_spec(struct volume *v, int idx, uint64_t seed, struct vecs_corrupt_undo *u,
			struct vecs_err *err)
{
	const struct spec *s = &specs[idx];
	const char *id = vecs_corrupt_targets[idx].id;
	uint8_t field[VECS_CORRUPT_UNDO_MAX];
	uint64_t off;
	size_t len;
	int r;

	r = locate_spec(v, s, id, &off, &len, err);
	if (r < 0)
		return r;
	if (len == 0)
		return vecs_err_set(err, -ENOENT, "%s of %s is empty: nothing to corrupt", id, v->path);
	if (len > sizeof(field)) {
		/* A long MUT_FLIP field: pick the byte first, read only that. */
		uint64_t st = seed, pick = splitmix64(&st) % len;

		r = read_at(v, off + pick, field, 1, err);
		if (r < 0)
			return r;
		u->offset = off + pick;
		u->len = 1;
		u->old[0] = field[0];
		u->now[0] = (uint8_t)(field[0] ^ (1u << (splitmix64(&st) % 8)));
	} else {
		r = read_at(v, off, field, len, err);
		if (r == 0)
			r = mutate(s, field, len, seed, off, u, err);
		if (r < 0)
			return r;
	}
	r = pwrite_all(v->fd, u->now, u->len, u->offset);
	if (r < 0)
		return vecs_err_set(err, r, "cannot write %zu bytes at %" PRIu64 " of %s: %s", u->len, u->offset,
				    v->path, strerror(-r));
	return 0;
}

int vecs_corrupt_apply(const char *path, const char *target_id, uint64_t seed,
		       struct vecs_corrupt_undo *undo, struct vecs_err *err)
{
	struct volume v;
	int i = find_index(target_id);
	int r;

	memset(undo, 0, sizeof(*undo));
	if (i < 0)
		return vecs_err_set(err, -ENOENT, "unknown corruption target '%s'; `vecs corrupt --list` shows them",
				    target_id);
	snprintf(undo->target, sizeof(undo->target), "%s", target_id);
	r = volume_open(&v, path, O_RDWR, err);
	if (r < 0)
		return r;
	undo->qcow2 = v.is_qcow2;
	r = corrupt_spec(&v, i, seed, undo, err);
	volume_close(&v);
	return r;
}

int vecs_corrupt_restore(const char *path, const struct vecs_corrupt_undo *undo,
			 struct vecs_err *err)
{
	uint8_t cur[VECS_CORRUPT_UNDO_MAX];
	struct volume v = { .path = path };
	int r;

	if (undo->len == 0 || undo->len > VECS_CORRUPT_UNDO_MAX)
		return vecs_err_set(err, -EINVAL, "undo record for %s has a bad length %zu", path, undo->len);
	/* No header parsing: restoring must work whatever the corruption did to it. */
	v.fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (v.fd < 0)
		return vecs_err_set(err, -errno, "cannot open %s for writing: %s", path, strerror(errno));
	r = vecs_fd_size(v.fd, &v.size);
	if (r < 0)
		r = vecs_err_set(err, r, "%s is neither a regular file nor a block device", path);
	if (r == 0)
		r = read_at(&v, undo->offset, cur, undo->len, err);
	if (r == 0 && memcmp(cur, undo->now, undo->len) != 0)
		r = vecs_err_set(err, -ESTALE,
				 "%s changed at byte %" PRIu64 " since %s was applied (something else wrote there): not restored",
				 path, undo->offset, undo->target[0] ? undo->target : "the corruption");
	if (r == 0) {
		r = pwrite_all(v.fd, undo->old, undo->len, undo->offset);
		if (r < 0)
			vecs_err_set(err, r, "cannot write %zu bytes at %" PRIu64 " of %s: %s", undo->len,
				     undo->offset, path, strerror(-r));
	}
	volume_close(&v);
	return r;
}

/* --- the undo file -------------------------------------------------------------------- */

static void hex(char *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

int vecs_corrupt_undo_save(const char *file, const struct vecs_corrupt_undo *undo,
			   struct vecs_err *err)
{
	char old[2 * VECS_CORRUPT_UNDO_MAX + 1], now[2 * VECS_CORRUPT_UNDO_MAX + 1];
	char text[512];
	int n;

	if (undo->len == 0 || undo->len > VECS_CORRUPT_UNDO_MAX)
		return vecs_err_set(err, -EINVAL, "undo record has a bad length %zu", undo->len);
	hex(old, undo->old, undo->len);
	hex(now, undo->now, undo->len);
	n = snprintf(text, sizeof(text),
		     "vecs-corrupt-undo 1\ntarget %s\ncontainer %s\noffset %" PRIu64 "\nlen %zu\nold %s\nnow %s\n",
		     undo->target, undo->qcow2 ? "qcow2" : "raw", undo->offset, undo->len, old, now);
	if (n < 0 || (size_t)n >= sizeof(text))
		return vecs_err_set(err, -EINVAL, "undo record for %s does not fit", undo->target);
	return vecs_write_file_atomic(file, text, (size_t)n, 0600, err);
}

int vecs_corrupt_undo_load(const char *file, struct vecs_corrupt_undo *undo,
			   struct vecs_err *err)
{
	char old[2 * VECS_CORRUPT_UNDO_MAX + 2], now[2 * VECS_CORRUPT_UNDO_MAX + 2];
	char container[8];
	FILE *f = fopen(file, "re");
	int n;

	memset(undo, 0, sizeof(*undo));
	if (!f)
		return vecs_err_set(err, -errno, "cannot open undo file %s: %s", file, strerror(errno));
	n = fscanf(f, "vecs-corrupt-undo 1 target %39s container %7s offset %" SCNu64 " len %zu old %129s now %129s",
		   undo->target, container, &undo->offset, &undo->len, old, now);
	fclose(f);
	undo->qcow2 = n == 6 && !strcmp(container, "qcow2");
	if (n != 6 || (!undo->qcow2 && strcmp(container, "raw")) || undo->len == 0 || undo->len > VECS_CORRUPT_UNDO_MAX ||
	    unhex(old, undo->old, undo->len) < 0 || unhex(now, undo->now, undo->len) < 0)
		return vecs_err_set(err, -EINVAL,
				    "%s is not a vecs corrupt undo file (written by `vecs corrupt --undo-file`)", file);
	return 0;
}
