/* The libvirt XML the agent writes, as CloudStack's 4.18 KVM agent writes it
 * (CLOUDSTACK.md, "KVM agent"): ephemeral private secrets named by the volume path,
 * and disks carrying <encryption format='luks'> inside <source>. Pure functions: the
 * unit tests compare their output with exact expected XML. No passphrase ever passes
 * through here: a secret's value is set with virSecretSetValue. */
#ifndef VECS_REF_AGENT_XML_H
#define VECS_REF_AGENT_XML_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define AGENT_VM_MAX_DISKS 8
/* PCIe root ports of a domain: a slot per disk (boot and hot-plugged) and the few
 * controllers libvirt adds itself (USB) */
#define AGENT_VM_ROOT_PORTS 12

enum agent_disk_kind {
	AGENT_DISK_FILE,  /* qcow2 file (local, smp) */
	AGENT_DISK_BLOCK, /* block device (ScaleIO): host_device */
	AGENT_DISK_NFS,   /* qcow2 on an NFS export: <disk type='network'>, protocol nfs */
};

struct agent_disk_spec {
	enum agent_disk_kind kind;
	const char *source;      /* file path, block device path, or path on the NFS server */
	const char *format;      /* "qcow2" or "raw" */
	const char *target;      /* "vda", "vdb", ... (virtio) */
	const char *secret_uuid; /* NULL: not encrypted */
	char target_buf[8];      /* holds target when it came as a device id */
	const char *nfs_host;    /* AGENT_DISK_NFS: the server's address */
};

/* The disk's target from a command's "device": CloudStack's integer device id (0 ROOT,
 * 1.. data disks: vda + id) or a target name as given. */
void agent_disk_set_target(struct agent_disk_spec *ds, json_t *device);

struct agent_vm_spec {
	const char *name;
	const char *domain_type; /* "kvm" or "qemu" (TCG) */
	unsigned memory_mb;
	unsigned vcpus;
	const char *kernel;     /* optional direct kernel boot */
	const char *initrd;     /* optional, with kernel */
	const char *cmdline;    /* optional, with kernel */
	const char *serial_log; /* optional: serial port into this file */
	const char *emulator;   /* optional: <emulator> (a wrapper of qemu-system-x86_64) */
	size_t ndisks;
	struct agent_disk_spec disks[AGENT_VM_MAX_DISKS];
};

/* A malloc'ed document in *out. -EINVAL (with a message) for a spec that cannot be
 * written: a missing name or source, an unknown format, a bad target name. */
int agent_domain_xml(const struct agent_vm_spec *s, char **out, struct vecs_err *err);
int agent_disk_xml(const struct agent_disk_spec *d, char **out, struct vecs_err *err);
int agent_secret_xml(const char *uuid, const char *usage_path, char **out,
		     struct vecs_err *err);

/* The secret UUIDs named by <secret type='passphrase' uuid='...'/> in a domain XML
 * (as libvirt returns it: either quote), at most max, into uuids[i] (37 bytes each).
 * Returns the number found. */
size_t agent_xml_secret_uuids(const char *xml, char (*uuids)[37], size_t max);

/* The file disks of a domain XML (as libvirt returns it: either quote): each <disk
 * type='file'>'s <source file=...> into paths[i] and the secret UUID of its
 * <encryption> into uuids[i] ("" when not encrypted), at most max. Returns the count. */
size_t agent_xml_file_disks(const char *xml, char (*paths)[4096], char (*uuids)[37], size_t max);

#endif
