/* util/json_writer.h: both sinks (stream and memory) give the same bytes, both string
 * forms (ASCII escapes, the default the harness's goldens hold; UTF-8 passthrough, what
 * the management API answers), and the memory writer's sticky allocation failure. */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_registry.h"
#include "util/json_writer.h"
#include "util/utf8.h"

/* Every byte class a hostile header or a stored name can bring. */
#define NASTY "q\"b\\ nl\n cr\r tab\t bel\x07 del\x7f e\xc3\xa9 key\xf0\x9f\x94\x91 bad\xff end\xc3"

static void write_sample(struct json_writer *w)
{
	jw_obj_begin(w);
	jw_kv_str(w, "s", NASTY);
	jw_kv_null(w, "n");
	jw_key(w, "list");
	jw_arr_begin(w);
	jw_int(w, -1);
	jw_uint(w, UINT64_MAX);
	jw_double(w, 0.5);
	jw_bool(w, false);
	jw_str(w, NULL);
	jw_raw(w, "{\"pre\":1}", 9);
	jw_arr_end(w);
	jw_key(w, "empty");
	jw_obj_begin(w);
	jw_obj_end(w);
	jw_obj_end(w);
}

/* The sample through a stream writer, as text. */
static char *sample_stream(bool pretty, bool utf8)
{
	struct json_writer w;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	jw_init(&w, f, pretty);
	jw_set_utf8(&w, utf8);
	write_sample(&w);
	fclose(f);
	return text;
}

static void test_ascii_default(void)
{
	char *s = sample_stream(false, false);

	CU_ASSERT_STRING_EQUAL(s, "{\"s\":\"q\\\"b\\\\ nl\\n cr\\r tab\\t bel\\u0007 del\\u007f "
				  "e\\u00c3\\u00a9 key\\u00f0\\u009f\\u0094\\u0091 bad\\u00ff "
				  "end\\u00c3\",\"n\":null,\"list\":[-1,18446744073709551615,0.5,"
				  "false,null,{\"pre\":1}],\"empty\":{}}");
	free(s);
	s = sample_stream(true, false);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "{\n  \"s\": \"q"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"list\": [\n    -1,\n    18446744073709551615,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "  \"empty\": {}\n}\n"));
	free(s);
}

static void test_utf8_passthrough(void)
{
	char *s = sample_stream(false, true);

	/* valid UTF-8 as it is, each invalid byte U+FFFD, every control character \u00XX */
	CU_ASSERT_STRING_EQUAL(s, "{\"s\":\"q\\\"b\\\\ nl\\u000a cr\\u000d tab\\u0009 bel\\u0007 "
				  "del\\u007f e\xc3\xa9 key\xf0\x9f\x94\x91 bad\\ufffd end\\ufffd\","
				  "\"n\":null,\"list\":[-1,18446744073709551615,0.5,false,null,"
				  "{\"pre\":1}],\"empty\":{}}");
	CU_ASSERT_TRUE(utf8_valid(s, strlen(s)));
	free(s);
}

/* Overlong forms, surrogates, beyond U+10FFFF, truncated and stray continuation bytes:
 * one U+FFFD per byte, the following valid text untouched. */
static void test_utf8_invalid_forms(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },                   /* overlong '/' */
		{ "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"" },         /* overlong, 3 bytes */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },         /* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" }, /* U+110000 */
		{ "\xe2\x82", "\"\\ufffd\\ufffd\"" },                   /* truncated euro sign */
		{ "\x80" "a", "\"\\ufffda\"" },                          /* stray continuation */
		{ "\xe2\x82\xac", "\"\xe2\x82\xac\"" },                 /* the euro sign itself */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_writer w;
		char *s;

		jw_init_mem(&w, false);
		jw_set_utf8(&w, true);
		jw_str(&w, cases[i].in);
		s = jw_take(&w, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_STRING_EQUAL(s, cases[i].out);
		free(s);
	}
	CU_ASSERT_EQUAL(utf8_seq_len((const unsigned char *)"\xf0\x9f\x94\x91", 4), 4);
	CU_ASSERT_EQUAL(utf8_seq_len((const unsigned char *)"\xf0\x9f\x94\x91", 3), 0);
	CU_ASSERT_FALSE(utf8_valid("\xc0\xaf", 2));
}

