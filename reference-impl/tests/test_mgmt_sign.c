/* The request parser and CloudStack's signature, against known answers computed
 * independently (python3 hmac/hashlib/urllib.parse.quote following
 * ApiServer.verifyRequest; see the comments at each vector). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt/api_params.h"
#include "mgmt/api_sign.h"
#include "test_registry.h"
#include "util/json_writer.h"
#include "util/utf8.h"

static struct api_params parse_ok(const char *q)
{
	struct api_params p = { 0 };
	struct vecs_err err = { 0 };

	CU_ASSERT_EQUAL_FATAL(api_params_parse(&p, q, strlen(q), &err), 0);
	return p;
}

static int parse_err(const char *q, size_t len)
{
	struct api_params p = { 0 };
	struct vecs_err err = { 0 };
	int r = api_params_parse(&p, q, len, &err);

	api_params_free(&p);
	return r;
}

static void test_url_decode_edges(void)
{
	char *out = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL(api_url_decode("a+b%20c%2B%2b", 13, &out, &n), 0);
	CU_ASSERT_STRING_EQUAL(out, "a b c++");
	CU_ASSERT_EQUAL(n, 7);
	free(out);
	CU_ASSERT_EQUAL(api_url_decode("%C3%A9", 6, &out, &n), 0);
	CU_ASSERT_STRING_EQUAL(out, "\xc3\xa9");
	free(out);
	CU_ASSERT_EQUAL(api_url_decode("", 0, &out, &n), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	CU_ASSERT_EQUAL(api_url_decode("%", 1, &out, &n), -EINVAL);
	CU_ASSERT_EQUAL(api_url_decode("%4", 2, &out, &n), -EINVAL);
	CU_ASSERT_EQUAL(api_url_decode("ab%4", 4, &out, &n), -EINVAL);
	CU_ASSERT_EQUAL(api_url_decode("%zz", 3, &out, &n), -EINVAL);
	CU_ASSERT_EQUAL(api_url_decode("a%00b", 5, &out, &n), -EINVAL);
	/* Only len bytes are read: "%41" cut after "%4" is malformed, not "A". */
	CU_ASSERT_EQUAL(api_url_decode("%41", 2, &out, &n), -EINVAL);
	CU_ASSERT_PTR_NULL(out);
}

static void test_java_urlencode(void)
{
	char *s = api_java_urlencode("a b+c/\xc3\xa9~*._-", 13, false);

	/* URLEncoder.encode("a b+c/é~*._-", "UTF-8").replace("+", "%20") */
	CU_ASSERT_STRING_EQUAL(s, "a%20b%2Bc%2F%C3%A9%7E*._-");
	free(s);
	s = api_java_urlencode("~", 1, true);
	CU_ASSERT_STRING_EQUAL(s, "~");
	free(s);
}

static void test_params_parse(void)
{
	struct api_params p = parse_ok("command=listZones&&response=json&flag&Name=x%3Dy");

	CU_ASSERT_EQUAL(p.n, 4);
	CU_ASSERT_STRING_EQUAL(api_param_get(&p, "COMMAND"), "listZones");
	CU_ASSERT_STRING_EQUAL(api_param_get(&p, "flag"), "");
	CU_ASSERT_STRING_EQUAL(api_param_get(&p, "name"), "x=y");
	CU_ASSERT_PTR_NULL(api_param_get(&p, "missing"));
	api_params_free(&p);

	CU_ASSERT_EQUAL(parse_err("a=1&A=2", 7), -EEXIST);     /* same name, any case */
	CU_ASSERT_EQUAL(parse_err("a=%zz", 5), -EINVAL);
	CU_ASSERT_EQUAL(parse_err("a=%00", 5), -EINVAL);
	CU_ASSERT_EQUAL(parse_err("a=%ff%fe", 8), -EINVAL);    /* not UTF-8 */
	CU_ASSERT_EQUAL(parse_err("a=%ed%a0%80", 11), -EINVAL); /* a surrogate */
	CU_ASSERT_EQUAL(parse_err("a b=1", 5), -EINVAL);       /* name outside the set */
	CU_ASSERT_EQUAL(parse_err("=1", 2), -EINVAL);          /* empty name */
	CU_ASSERT_EQUAL(parse_err("a=1\0b=2", 7), -EINVAL);    /* raw NUL in a name */
	p = parse_ok("details[0].key=a&details[0].value=b");
	CU_ASSERT_EQUAL(p.n, 2);
	api_params_free(&p);

	/* API_MAX_PARAMS, then one more. */
	char *big = malloc(API_MAX_PARAMS * 12 + 16);
	size_t len = 0;
	for (int i = 0; i <= API_MAX_PARAMS; i++)
		len += (size_t)sprintf(big + len, "%sp%d=1", i ? "&" : "", i);
	CU_ASSERT_EQUAL(parse_err(big, len), -E2BIG);
	len = 0;
	for (int i = 0; i < API_MAX_PARAMS; i++)
		len += (size_t)sprintf(big + len, "%sp%d=1", i ? "&" : "", i);
	CU_ASSERT_EQUAL(parse_err(big, len), 0);
	free(big);
}

