/* The LUKS1 parser and validator: synthetic headers built by luks1_builder, each field
 * damaged in turn, must produce exactly the finding that names it. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/luks1_header.h"
#include "oracle/profile.h"
#include "tests/luks1_builder.h"
#include "tests/test_registry.h"

static struct luks1_header good;
static uint64_t good_size;

static int suite_init(void)
{
	struct luks1_build b = luks1_build_defaults();
	size_t len;
	uint8_t *img = luks1_build_image(&b, &len, &good, NULL);

	if (!img)
		return -1;
	luks1_decode(img, &good); /* as read from disk, with the NUL-termination flags */
	good_size = len;
	free(img);
	return 0;
}

static void test_encode_decode_round_trip(void)
{
	uint8_t raw[LUKS1_PHDR_SIZE], raw2[LUKS1_PHDR_SIZE];
	struct luks1_header h;

	luks1_encode(&good, raw);
	CU_ASSERT_EQUAL(luks_detect(raw, sizeof(raw)), LUKS_KIND_V1);
	luks1_decode(raw, &h);
	luks1_encode(&h, raw2);
	CU_ASSERT(memcmp(raw, raw2, sizeof(raw)) == 0);
	CU_ASSERT_STRING_EQUAL(h.cipher_name, "aes");
	CU_ASSERT_STRING_EQUAL(h.cipher_mode, "xts-plain64");
	CU_ASSERT_EQUAL(h.key_bytes, 64);
	CU_ASSERT_EQUAL(h.keyslots[1].key_material_offset, 512); /* as cryptsetup lays it out */
	CU_ASSERT(h.uuid_terminated && h.cipher_name_terminated);
	/* on-disk byte positions of a few fields (spec: big-endian) */
	CU_ASSERT_EQUAL(raw[6], 0);
	CU_ASSERT_EQUAL(raw[7], 1);
	CU_ASSERT_EQUAL(raw[108 + 3], 64);
	CU_ASSERT_EQUAL(raw[208 + 2], 0x71); /* 0x00AC71F3 */
}

static void test_good_header_clean(void)
{
	struct findings f = { 0 };

	luks1_validate(&good, good_size, &f);
	vecs_profile_check(vecs_profile_default(), &good, &f);
	for (int i = 0; i < f.n; i++)
		fprintf(stderr, "unexpected finding %s: %s\n", f.items[i].id, f.items[i].message);
	CU_ASSERT_EQUAL(f.n, 0);
}

static void test_detect_kinds(void)
{
	uint8_t buf[LUKS1_PHDR_SIZE];

	luks1_encode(&good, buf);
	CU_ASSERT_EQUAL(luks_detect(buf, 100), LUKS_KIND_TRUNCATED);
	CU_ASSERT_EQUAL(luks_detect(buf, 4), LUKS_KIND_NONE);
	CU_ASSERT_EQUAL(luks_detect(buf, 7), LUKS_KIND_TRUNCATED); /* cut in the version */
	buf[7] = 2;
	CU_ASSERT_EQUAL(luks_detect(buf, sizeof(buf)), LUKS_KIND_V2);
	buf[7] = 7;
	CU_ASSERT_EQUAL(luks_detect(buf, sizeof(buf)), LUKS_KIND_OTHER);
	memcpy(buf, "SKUL\xba\xbe", 6);
	CU_ASSERT_EQUAL(luks_detect(buf, sizeof(buf)), LUKS_KIND_V2);
	buf[0] = 'X';
	CU_ASSERT_EQUAL(luks_detect(buf, sizeof(buf)), LUKS_KIND_NONE);
}

/* One damage, one expected finding id. */
struct damage {
	const char *name;
	void (*apply)(struct luks1_header *h, uint64_t *size);
	const char *expect;
};

#define DAMAGE(fn, body) static void fn(struct luks1_header *h, uint64_t *size) { (void)size; body; }
DAMAGE(d_version, h->version = 3)
DAMAGE(d_cipher_unterminated, memset(h->cipher_name, 'a', 32); h->cipher_name_terminated = false)
DAMAGE(d_cipher_empty, h->cipher_name[0] = 0)
DAMAGE(d_mode_nonprint, h->cipher_mode[2] = '\x01')
DAMAGE(d_hash_empty, h->hash_spec[0] = 0)
DAMAGE(d_key_zero, h->key_bytes = 0)
DAMAGE(d_key_odd, h->key_bytes = 33)
DAMAGE(d_key_huge, h->key_bytes = 100000)
DAMAGE(d_mk_iter, h->mk_digest_iterations = 0)
DAMAGE(d_uuid, strcpy(h->uuid, "not-a-uuid"))
DAMAGE(d_uuid_unterminated, memset(h->uuid, 'a', 40); h->uuid_terminated = false)
DAMAGE(d_payload, h->payload_offset = 1u << 30)
DAMAGE(d_payload0, h->payload_offset = 0)
DAMAGE(d_hash_unknown, strcpy(h->hash_spec, "nohash"))
DAMAGE(d_slot_state, h->keyslots[2].active = 0x12345678)
DAMAGE(d_slot_iter, h->keyslots[0].iterations = 0)
DAMAGE(d_stripes0, h->keyslots[1].stripes = 0)
DAMAGE(d_stripes, h->keyslots[0].stripes = 3999)
DAMAGE(d_km_in_header, h->keyslots[0].key_material_offset = 0)
DAMAGE(d_km_into_payload, h->keyslots[7].key_material_offset = h->payload_offset - 10)
DAMAGE(d_km_overlap, h->keyslots[3].key_material_offset = h->keyslots[2].key_material_offset + 1)
DAMAGE(d_device_small, *size = (uint64_t)h->keyslots[5].key_material_offset * 512)
DAMAGE(d_no_slot, h->keyslots[0].active = LUKS1_KEY_DISABLED)
DAMAGE(p_cipher, strcpy(h->cipher_name, "serpent"))
DAMAGE(p_mode, strcpy(h->cipher_mode, "cbc-essiv:sha256"); h->key_bytes = 32)
DAMAGE(p_hash, strcpy(h->hash_spec, "sha1"))
DAMAGE(p_key, h->key_bytes = 32)
DAMAGE(p_two_slots, h->keyslots[4].active = LUKS1_KEY_ENABLED; h->keyslots[4].iterations = 1000)