/* The memory writer gives exactly the stream writer's bytes, in both forms and layouts;
 * jw_take empties it and keeps its options; jw_reset starts over. */
static void test_memory_sink(void)
{
	for (int pretty = 0; pretty < 2; pretty++) {
		for (int utf8 = 0; utf8 < 2; utf8++) {
			struct json_writer w;
			char *want = sample_stream(pretty, utf8), *got;
			size_t len = 0;

			jw_init_mem(&w, pretty);
			jw_set_utf8(&w, utf8);
			write_sample(&w);
			got = jw_take(&w, &len);
			CU_ASSERT_PTR_NOT_NULL_FATAL(got);
			CU_ASSERT_STRING_EQUAL(got, want);
			CU_ASSERT_EQUAL(len, strlen(want));
			free(got);
			/* again after take: same options, fresh separators */
			write_sample(&w);
			got = jw_take(&w, NULL);
			CU_ASSERT_STRING_EQUAL(got, want);
			free(got);
			free(want);
		}
	}

	struct json_writer w;
	char *s;
	size_t len = 99;

	jw_init_mem(&w, false);
	s = jw_take(&w, &len); /* nothing written: "" */
	CU_ASSERT_STRING_EQUAL(s, "");
	CU_ASSERT_EQUAL(len, 0);
	free(s);
	jw_obj_begin(&w);
	jw_kv_int(&w, "a", 1);
	jw_reset(&w);
	jw_obj_begin(&w);
	jw_kv_int(&w, "b", 2);
	jw_obj_end(&w);
	s = jw_take(&w, NULL);
	CU_ASSERT_STRING_EQUAL(s, "{\"b\":2}");
	free(s);
	jw_arr_begin(&w);
	jw_free(&w); /* abandoned text: nothing leaks */
	CU_ASSERT_PTR_NULL(w.buf);
}

/* A failed allocation sticks: later writes change nothing, jw_take says NULL once, and
 * the writer works again afterwards. A length no allocator can serve triggers it
 * without a fault injector (the data is never read). */
static void test_oom_sticky(void)
{
	static const char one[] = "x";
	struct json_writer w;
	size_t len = 99;
	char *s;

	jw_init_mem(&w, false);
	jw_set_utf8(&w, true);
	jw_arr_begin(&w);
	jw_int(&w, 1);
	jw_raw(&w, one, SIZE_MAX / 2 + 1); /* capacity would overflow */
	CU_ASSERT_TRUE(w.oom);
	jw_int(&w, 2);
	jw_arr_end(&w);
	CU_ASSERT_TRUE(w.oom);
	CU_ASSERT_EQUAL(w.len, 3); /* "[1," and nothing after */
	CU_ASSERT_PTR_NULL(jw_take(&w, &len));
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_FALSE(w.oom);
	CU_ASSERT_TRUE(w.utf8);

	jw_str(&w, "ok");
	jw_raw(&w, one, SIZE_MAX - 2); /* length + text would wrap */
	CU_ASSERT_TRUE(w.oom);
	CU_ASSERT_PTR_NULL(jw_take(&w, NULL));

	jw_str(&w, "caf\xc3\xa9");
	s = jw_take(&w, NULL);
	CU_ASSERT_STRING_EQUAL(s, "\"caf\xc3\xa9\"");
	free(s);
}

static CU_TestInfo tests[] = {
	{ "default: every non-ASCII byte escaped", test_ascii_default },
	{ "UTF-8 mode: passthrough, U+FFFD, control characters", test_utf8_passthrough },
	{ "UTF-8 mode: invalid forms", test_utf8_invalid_forms },
	{ "memory writer matches the stream writer", test_memory_sink },
	{ "memory writer: allocation failure is sticky", test_oom_sticky },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(json_writer, "util: json_writer", tests)
