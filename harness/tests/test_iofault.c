/* faults/iofault: the rule syntax, format(parse(x)) and the rules file round trip. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faults/iofault.h"
#include "tests/test_registry.h"

#define OPBIT VECS_IOFAULT_OPBIT

static void test_parse_fields(void)
{
	struct vecs_iofault_rule r[4];
	struct vecs_err err = { 0 };
	size_t n = 99;
	const char *text = "# header torn on the first write\n"
			   "path=*.qcow2 op=write off=0-2M nth=1 count=1 action=torn:512\n"
			   "\n"
			   "  path=\"/a b/*\" comm=qemu-img op=flush,write action=errno:ENOSPC # trailing\n"
			   "op=read,write nth=7 count=0 action=short:12.5%\n"
			   "op=all off=4k- action=delay:250";

	CU_ASSERT_EQUAL_FATAL(vecs_iofault_parse(text, r, 4, &n, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_STRING_EQUAL(r[0].path, "*.qcow2");
	CU_ASSERT_STRING_EQUAL(r[0].comm, "");
	CU_ASSERT_EQUAL(r[0].ops, OPBIT(VECS_IOFAULT_OP_WRITE));
	CU_ASSERT_EQUAL(r[0].off_lo, 0);
	CU_ASSERT_EQUAL(r[0].off_hi, 2097152);
	CU_ASSERT_EQUAL(r[0].nth, 1);
	CU_ASSERT_EQUAL(r[0].count, 1);
	CU_ASSERT_EQUAL(r[0].action, VECS_IOFAULT_ACT_TORN);
	CU_ASSERT_EQUAL(r[0].arg, 512);
	CU_ASSERT_STRING_EQUAL(r[1].path, "/a b/*");
	CU_ASSERT_STRING_EQUAL(r[1].comm, "qemu-img");
	CU_ASSERT_EQUAL(r[1].ops, OPBIT(VECS_IOFAULT_OP_FLUSH) | OPBIT(VECS_IOFAULT_OP_WRITE));
	CU_ASSERT_EQUAL(r[1].action, VECS_IOFAULT_ACT_ERRNO);
	CU_ASSERT_EQUAL(r[1].arg, ENOSPC);
	CU_ASSERT_EQUAL(r[1].off_hi, VECS_IOFAULT_OFF_END);
	CU_ASSERT_EQUAL(r[2].nth, 7);
	CU_ASSERT_EQUAL(r[2].action, VECS_IOFAULT_ACT_SHORT);
	CU_ASSERT_EQUAL(r[2].arg, 125000);
	CU_ASSERT_EQUAL(r[3].ops, VECS_IOFAULT_OPS_ALL);
	CU_ASSERT_EQUAL(r[3].off_lo, 4096);
	CU_ASSERT_EQUAL(r[3].off_hi, VECS_IOFAULT_OFF_END);
	CU_ASSERT_EQUAL(r[3].action, VECS_IOFAULT_ACT_DELAY);
	CU_ASSERT_EQUAL(r[3].arg, 250);
}

static void test_parse_errno_forms(void)
{
	struct vecs_iofault_rule r[3];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(vecs_iofault_parse("op=write action=errno:EDQUOT\nop=write action=errno:30\n"
						 "op=open action=errno:EACCES",
						 r, 3, &n, NULL),
			      0);
	CU_ASSERT_EQUAL(r[0].arg, EDQUOT);
	CU_ASSERT_EQUAL(r[1].arg, EROFS);
	CU_ASSERT_EQUAL(r[2].arg, EACCES);
}

/* Each bad rule fails with -EINVAL and a message naming line:column and the cause. */
static void test_parse_errors(void)
{
	static const struct {
		const char *text, *where, *what;
	} bad[] = {
		{ "op=write", "1:1:", "no action=" },
		{ "action=errno:EIO", "1:1:", "no op=" },
		{ "op=write action=errno:EIO bogus=1", "1:27:", "unknown key" },
		{ "op=write action=errno:EIO op=read", "1:27:", "key given twice" },
		{ "op=wrte action=errno:EIO", "1:4:", "unknown op" },
		{ "op=write, action=errno:EIO", "1:4:", "ends with a comma" },
		{ "op=write action=errno:ENOTANERRNO", "1:17:", "unknown errno name" },
		{ "op=write action=errno", "1:17:", "needs an argument" },
		{ "op=write action=kill-before:3", "1:17:", "takes no argument" },
		{ "op=write action=explode", "1:17:", "unknown action" },
		{ "op=write action=short:1.5", "1:17:", "fraction" },
		{ "op=write action=short:0", "1:17:", "fraction" },
		{ "op=write action=short:0.1234567", "1:17:", "fraction" },
		{ "op=flush action=short:0.5", "1:1:", "short applies" },
		{ "op=write,read action=torn:512", "1:1:", "torn applies" },
		{ "op=write action=delay:soon", "1:17:", "milliseconds" },
		{ "op=write nth=0 action=errno:EIO", "1:14:", "from 1 on" },
		{ "op=write count=-1 action=errno:EIO", "1:16:", "count wants" },
		{ "op=write off=100-10 action=errno:EIO", "1:14:", "empty" },
		{ "op=write off=100 action=errno:EIO", "1:14:", "LO-HI" },
		{ "op=write off=1x-2 action=errno:EIO", "1:14:", "lower bound" },
		{ "op=write comm=a-very-long-process-name action=errno:EIO", "1:15:", "longer than 15" },
		{ "op=write path=\"unterminated action=errno:EIO", "1:15:", "unterminated" },
		{ "op=write justaword action=errno:EIO", "1:10:", "key=value" },
		{ "# fine\n\nop=write action=errno:EIO\n op=read action=errno:EXX", "4:17:", "errno name" },
	};
	struct vecs_iofault_rule r[4];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vecs_err err = { 0 };
		int rc = vecs_iofault_parse(bad[i].text, r, 4, &n, &err);

		if (rc != -EINVAL || !strstr(err.msg, bad[i].where) || !strstr(err.msg, bad[i].what))
			fprintf(stderr, "\n  rule '%s': rc %d, message '%s'\n", bad[i].text, rc, err.msg);
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].where));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].what));
	}
}

