#include "agent/agent_xml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static bool valid_target(const char *t)
{
	/* vda .. vdz: virtio disks, the bus CloudStack uses for data disks on KVM */
	return t && strlen(t) == 3 && t[0] == 'v' && t[1] == 'd' && t[2] >= 'a' && t[2] <= 'z';
}

void agent_disk_set_target(struct agent_disk_spec *ds, json_t *device)
{
	if (json_is_integer(device) && json_integer_value(device) >= 0 &&
	    json_integer_value(device) < 26) {
		snprintf(ds->target_buf, sizeof(ds->target_buf), "vd%c",
			 (char)('a' + json_integer_value(device)));
		ds->target = ds->target_buf;
	} else {
		ds->target = json_string_value(device);
	}
}

static int check_disk(const struct agent_disk_spec *d, struct vecs_err *err)
{
	if (!d->source || !*d->source)
		return vecs_err_set(err, -EINVAL, "disk %s has no source path",
				    d->target ? d->target : "(no target)");
	if (!d->format || (strcmp(d->format, "qcow2") && strcmp(d->format, "raw")))
		return vecs_err_set(err, -EINVAL, "disk %s: format must be qcow2 or raw", d->source);
	if (!valid_target(d->target))
		return vecs_err_set(err, -EINVAL, "disk %s: device must be vda to vdz", d->source);
	if (d->kind == AGENT_DISK_NFS && (!d->nfs_host || !*d->nfs_host || d->source[0] != '/'))
		return vecs_err_set(err, -EINVAL, "disk %s: an NFS disk needs a server and an "
				    "absolute path on it", d->source);
	if (d->secret_uuid && strlen(d->secret_uuid) != 36)
		return vecs_err_set(err, -EINVAL, "disk %s: secret uuid is not a UUID", d->source);
	return 0;
}

static void put_disk(FILE *f, const struct agent_disk_spec *d, const char *indent)
{
	bool block = d->kind == AGENT_DISK_BLOCK, nfs = d->kind == AGENT_DISK_NFS;

	fprintf(f, "%s<disk type='%s' device='disk'>\n", indent,
		nfs ? "network" : block ? "block" : "file");
	fprintf(f, "%s  <driver name='qemu' type='%s' cache='none'/>\n", indent, d->format);
	fprintf(f, "%s  <source %s='", indent,
		nfs ? "protocol='nfs' name" : block ? "dev" : "file");
	put_escaped(f, d->source);
	if (nfs) {
		fputs("'>\n", f);
		fprintf(f, "%s    <host name='", indent);
		put_escaped(f, d->nfs_host);
		fputs("'/>\n", f);
		if (d->secret_uuid)
			fprintf(f, "%s    <encryption format='luks'><secret type='passphrase' uuid='%s'/></encryption>\n",
				indent, d->secret_uuid);
		fprintf(f, "%s  </source>\n", indent);
	} else if (d->secret_uuid) {
		fputs("'>\n", f);
		fprintf(f, "%s    <encryption format='luks'><secret type='passphrase' uuid='%s'/></encryption>\n",
			indent, d->secret_uuid);
		fprintf(f, "%s  </source>\n", indent);
	} else {
		fputs("'/>\n", f);
	}
	fprintf(f, "%s  <target dev='%s' bus='virtio'/>\n", indent, d->target);
	fprintf(f, "%s</disk>\n", indent);
}

static int finish(FILE *f, char **buf, char **out, struct vecs_err *err)
{
	if (fclose(f) != 0) {
		free(*buf);
		return vecs_err_set(err, -ENOMEM, "out of memory writing libvirt XML");
	}
	*out = *buf;
	return 0;
}

int agent_disk_xml(const struct agent_disk_spec *d, char **out, struct vecs_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r = check_disk(d, err);

	if (r < 0)
		return r;
	if (!(f = open_memstream(&buf, &len)))
		return vecs_err_set(err, -ENOMEM, "out of memory writing libvirt XML");
	put_disk(f, d, "");
	return finish(f, &buf, out, err);
}

