/* libFuzzer target: the canary scanner over arbitrary bytes, with a small read buffer
 * so records straddle reads. Every reported range must lie inside the input. */
#include <stdint.h>
#include <stdlib.h>

#include "oracle/scan.h"

static size_t input_len;

static int check_hit(const struct vecs_scan_hit *hit, void *ctx)
{
	(void)ctx;
	if (hit->offset > input_len || hit->length > input_len - hit->offset || hit->length == 0)
		__builtin_trap();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vecs_scan *scan;
	struct vecs_scan_opts opts = { .buf_size = 256, .on_hit = check_hit };

	if (!scan && vecs_scan_new(&scan, "fuzz", &opts, NULL) < 0)
		abort();
	input_len = size;
	vecs_scan_mem(scan, "input", data, size, NULL);
	return 0;
}
