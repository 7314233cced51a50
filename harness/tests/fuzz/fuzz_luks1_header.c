/* libFuzzer target: the LUKS1 header parser, validator, profile check and, for headers
 * cheap enough to try, the native unlock path reading key material from the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "oracle/luks1_header.h"
#include "oracle/luks1_native.h"
#include "oracle/profile.h"

static int memfd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct luks1_header h;
	struct findings f = { 0 };
	struct vecs_blob blob;
	bool cheap = true;
	int slot;

	if (luks_detect(data, size) != LUKS_KIND_V1)
		return 0;
	luks1_decode(data, &h);
	luks1_validate(&h, size, &f);
	vecs_profile_check(vecs_profile_default(), &h, &f);

	/* Unlocking costs iterations; bound them so the fuzzer explores, not hashes. */
	if (h.mk_digest_iterations > 64)
		cheap = false;
	for (int i = 0; i < LUKS1_NUMKEYS; i++)
		if (h.keyslots[i].active == LUKS1_KEY_ENABLED && h.keyslots[i].iterations > 64)
			cheap = false;
	if (!cheap)
		return 0;
	if (memfd < 0)
		memfd = memfd_create("fuzz", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		return 0;
	blob = (struct vecs_blob){ .fd = memfd, .base = 0, .size = size };
	luks1_native_unlock(&h, &blob, (const uint8_t *)"fuzz", 4, &slot, NULL, NULL);
	return 0;
}