int agent_domain_xml(const struct agent_vm_spec *s, char **out, struct vecs_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if (!s->name || !*s->name)
		return vecs_err_set(err, -EINVAL, "a domain needs a name");
	if (!s->domain_type || (strcmp(s->domain_type, "kvm") && strcmp(s->domain_type, "qemu")))
		return vecs_err_set(err, -EINVAL, "domain %s: type must be kvm or qemu", s->name);
	if (s->memory_mb < 16 || s->vcpus < 1 || s->ndisks > AGENT_VM_MAX_DISKS)
		return vecs_err_set(err, -EINVAL,
				    "domain %s: needs at least 16 MiB, one vcpu and at most %d disks",
				    s->name, AGENT_VM_MAX_DISKS);
	if ((s->initrd || s->cmdline) && !s->kernel)
		return vecs_err_set(err, -EINVAL, "domain %s: initrd and cmdline need a kernel",
				    s->name);
	for (size_t i = 0; i < s->ndisks; i++)
		if ((r = check_disk(&s->disks[i], err)) < 0)
			return r;
	if (!(f = open_memstream(&buf, &len)))
		return vecs_err_set(err, -ENOMEM, "out of memory writing libvirt XML");
	fprintf(f, "<domain type='%s' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
		"  <name>", s->domain_type);
	put_escaped(f, s->name);
	fprintf(f, "</name>\n  <memory unit='MiB'>%u</memory>\n  <vcpu>%u</vcpu>\n", s->memory_mb,
		s->vcpus);
	fputs("  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n", f);
	if (s->kernel) {
		fputs("    <kernel>", f);
		put_escaped(f, s->kernel);
		fputs("</kernel>\n", f);
		if (s->initrd) {
			fputs("    <initrd>", f);
			put_escaped(f, s->initrd);
			fputs("</initrd>\n", f);
		}
		if (s->cmdline) {
			fputs("    <cmdline>", f);
			put_escaped(f, s->cmdline);
			fputs("</cmdline>\n", f);
		}
	}
	/* q35 with native PCIe hotplug on root ports (attachVolume on a running VM): a slot
	 * that no guest powered on (a VM without an OS) gives its disk back at once on
	 * detach; with ACPI hotplug (i440fx, or q35's default since QEMU 6.1) the disk
	 * stays until a guest ejects it. QEMU 7.2 needs the ACPI switch on the command
	 * line (libvirt 9.0 has no element for it). */
	fputs("  </os>\n  <features>\n    <acpi/>\n    <apic/>\n  </features>\n"
	      "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n  <devices>\n",
	      f);
	if (s->emulator) {
		fputs("    <emulator>", f);
		put_escaped(f, s->emulator);
		fputs("</emulator>\n", f);
	}
	for (size_t i = 0; i < s->ndisks; i++)
		put_disk(f, &s->disks[i], "    ");
	fputs("    <controller type='pci' model='pcie-root'/>\n", f);
	for (int i = 0; i < AGENT_VM_ROOT_PORTS; i++)
		fputs("    <controller type='pci' model='pcie-root-port'/>\n", f);
	if (s->serial_log) {
		fputs("    <serial type='file'>\n      <source path='", f);
		put_escaped(f, s->serial_log);
		fputs("'/>\n      <target port='0'/>\n    </serial>\n", f);
	}
	fputs("    <memballoon model='none'/>\n  </devices>\n  <qemu:commandline>\n"
	      "    <qemu:arg value='-global'/>\n"
	      "    <qemu:arg value='ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off'/>\n"
	      "  </qemu:commandline>\n</domain>\n",
	      f);
	return finish(f, &buf, out, err);
}

int agent_secret_xml(const char *uuid, const char *usage_path, char **out,
		     struct vecs_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!uuid || strlen(uuid) != 36 || !usage_path || !*usage_path)
		return vecs_err_set(err, -EINVAL, "a secret needs a UUID and a volume path");
	if (!(f = open_memstream(&buf, &len)))
		return vecs_err_set(err, -ENOMEM, "out of memory writing libvirt XML");
	fprintf(f, "<secret ephemeral='yes' private='yes'><uuid>%s</uuid><usage type='volume'><volume>",
		uuid);
	put_escaped(f, usage_path);
	fputs("</volume></usage></secret>", f);
	return finish(f, &buf, out, err);
}

size_t agent_xml_secret_uuids(const char *xml, char (*uuids)[37], size_t max)
{
	size_t n = 0;
	const char *p = xml;

	while (n < max && (p = strstr(p, "<secret type="))) {
		const char *end = strchr(p, '>'), *u = strstr(p, "uuid=");

		p += 13;
		if (!end || !u || u > end || (u[5] != '\'' && u[5] != '"'))
			continue;
		u += 6;
		if (strlen(u) < 37 || u[36] != u[-1])
			continue;
		memcpy(uuids[n], u, 36);
		uuids[n][36] = '\0';
		/* a disk seen twice (a backing chain) names one secret */
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup = dup || !strcmp(uuids[i], uuids[n]);
		if (!dup)
			n++;
	}
	return n;
}

/* The value of attribute name (e.g. "file=") inside [p, end), quoted either way. */
static bool attr_value(const char *p, const char *end, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (; p && p < end; p++) {
		const char *q;
		if (strncmp(p, name, nl) || (p[nl] != '\'' && p[nl] != '"') ||
		    (p[-1] != ' ' && p[-1] != '\n' && p[-1] != '\t'))
			continue;
		q = strchr(p + nl + 1, p[nl]);
		if (!q || q > end || (size_t)(q - (p + nl + 1)) >= cap)
			return false;
		memcpy(out, p + nl + 1, (size_t)(q - (p + nl + 1)));
		out[q - (p + nl + 1)] = '\0';
		return true;
	}
	return false;
}

size_t agent_xml_file_disks(const char *xml, char (*paths)[4096], char (*uuids)[37], size_t max)
{
	size_t n = 0;
	const char *p = xml;

	while (n < max && (p = strstr(p, "<disk "))) {
		const char *end = strstr(p, "</disk>"), *tag = strchr(p, '>'), *src, *sec, *send;
		char type[16];

		if (!end || !tag)
			break;
		if (attr_value(p, tag, "type=", type, sizeof(type)) && !strcmp(type, "file") &&
		    (src = strstr(p, "<source ")) && src < end && (send = strchr(src, '>')) &&
		    attr_value(src, send, "file=", paths[n], sizeof(paths[n]))) {
			uuids[n][0] = '\0';
			/* the first secret of the disk is the top image's (a backing chain follows) */
			if ((sec = strstr(src, "<secret ")) && sec < end)
				attr_value(sec, strchr(sec, '>'), "uuid=", uuids[n], sizeof(uuids[n]));
			n++;
		}
		p = end;
	}
	return n;
}
