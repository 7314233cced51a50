#include "oracle/luks1_header.h"

#include <ctype.h>
#include <string.h>

#include "oracle/luks1_crypto.h"
#include "util/bytes.h"

static const uint8_t luks_magic[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
static const uint8_t luks2_secondary_magic[6] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };

enum luks_kind luks_detect(const uint8_t *buf, size_t len)
{
	uint16_t version;

	if (len < 6)
		return LUKS_KIND_NONE;
	if (memcmp(buf, luks2_secondary_magic, 6) == 0)
		return LUKS_KIND_V2;
	if (memcmp(buf, luks_magic, 6) != 0)
		return LUKS_KIND_NONE;
	if (len < 8)
		return LUKS_KIND_TRUNCATED; /* cut inside the version field */
	version = be16_load(buf + 6);
	if (version == 2)
		return LUKS_KIND_V2;
	if (version != 1)
		return LUKS_KIND_OTHER;
	return len < LUKS1_PHDR_SIZE ? LUKS_KIND_TRUNCATED : LUKS_KIND_V1;
}

/* Copy a fixed-size on-disk text field; report whether it carried its own NUL. */
static bool copy_field(char *dst, const uint8_t *src, size_t n)
{
	const uint8_t *nul = memchr(src, 0, n);

	memcpy(dst, src, n);
	dst[n] = '\0';
	return nul != NULL;
}

void luks1_decode(const uint8_t *b, struct luks1_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = be16_load(b + 6);
	h->cipher_name_terminated = copy_field(h->cipher_name, b + 8, 32);
	h->cipher_mode_terminated = copy_field(h->cipher_mode, b + 40, 32);
	h->hash_spec_terminated = copy_field(h->hash_spec, b + 72, 32);
	h->payload_offset = be32_load(b + 104);
	h->key_bytes = be32_load(b + 108);
	memcpy(h->mk_digest, b + 112, LUKS1_DIGEST_SIZE);
	memcpy(h->mk_digest_salt, b + 132, LUKS1_SALT_SIZE);
	h->mk_digest_iterations = be32_load(b + 164);
	h->uuid_terminated = copy_field(h->uuid, b + 168, 40);
	for (int i = 0; i < LUKS1_NUMKEYS; i++) {
		const uint8_t *k = b + 208 + 48 * i;
		struct luks1_keyslot *ks = &h->keyslots[i];

		ks->active = be32_load(k);
		ks->iterations = be32_load(k + 4);
		memcpy(ks->salt, k + 8, LUKS1_SALT_SIZE);
		ks->key_material_offset = be32_load(k + 40);
		ks->stripes = be32_load(k + 44);
	}
}

void luks1_encode(const struct luks1_header *h, uint8_t *b)
{
	memset(b, 0, LUKS1_PHDR_SIZE);
	memcpy(b, luks_magic, 6);
	b[6] = (uint8_t)(h->version >> 8);
	b[7] = (uint8_t)h->version;
	memcpy(b + 8, h->cipher_name, 32);
	memcpy(b + 40, h->cipher_mode, 32);
	memcpy(b + 72, h->hash_spec, 32);
	be32_store(b + 104, h->payload_offset);
	be32_store(b + 108, h->key_bytes);
	memcpy(b + 112, h->mk_digest, LUKS1_DIGEST_SIZE);
	memcpy(b + 132, h->mk_digest_salt, LUKS1_SALT_SIZE);
	be32_store(b + 164, h->mk_digest_iterations);
	memcpy(b + 168, h->uuid, 40);
	for (int i = 0; i < LUKS1_NUMKEYS; i++) {
		uint8_t *k = b + 208 + 48 * i;
		const struct luks1_keyslot *ks = &h->keyslots[i];

		be32_store(k, ks->active);
		be32_store(k + 4, ks->iterations);
		memcpy(k + 8, ks->salt, LUKS1_SALT_SIZE);
		be32_store(k + 40, ks->key_material_offset);
		be32_store(k + 44, ks->stripes);
	}
}

