/* Component versions for the run's metadata (report/report.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "report/report.h"
#include "util/spawn.h"

static const char *const names[VECS_N_COMPONENTS] = { "qemu-img", "qemu-system-x86_64",
						      "libvirt", "cryptsetup" };
static const char *const argvs[VECS_N_COMPONENTS][3] = {
	{ "qemu-img", "--version", NULL },
	{ "qemu-system-x86_64", "--version", NULL },
	{ "libvirtd", "--version", NULL },
	{ "cryptsetup", "--version", NULL },
};

void vecs_versions_collect(struct vecs_versions *v)
{
	struct utsname u;

	for (int i = 0; i < VECS_N_COMPONENTS; i++) {
		char out[512] = "", errbuf[256] = "";
		struct vecs_spawn_opts o = { .timeout_ms = 10000, .out = out, .out_cap = sizeof(out),
					     .errbuf = errbuf, .err_cap = sizeof(errbuf) };
		struct vecs_err err = { 0 };
		int status = -1;

		int r = vecs_spawn_run(argvs[i], &o, &status, &err);

		out[strcspn(out, "\n")] = '\0';
		for (size_t n = strlen(out); n && (out[n - 1] == ' ' || out[n - 1] == '\r'); n--)
			out[n - 1] = '\0';
		if (r == 0 && status == 0 && out[0])
			/* a first line longer than the field is cut: %.*s says so to the compiler */
			snprintf(v->text[i], sizeof(v->text[i]), "%.*s", (int)sizeof(v->text[i]) - 1, out);
		else if (r == -ENOENT)
			snprintf(v->text[i], sizeof(v->text[i]), "not installed");
		else
			snprintf(v->text[i], sizeof(v->text[i]), "unknown (`%s --version` failed)",
				 argvs[i][0]);
		v->list[i].name = names[i];
		v->list[i].version = v->text[i];
	}
	if (uname(&u) == 0)
		snprintf(v->kernel, sizeof(v->kernel), "%s %s %s %s", u.sysname, u.release,
			 u.version, u.machine);
	else
		snprintf(v->kernel, sizeof(v->kernel), "unknown");
}
