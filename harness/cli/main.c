/* vecs: the command-line front end. Dispatches to one subcommand per file. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

#ifndef VECS_VERSION
#define VECS_VERSION "0.1.0"
#endif

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "inspect", cmd_inspect,
	  "judge a LUKS1 header (raw file, block device or qcow2) and check a passphrase" },
	{ "canary", cmd_canary, "write deterministic, self-identifying canary bytes to stdout" },
	{ "scan", cmd_scan, "find canary plaintext in files, directories or block devices" },
	{ "list", cmd_list, "list the support-matrix scenarios (--json for machines)" },
	{ "run", cmd_run, "run the matrix against a target (today: --dry-run only)" },
	{ "stack", cmd_stack, "start, inspect or stop the reference deployment (up, status, down)" },
	{ "corrupt", cmd_corrupt, "flip one on-disk field of an encrypted volume (and restore it)" },
	{ "iofault", cmd_iofault, "arm, disarm and count the LD_PRELOAD I/O fault shim's rules" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vecs COMMAND [OPTIONS] [ARGS]\n"
		"\n"
		"vecs, the Volume Encryption Conformance Suite: checks that LUKS-encrypted VM\n"
		"volumes, as Apache CloudStack 4.18 makes them on KVM, really are encrypted.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"`vecs COMMAND --help` describes a command. Exit status: 0 conformant or all\n"
		"passed, 1 nonconformant or some failed, 2 usage or environment error.\n");
}

int main(int argc, char **argv)
{
	/* a peer that goes away (libvirtd or the API server restarted by a fault, a closed
	 * pipe) is an error to report, not a reason to die */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return VECS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			char help[] = "--help";
			char *sub[] = { argv[2], help, NULL };
			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (!strcmp(commands[i].name, argv[2]))
					return commands[i].run(2, sub);
		}
		usage(stdout);
		return VECS_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("vecs %s\n", VECS_VERSION);
		return VECS_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, argv[1]))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "vecs: unknown command '%s'; `vecs --help` lists the commands\n", argv[1]);
	return VECS_EXIT_USAGE;
}