uint64_t luks1_keyslot_sectors(uint32_t key_bytes, uint32_t stripes)
{
	uint64_t bytes = (uint64_t)key_bytes * stripes;

	return (bytes + LUKS1_SECTOR - 1) / LUKS1_SECTOR;
}

int luks1_active_keyslots(const struct luks1_header *h)
{
	int n = 0;

	for (int i = 0; i < LUKS1_NUMKEYS; i++)
		n += h->keyslots[i].active == LUKS1_KEY_ENABLED;
	return n;
}

/* A name field must be a non-empty, NUL-terminated run of printable characters. */
static void check_text(struct findings *f, const char *id, const char *what, const char *s,
		       bool terminated)
{
	if (!terminated) {
		findings_add(f, SEV_ERROR, id, "%s field is not NUL-terminated within its 32 bytes",
			     what);
		return;
	}
	if (!s[0]) {
		findings_add(f, SEV_ERROR, id, "%s field is empty", what);
		return;
	}
	for (const char *p = s; *p; p++)
		if (!isgraph((unsigned char)*p)) {
			findings_add(f, SEV_ERROR, id,
				     "%s field contains a non-printable character at byte %ld", what,
				     (long)(p - s));
			return;
		}
}

static bool uuid_well_formed(const struct luks1_header *h)
{
	static const int dash[] = { 8, 13, 18, 23 };

	if (!h->uuid_terminated || strlen(h->uuid) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool want_dash = i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];
		if (want_dash ? h->uuid[i] != '-' : !isxdigit((unsigned char)h->uuid[i]))
			return false;
	}
	return true;
}

/* Key sizes a known block cipher accepts; XTS takes two keys. 0 = cipher unknown. */
static int key_bytes_valid(const char *cipher, const char *mode, uint32_t kb)
{
	static const char *const known[] = { "aes", "serpent", "twofish", "camellia", "cast6" };
	bool is_known = false;
	uint32_t k = kb;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		is_known |= !strcmp(cipher, known[i]);
	if (!is_known)
		return 0;
	if (!strncmp(mode, "xts-", 4)) {
		if (kb % 2)
			return -1;
		k = kb / 2;
	}
	return (k == 16 || k == 24 || k == 32) ? 1 : -1;
}