/* python3: sorted by name as given, quote(v, safe="*") with '~' -> %7E, lower(),
 * base64(hmac.new(secret, s, sha1).digest()) */
static void test_signature_known_answers(void)
{
	struct api_params p = parse_ok(
		"command=listZones&response=json&apiKey=plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9E"
		"dM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg");
	const char *sec = "VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1Eh"
			  "wJaw7FF3akA3KBQ";
	char *canon = api_sign_canonical(&p, 0), mac[29];

	CU_ASSERT_STRING_EQUAL(canon, "apikey=plgwjfzk4gys3momtvmjuvg-x-jlwlnfauj9gabbbf9edm-kaymmai"
				      "lqzzq1elzlyq_u38zcm0bewzgudp66mg&command=listzones&response=json");
	api_sign_hmac(sec, strlen(sec), canon, mac);
	CU_ASSERT_STRING_EQUAL(mac, "HmSwFbyOmNCn2FB58UXRauTAI3A=");
	CU_ASSERT_TRUE(api_sign_verify(&p, sec, strlen(sec), "HmSwFbyOmNCn2FB58UXRauTAI3A="));
	CU_ASSERT_FALSE(api_sign_verify(&p, sec, strlen(sec), "HmSwFbyOmNCn2FB58UXRauTAI3B="));
	CU_ASSERT_FALSE(api_sign_verify(&p, "other", 5, "HmSwFbyOmNCn2FB58UXRauTAI3A="));
	CU_ASSERT_FALSE(api_sign_verify(&p, sec, strlen(sec), ""));
	free(canon);
	api_params_free(&p);

	/* Spaces, '+', '/', UTF-8, SQL text, and the v3 fields; the signature param itself
	 * is left out of the signed string. */
	p = parse_ok("command=createDiskOffering&response=json&apiKey=k"
		     "&name=a+b%2Bc%2F%C3%A9~*._-&displaytext=x%27%3B%20DROP%20TABLE%20user%3B--"
		     "&signatureVersion=3&expires=2026-11-26T10%3A00%3A00%2B0000"
		     "&signature=ignored");
	canon = api_sign_canonical(&p, 0);
	CU_ASSERT_STRING_EQUAL(canon,
			       "apikey=k&command=creatediskoffering&displaytext=x%27%3b%20drop%20table"
			       "%20user%3b--&expires=2026-11-26t10%3a00%3a00%2b0000&name=a%20b%2bc%2f"
			       "%c3%a9%7e*._-&response=json&signatureversion=3");
	free(canon);
	CU_ASSERT_TRUE(api_sign_verify(&p, "s3cr3t", 6, "l1JqZ0zJ0ukzLWjnorJWOr07h7I="));
	/* What python3-cs sends: quote() leaves '~' as is. */
	CU_ASSERT_TRUE(api_sign_verify(&p, "s3cr3t", 6, "vsegKMdkpOrcCyTKi1vek+MuGUY="));
	api_params_free(&p);

	/* Java sorts "Zoneid" before "apiKey"; a lower-cased sort puts it last. Both are
	 * accepted, nothing else. */
	p = parse_ok("command=listZones&Zoneid=1&apiKey=k&response=json");
	canon = api_sign_canonical(&p, 0);
	CU_ASSERT_STRING_EQUAL(canon, "zoneid=1&apikey=k&command=listzones&response=json");
	free(canon);
	canon = api_sign_canonical(&p, API_SIGN_SORT_LOWERCASE);
	CU_ASSERT_STRING_EQUAL(canon, "apikey=k&command=listzones&response=json&zoneid=1");
	free(canon);
	CU_ASSERT_TRUE(api_sign_verify(&p, "s3cr3t", 6, "Gk0USIsNJ6eSlmxz1CHnuOSmuiA="));
	CU_ASSERT_TRUE(api_sign_verify(&p, "s3cr3t", 6, "jOYGYl+fa4YHLGkgLb/gA/2dfBU="));
	CU_ASSERT_FALSE(api_sign_verify(&p, "s3cr3t", 6, "l1JqZ0zJ0ukzLWjnorJWOr07h7I="));
	api_params_free(&p);
}