static void test_parse_capacity(void)
{
	struct vecs_iofault_rule r[2];
	struct vecs_err err = { 0 };
	size_t n;

	CU_ASSERT_EQUAL(vecs_iofault_parse("op=read action=errno:EIO\nop=read action=errno:EIO\n"
					   "op=read action=errno:EIO",
					   r, 2, &n, &err),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "3:1:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "too many rules"));
	CU_ASSERT_EQUAL(vecs_iofault_parse("# nothing\n\n   \n", r, 2, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
}

/* Canonical text: format(parse(t)) == t, and parse(format(r)) == r byte for byte. */
static void test_format_parse_identity(void)
{
	static const char *const canon[] = {
		"path=*.qcow2 op=write off=0-2097152 count=1 action=torn:512",
		"path=\"/a b/\\\"q\\\"/*\" comm=qemu-img op=write,flush action=errno:EIO",
		"comm=qemu-img op=write nth=7 action=kill-before",
		"op=read,write action=short:0.125",
		"op=read action=short:0.000001",
		"op=all off=4096- action=delay:250",
		"path=unix:/run/*.sock op=connect,send action=errno:ECONNREFUSED",
		"op=truncate,allocate nth=2 count=3 action=kill-after",
		"op=open action=errno:4000",
		"path=\"#x\" op=write action=errno:EDQUOT",
	};
	struct vecs_iofault_rule r[1], back[1];
	char buf[1024];
	size_t i, n;

	for (i = 0; i < sizeof(canon) / sizeof(canon[0]); i++) {
		struct vecs_err err = { 0 };

		CU_ASSERT_EQUAL_FATAL(vecs_iofault_parse(canon[i], r, 1, &n, &err), 0);
		CU_ASSERT_EQUAL_FATAL(n, 1);
		CU_ASSERT_EQUAL(vecs_iofault_format(&r[0], buf, sizeof(buf)), (int)strlen(canon[i]));
		if (strcmp(buf, canon[i]))
			fprintf(stderr, "\n  format: '%s' != '%s'\n", buf, canon[i]);
		CU_ASSERT_STRING_EQUAL(buf, canon[i]);
		CU_ASSERT_EQUAL_FATAL(vecs_iofault_parse(buf, back, 1, &n, &err), 0);
		CU_ASSERT_EQUAL(memcmp(&r[0], &back[0], sizeof(r[0])), 0);
	}
}

static void test_format_small_buffer(void)
{
	struct vecs_iofault_rule r[1];
	char buf[8];
	size_t n;
	int need;

	CU_ASSERT_EQUAL_FATAL(vecs_iofault_parse("op=write action=errno:EIO", r, 1, &n, NULL), 0);
	need = vecs_iofault_format(&r[0], buf, sizeof(buf));
	CU_ASSERT_EQUAL(need, (int)strlen("op=write action=errno:EIO"));
	CU_ASSERT_STRING_EQUAL(buf, "op=writ");
	r[0].action = VECS_IOFAULT_ACT_NONE;
	CU_ASSERT_EQUAL(vecs_iofault_format(&r[0], buf, sizeof(buf)), -EINVAL);
}

/* The shim's side of the file, as a test sees it. */
static struct vecs_iofault_file *map_rules(const char *path)
{
	int fd = open(path, O_RDWR);
	void *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, sizeof(struct vecs_iofault_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static void test_arm_hits_disarm(void)
{
	struct vecs_iofault_rule r[2];
	struct vecs_iofault_file *m;
	struct vecs_err err = { 0 };
	char path[4096], log[4200], text[4096] = "";
	uint64_t hits[4], gen;
	struct stat st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/rules", vecs_test_tmpdir());
	CU_ASSERT_EQUAL_FATAL(vecs_iofault_parse("path=*.img op=write action=errno:EIO\n"
						 "op=flush nth=2 action=kill-after",
						 r, 2, &n, &err),
			      0);
	CU_ASSERT_EQUAL_FATAL(vecs_iofault_arm(path, r, 2, &err), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(st.st_size, (off_t)sizeof(struct vecs_iofault_file));
	m = map_rules(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->magic, VECS_IOFAULT_MAGIC);
	CU_ASSERT_EQUAL(m->nrules, 2);
	CU_ASSERT_EQUAL(m->generation % 2, 0);
	CU_ASSERT_EQUAL(memcmp(&m->slots[1].rule, &r[1], sizeof(r[1])), 0);
	gen = m->generation;

	/* firings, as the shim counts them */
	__atomic_add_fetch(&m->slots[0].hits, 3, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&m->slots[1].hits, 1, __ATOMIC_SEQ_CST);
	CU_ASSERT_EQUAL(vecs_iofault_hits(path, hits, 4, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(hits[0], 3);
	CU_ASSERT_EQUAL(hits[1], 1);
	CU_ASSERT_EQUAL(vecs_iofault_hits(path, hits, 1, &n, &err), -ENOBUFS);

	/* disarm: no rule active, counts kept, the same file (inode) still mapped */
	CU_ASSERT_EQUAL(vecs_iofault_disarm(path, &err), 0);
	CU_ASSERT_EQUAL(m->nrules, 0);
	CU_ASSERT(m->generation > gen && m->generation % 2 == 0);
	CU_ASSERT_EQUAL(vecs_iofault_hits(path, hits, 4, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(hits[0], 3);

	/* re-arm in place with one rule: counters zeroed, the old mapping sees it */
	gen = m->generation;
	CU_ASSERT_EQUAL(vecs_iofault_arm(path, &r[1], 1, &err), 0);
	CU_ASSERT_EQUAL(m->nrules, 1);
	CU_ASSERT(m->generation > gen);
	CU_ASSERT_EQUAL(m->slots[0].hits, 0);
	CU_ASSERT_EQUAL(m->slots[0].rule.action, VECS_IOFAULT_ACT_KILL_AFTER);
	CU_ASSERT_EQUAL(vecs_iofault_hits(path, hits, 4, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(hits[0], 0);
	munmap(m, sizeof(*m));

	CU_ASSERT_EQUAL(vecs_iofault_log_path(path, log, sizeof(log)), 0);
	f = fopen(log, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT(fread(text, 1, sizeof(text) - 1, f) > 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "# armed generation 2 rules 2\n# disarmed generation 4\n# armed generation 6 rules 1\n"));
}

static void test_rules_file_errors(void)
{
	struct vecs_iofault_rule r[1];
	struct vecs_err err = { 0 };
	char path[4096];
	uint64_t hits[1];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/missing-rules", vecs_test_tmpdir());
	CU_ASSERT_EQUAL(vecs_iofault_hits(path, hits, 1, &n, &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing-rules"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "arm it first"));
	CU_ASSERT_EQUAL(vecs_iofault_disarm(path, &err), -ENOENT);

	snprintf(path, sizeof(path), "%s/not-rules", vecs_test_tmpdir());
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("something else entirely\n", f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(vecs_iofault_parse("op=write action=errno:EIO", r, 1, &n, NULL), 0);
	CU_ASSERT_EQUAL(vecs_iofault_arm(path, r, 1, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a rules file"));
	r[0].nth = 0;
	CU_ASSERT_EQUAL(vecs_iofault_arm(path, r, 1, &err), -EINVAL);
	CU_ASSERT_EQUAL(vecs_iofault_arm(path, r, VECS_IOFAULT_MAX_RULES + 1, &err), -E2BIG);
}

static CU_TestInfo tests[] = {
	{ "parse: every field", test_parse_fields },
	{ "parse: errno by name and number", test_parse_errno_forms },
	{ "parse: bad rules name line:column", test_parse_errors },
	{ "parse: capacity, blank text", test_parse_capacity },
	{ "format(parse(text)) == text, parse(format(rule)) == rule", test_format_parse_identity },
	{ "format: small buffer, invalid rule", test_format_small_buffer },
	{ "arm, hits, disarm, re-arm in place", test_arm_hits_disarm },
	{ "rules file: missing, foreign, bad rules", test_rules_file_errors },
	CU_TEST_INFO_NULL,
};

VECS_SUITE(iofault, "faults iofault", tests)
