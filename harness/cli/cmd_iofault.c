/* vecs iofault: arm, disarm and read the LD_PRELOAD I/O fault shim's rules file
 * (harness/faults/README.md). For tests, the fault catalog's reproduce commands and
 * people at a shell. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "faults/iofault.h"

static void iofault_usage(FILE *f)
{
	fprintf(f,
		"usage: vecs iofault arm RULES_FILE RULE...      arm these rules (one rule per argument)\n"
		"       vecs iofault arm RULES_FILE -f TEXT_FILE  arm the rules of a text file ('-': stdin)\n"
		"       vecs iofault disarm RULES_FILE            no rule active (the file stays)\n"
		"       vecs iofault hits RULES_FILE              firings per rule since arm, one line each\n"
		"       vecs iofault check RULE...                parse and print in canonical form\n"
		"\n"
		"A process run with LD_PRELOAD=build/lib/libvecs-iofault.so and\n"
		"VECS_IOFAULT_RULES=RULES_FILE obeys the rules armed in RULES_FILE, also when they are\n"
		"armed or changed after it started; each firing is logged to RULES_FILE.log.\n"
		"Rule: key=value words; op and action required, e.g.\n"
		"  path=*.qcow2 op=write off=0-2097152 nth=1 count=1 action=torn:512\n"
		"  comm=qemu-img op=flush action=errno:EIO\n"
		"keys: path comm op off nth count action; ops: open read write flush truncate\n"
		"allocate connect send all; actions: errno:NAME short:FRACTION torn:BYTES delay:MS\n"
		"kill-before kill-after.\n");
}

/* The rule text: the arguments joined by newlines, or a file's content. */
static char *rules_text(int argc, char **argv)
{
	size_t len = 0, cap = 0;
	char *text = NULL;
	FILE *f;
	int i;

	if (argc == 2 && strcmp(argv[0], "-f") == 0) {
		f = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "r");
		if (!f) {
			fprintf(stderr, "vecs iofault: cannot read %s: %s\n", argv[1], strerror(errno));
			return NULL;
		}
		if (getdelim(&text, &cap, '\0', f) < 0 && !text)
			text = strdup("");
		if (f != stdin)
			fclose(f);
		return text;
	}
	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	text = calloc(1, len + 1);
	for (i = 0; text && i < argc; i++) {
		strcat(text, argv[i]);
		strcat(text, "\n");
	}
	return text;
}

static int parse_args(int argc, char **argv, struct vecs_iofault_rule *rules, size_t *n)
{
	struct vecs_err err = { 0 };
	char *text = rules_text(argc, argv);
	int rc;

	if (!text)
		return -ENOMEM;
	rc = vecs_iofault_parse(text, rules, VECS_IOFAULT_MAX_RULES, n, &err);
	free(text);
	if (rc < 0)
		fprintf(stderr, "vecs iofault: %s\n", err.msg);
	return rc;
}

static int do_check(int argc, char **argv)
{
	struct vecs_iofault_rule rules[VECS_IOFAULT_MAX_RULES];
	char line[1024];
	size_t n, i;

	if (parse_args(argc, argv, rules, &n) < 0)
		return VECS_EXIT_FAIL;
	for (i = 0; i < n; i++) {
		vecs_iofault_format(&rules[i], line, sizeof(line));
		printf("%s\n", line);
	}
	return VECS_EXIT_OK;
}

static int do_arm(const char *path, int argc, char **argv)
{
	struct vecs_iofault_rule rules[VECS_IOFAULT_MAX_RULES];
	struct vecs_err err = { 0 };
	size_t n;

	if (parse_args(argc, argv, rules, &n) < 0)
		return VECS_EXIT_USAGE;
	if (vecs_iofault_arm(path, rules, n, &err) < 0) {
		fprintf(stderr, "vecs iofault: %s\n", err.msg);
		return VECS_EXIT_FAIL;
	}
	return VECS_EXIT_OK;
}

static int do_hits(const char *path)
{
	uint64_t hits[VECS_IOFAULT_MAX_RULES];
	struct vecs_err err = { 0 };
	size_t n, i;

	if (vecs_iofault_hits(path, hits, VECS_IOFAULT_MAX_RULES, &n, &err) < 0) {
		fprintf(stderr, "vecs iofault: %s\n", err.msg);
		return VECS_EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		printf("%llu\n", (unsigned long long)hits[i]);
	return VECS_EXIT_OK;
}

int cmd_iofault(int argc, char **argv)
{
	struct vecs_err err = { 0 };

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		iofault_usage(stdout);
		return VECS_EXIT_OK;
	}
	if (argc >= 3 && !strcmp(argv[1], "check"))
		return do_check(argc - 2, argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "arm"))
		return do_arm(argv[2], argc - 3, argv + 3);
	if (argc == 3 && !strcmp(argv[1], "hits"))
		return do_hits(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "disarm")) {
		if (vecs_iofault_disarm(argv[2], &err) < 0) {
			fprintf(stderr, "vecs iofault: %s\n", err.msg);
			return VECS_EXIT_FAIL;
		}
		return VECS_EXIT_OK;
	}
	iofault_usage(stderr);
	return VECS_EXIT_USAGE;
}
