/* libFuzzer target: the qcow2 header and extension walker. */
#include <stdint.h>

#include "oracle/qcow2_crypt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qcow2_info q;
	struct findings f = { 0 };

	if (!qcow2_detect(data, size))
		return 0;
	(void)qcow2_parse(data, size, size, &q, &f);
	/* the parser promises a region inside the file when it says it found one */
	if (q.has_fde && (q.fde_offset > size || q.fde_length > size - q.fde_offset))
		__builtin_trap();
	return 0;
}