void luks1_validate(const struct luks1_header *h, uint64_t device_size, struct findings *f)
{
	uint64_t dev_sectors = device_size / LUKS1_SECTOR;
	uint64_t start[LUKS1_NUMKEYS], end[LUKS1_NUMKEYS];
	bool area_ok[LUKS1_NUMKEYS] = { false };
	int kv;

	if (h->version != 1)
		findings_add(f, SEV_ERROR, "luks.version", "header version is %u, not 1", h->version);
	check_text(f, "luks.cipher_name", "cipher name", h->cipher_name, h->cipher_name_terminated);
	check_text(f, "luks.cipher_mode", "cipher mode", h->cipher_mode, h->cipher_mode_terminated);
	check_text(f, "luks.hash_spec", "hash spec", h->hash_spec, h->hash_spec_terminated);
	if (h->hash_spec_terminated && h->hash_spec[0] && vecs_hash_size(h->hash_spec) == 0)
		findings_add(f, SEV_ERROR, "luks.hash_spec", "hash '%s' is not a known hash algorithm",
			     h->hash_spec);

	kv = key_bytes_valid(h->cipher_name, h->cipher_mode, h->key_bytes);
	if (h->key_bytes == 0 || h->key_bytes > LUKS1_MAX_KEY_BYTES)
		findings_add(f, SEV_ERROR, "luks.key_bytes", "key size of %u bytes is outside 1..%d",
			     h->key_bytes, LUKS1_MAX_KEY_BYTES);
	else if (kv < 0)
		findings_add(f, SEV_ERROR, "luks.key_bytes",
			     "key size of %u bytes does not fit cipher %s in mode %s", h->key_bytes,
			     h->cipher_name, h->cipher_mode);

	if (h->mk_digest_iterations == 0)
		findings_add(f, SEV_ERROR, "luks.mk_digest_iterations",
			     "master-key digest iteration count is 0");
	if (!uuid_well_formed(h))
		findings_add(f, SEV_ERROR, "luks.uuid",
			     "UUID field is not a NUL-terminated 36-character UUID");

	/* inspect always sees a whole volume (a detached header is never handed to it), so
	 * a payload starting inside the header would overwrite it with guest data. */
	if ((uint64_t)h->payload_offset * LUKS1_SECTOR < LUKS1_PHDR_SIZE)
		findings_add(f, SEV_ERROR, "luks.payload_offset",
			     "payload offset (sector %u) lies inside the header: guest data would overwrite it",
			     h->payload_offset);
	else if ((uint64_t)h->payload_offset > dev_sectors)
		findings_add(f, SEV_ERROR, "luks.payload_offset",
			     "payload offset (sector %u) lies beyond the end of the device (%llu sectors)",
			     h->payload_offset, (unsigned long long)dev_sectors);

	for (int i = 0; i < LUKS1_NUMKEYS; i++) {
		const struct luks1_keyslot *ks = &h->keyslots[i];
		bool active = ks->active == LUKS1_KEY_ENABLED;

		if (!active && ks->active != LUKS1_KEY_DISABLED) {
			findings_add(f, SEV_ERROR, "luks.keyslot_state",
				     "keyslot %d has state 0x%08x, neither enabled (0x%08x) nor disabled (0x%08x)",
				     i, ks->active, LUKS1_KEY_ENABLED, LUKS1_KEY_DISABLED);
		}
		if (active && ks->iterations == 0)
			findings_add(f, SEV_ERROR, "luks.keyslot_iterations",
				     "keyslot %d is enabled with an iteration count of 0", i);
		if (ks->stripes != LUKS1_STRIPES) {
			findings_add(f, SEV_ERROR, "luks.keyslot_stripes",
				     "keyslot %d has %u anti-forensic stripes, LUKS1 uses %d", i,
				     ks->stripes, LUKS1_STRIPES);
			continue; /* its area cannot be computed meaningfully */
		}
		start[i] = ks->key_material_offset;
		end[i] = start[i] + luks1_keyslot_sectors(h->key_bytes, ks->stripes);
		area_ok[i] = true;
		if (start[i] * LUKS1_SECTOR < LUKS1_PHDR_SIZE) {
			findings_add(f, SEV_ERROR, "luks.keyslot_offset",
				     "keyslot %d key material (sector %llu) overlaps the 592-byte header", i,
				     (unsigned long long)start[i]);
			area_ok[i] = false;
		}
		if (end[i] > h->payload_offset)
			findings_add(f, SEV_ERROR, "luks.keyslot_payload_overlap",
				     "keyslot %d key material (sectors %llu-%llu) reaches into the payload at sector %u",
				     i, (unsigned long long)start[i], (unsigned long long)end[i] - 1,
				     h->payload_offset);
		if (end[i] > dev_sectors)
			findings_add(f, SEV_ERROR, "luks.device_size",
				     "keyslot %d key material ends at sector %llu, beyond the device's %llu sectors",
				     i, (unsigned long long)end[i], (unsigned long long)dev_sectors);
	}
	for (int i = 0; i < LUKS1_NUMKEYS; i++)
		for (int j = i + 1; j < LUKS1_NUMKEYS; j++)
			if (area_ok[i] && area_ok[j] && start[i] < end[j] && start[j] < end[i])
				findings_add(f, SEV_ERROR, "luks.keyslot_overlap",
					     "key material of keyslots %d and %d overlaps", i, j);
	if (luks1_active_keyslots(h) == 0)
		findings_add(f, SEV_ERROR, "luks.no_active_keyslot",
			     "no keyslot is enabled: no passphrase can open this volume");
}
