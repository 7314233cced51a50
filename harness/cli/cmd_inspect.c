#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "oracle/inspect.h"
#include "util/json_writer.h"
#include "util/secret.h"

static void inspect_usage(FILE *f)
{
	fprintf(f,
		"usage: vecs inspect [--passphrase-file F] [--profile P] [--json] PATH\n"
		"\n"
		"Judge the LUKS1 header of PATH (a raw LUKS file, a block device, or a qcow2 file\n"
		"whose crypt_method is 2 and whose encryption header extension locates the LUKS\n"
		"header) against the LUKS1 format and a profile. With a passphrase, two independent\n"
		"oracles check that it opens a keyslot: the native one (PBKDF2, keyslot decryption,\n"
		"AF merge and digest check, written here on OpenSSL) and libcryptsetup. If they\n"
		"disagree, that is a finding (oracle.disagreement).\n"
		"\n"
		"  --passphrase-file F  the passphrase: every byte of F, no newline stripped (as\n"
		"                       cryptsetup --key-file and QEMU's secret,file= read it)\n"
		"  --profile P          cloudstack-4.18 (default): aes xts-plain64, 512-bit key,\n"
		"                       sha256, exactly one enabled keyslot;\n"
		"                       luks1: the format's own rules only\n"
		"  --json               one JSON object: path, container, encrypted, luks (header\n"
		"                       fields and 8 keyslots), passphrase (checked, unlocks,\n"
		"                       keyslot, oracles), findings (id, severity, message), verdict\n"
		"\n"
		"Exit status: 0 conformant (and, with a passphrase, unlocked); 1 nonconformant or\n"
		"not unlocked; 2 PATH unreadable or bad usage.\n");
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "profile", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct vecs_profile *profile = vecs_profile_default();
	const char *pass_file = NULL;
	struct vecs_secret pass = { 0 };
	struct inspect_result res;
	struct vecs_err err = { 0 };
	bool json = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:P:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pass_file = optarg;
			break;
		case 'P':
			profile = vecs_profile_find(optarg);
			if (!profile) {
				fprintf(stderr, "vecs inspect: unknown profile '%s'; known: cloudstack-4.18, luks1\n",
					optarg);
				return VECS_EXIT_USAGE;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			inspect_usage(stdout);
			return VECS_EXIT_OK;
		default:
			inspect_usage(stderr);
			return VECS_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "vecs inspect: exactly one PATH is needed (got %d)\n", argc - optind);
		inspect_usage(stderr);
		return VECS_EXIT_USAGE;
	}
	if (pass_file && vecs_secret_read_file(&pass, pass_file, &err) < 0) {
		fprintf(stderr, "vecs inspect: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	r = vecs_inspect(argv[optind], pass_file ? &pass : NULL, profile, &res, &err);
	vecs_secret_release(&pass);
	if (r < 0) {
		fprintf(stderr, "vecs inspect: %s\n", err.msg);
		return VECS_EXIT_USAGE;
	}
	if (json) {
		struct json_writer w;
		jw_init(&w, stdout, true);
		vecs_inspect_json(&res, &w);
	} else {
		vecs_inspect_text(&res, stdout);
	}
	if (fflush(stdout) != 0) {
		perror("vecs inspect: writing the report");
		return VECS_EXIT_USAGE;
	}
	return res.pass ? VECS_EXIT_OK : VECS_EXIT_FAIL;
}