static const struct damage damages[] = {
	{ "version", d_version, "luks.version" },
	{ "cipher name unterminated", d_cipher_unterminated, "luks.cipher_name" },
	{ "cipher name empty", d_cipher_empty, "luks.cipher_name" },
	{ "cipher mode non-printable", d_mode_nonprint, "luks.cipher_mode" },
	{ "hash spec empty", d_hash_empty, "luks.hash_spec" },
	{ "key bytes 0", d_key_zero, "luks.key_bytes" },
	{ "key bytes 33", d_key_odd, "luks.key_bytes" },
	{ "key bytes huge", d_key_huge, "luks.key_bytes" },
	{ "mk iterations 0", d_mk_iter, "luks.mk_digest_iterations" },
	{ "uuid garbage", d_uuid, "luks.uuid" },
	{ "uuid unterminated", d_uuid_unterminated, "luks.uuid" },
	{ "payload beyond device", d_payload, "luks.payload_offset" },
	{ "payload at sector 0", d_payload0, "luks.payload_offset" },
	{ "unknown hash", d_hash_unknown, "luks.hash_spec" },
	{ "keyslot state", d_slot_state, "luks.keyslot_state" },
	{ "keyslot iterations 0", d_slot_iter, "luks.keyslot_iterations" },
	{ "stripes 0", d_stripes0, "luks.keyslot_stripes" },
	{ "stripes 3999", d_stripes, "luks.keyslot_stripes" },
	{ "key material in header", d_km_in_header, "luks.keyslot_offset" },
	{ "key material into payload", d_km_into_payload, "luks.keyslot_payload_overlap" },
	{ "key material overlap", d_km_overlap, "luks.keyslot_overlap" },
	{ "device too small", d_device_small, "luks.device_size" },
	{ "no active keyslot", d_no_slot, "luks.no_active_keyslot" },
	{ "profile cipher", p_cipher, "profile.cipher_name" },
	{ "profile mode", p_mode, "profile.cipher_mode" },
	{ "profile hash", p_hash, "profile.hash_spec" },
	{ "profile key size", p_key, "profile.key_bytes" },
	{ "profile two keyslots", p_two_slots, "profile.keyslot_count" },
};

static void test_each_damage_detected(void)
{
	for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
		struct luks1_header h = good;
		uint64_t size = good_size;
		struct findings f = { 0 };
		uint8_t raw[LUKS1_PHDR_SIZE];

		damages[i].apply(&h, &size);
		/* through the on-disk encoding, as a real header would arrive */
		luks1_encode(&h, raw);
		luks1_decode(raw, &h);
		luks1_validate(&h, size, &f);
		vecs_profile_check(vecs_profile_default(), &h, &f);
		if (!findings_has(&f, damages[i].expect))
			fprintf(stderr, "\n  damage '%s' not reported as %s\n", damages[i].name,
				damages[i].expect);
		CU_ASSERT(findings_has(&f, damages[i].expect));
		CU_ASSERT(findings_has_error(&f));
	}
}

/* The luks1 profile applies the format's rules only. */
static void test_luks1_profile_accepts_other_ciphers(void)
{
	struct luks1_header h = good;
	struct findings f = { 0 };

	strcpy(h.hash_spec, "sha1");
	h.key_bytes = 32;
	vecs_profile_check(vecs_profile_find("luks1"), &h, &f);
	CU_ASSERT_EQUAL(f.n, 0);
	CU_ASSERT_PTR_NULL(vecs_profile_find("no-such-profile"));
}

static void test_findings_overflow_counts(void)
{
	struct findings f = { 0 };

	for (int i = 0; i < FINDINGS_MAX + 5; i++)
		findings_add(&f, SEV_INFO, "x.y", "finding %d", i);
	CU_ASSERT_EQUAL(f.n, FINDINGS_MAX);
	CU_ASSERT_EQUAL(f.dropped, 5);
	CU_ASSERT(findings_has_error(&f)); /* dropped findings could have been errors */
}

static CU_TestInfo tests[] = {
	{ "encode/decode round trip and byte layout", test_encode_decode_round_trip },
	{ "built header has no findings", test_good_header_clean },
	{ "detects LUKS1, LUKS2, other versions, truncation", test_detect_kinds },
	{ "each damaged field gives its finding", test_each_damage_detected },
	{ "luks1 profile", test_luks1_profile_accepts_other_ciphers },
	{ "findings overflow is counted", test_findings_overflow_counts },
	CU_TEST_INFO_NULL,
};

VECS_SUITE_FULL(luks1_header, "luks1 header", suite_init, NULL, tests)