static void test_expires_parsing(void)
{
	time_t t;

	CU_ASSERT_EQUAL(api_parse_expires("2026-11-26T10:00:00+0000", &t), 0);
	CU_ASSERT_EQUAL(t, 1795687200);
	CU_ASSERT_EQUAL(api_parse_expires("2026-11-26T10:00:00Z", &t), 0);
	CU_ASSERT_EQUAL(t, 1795687200);
	CU_ASSERT_EQUAL(api_parse_expires("2026-11-26T11:30:00+01:30", &t), 0);
	CU_ASSERT_EQUAL(t, 1795687200);
	CU_ASSERT_EQUAL(api_parse_expires("2026-11-26T05:00:00-0500", &t), 0);
	CU_ASSERT_EQUAL(t, 1795687200);
	CU_ASSERT_EQUAL(api_parse_expires("2026-11-26T10:00:00.123+0000", &t), 0);
	CU_ASSERT_EQUAL(t, 1795687200);
	CU_ASSERT_EQUAL(api_parse_expires("2026-11-26T10:00:00", &t), -EINVAL); /* no zone */
	CU_ASSERT_EQUAL(api_parse_expires("2026-13-26T10:00:00+0000", &t), -EINVAL);
	CU_ASSERT_EQUAL(api_parse_expires("2026-11-26 10:00:00+0000", &t), -EINVAL);
	CU_ASSERT_EQUAL(api_parse_expires("2026-11-26T10:00:00+00", &t), -EINVAL);
	CU_ASSERT_EQUAL(api_parse_expires("", &t), -EINVAL);
	CU_ASSERT_EQUAL(api_parse_expires("tomorrow", &t), -EINVAL);
}

static void test_json_utf8(void)
{
	struct json_writer j;
	char *s;

	jw_init_mem(&j, false);
	jw_set_utf8(&j, true);
	jw_obj_begin(&j);
	jw_kv_str(&j, "name", "donn\xc3\xa9" "es \"q\" \\ \x01");
	jw_kv_str(&j, "bad", "\xff\xc3");
	jw_key(&j, "list");
	jw_arr_begin(&j);
	jw_int(&j, -1);
	jw_bool(&j, true);
	jw_arr_end(&j);
	jw_obj_end(&j);
	s = jw_take(&j, NULL);
	CU_ASSERT_STRING_EQUAL(s, "{\"name\":\"donn\xc3\xa9" "es \\\"q\\\" \\\\ \\u0001\","
				  "\"bad\":\"\\ufffd\\ufffd\",\"list\":[-1,true]}");
	free(s);
	CU_ASSERT_TRUE(utf8_valid("\xf0\x9f\x94\x91", 4));
	CU_ASSERT_FALSE(utf8_valid("\xc0\xaf", 2)); /* overlong '/' */
	CU_ASSERT_FALSE(utf8_valid("\xf4\x90\x80\x80", 4));
}

static CU_TestInfo tests[] = {
	{ "URL decoding edge cases", test_url_decode_edges },
	{ "Java URLEncoder semantics", test_java_urlencode },
	{ "parameter parsing and refusals", test_params_parse },
	{ "signature known answers and accepted forms", test_signature_known_answers },
	{ "expires parsing", test_expires_parsing },
	{ "JSON output keeps UTF-8, escapes the rest", test_json_utf8 },
	CU_TEST_INFO_NULL,
};

REF_SUITE(mgmt_sign, "mgmt: request parsing and signatures", tests)
