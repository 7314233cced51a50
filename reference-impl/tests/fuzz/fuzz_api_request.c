/* libFuzzer: the request parser and the signature code on arbitrary query strings.
 * Whatever arrives must parse or be refused cleanly, and a parsed request must
 * canonicalise and verify without crashing (ASan/UBSan watch). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mgmt/api_params.h"
#include "mgmt/api_sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_params p = { 0 };
	struct vecs_err err = { 0 };
	const char *sig, *exp;
	time_t t;

	if (api_params_parse(&p, (const char *)data, size, &err) == 0) {
		for (int form = 0; form < 4; form++)
			free(api_sign_canonical(&p, form));
		sig = api_param_get(&p, "signature");
		(void)api_sign_verify(&p, "fuzz-secret", 11, sig ? sig : "");
		exp = api_param_get(&p, "expires");
		if (exp)
			(void)api_parse_expires(exp, &t);
	}
	api_params_free(&p);
	return 0;
}
