/* The agent's pure parts: secret UUIDs (known answers computed independently with
 * python3 hashlib + uuid), libvirt XML (exact documents), qemu-img argv (exact, and no
 * passphrase anywhere in argv), and the capability probe's help-text parsing with both
 * qemu-img wordings. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_caps.h"
#include "agent/agent_uuid.h"
#include "agent/agent_xml.h"
#include "agent/qemu_img_argv.h"
#include "test_registry.h"

static void uuid_is(const char *name, const char *want)
{
	char u[AGENT_UUID_STR];

	agent_name_uuid(name, strlen(name), u);
	CU_ASSERT_STRING_EQUAL(u, want);
}

/* python3: h = bytearray(md5(s).digest()); h[6] = h[6] & 0x0f | 0x30;
 * h[8] = h[8] & 0x3f | 0x80; uuid.UUID(bytes=bytes(h)) -- Java's nameUUIDFromBytes */
static void test_uuid_known_answers(void)
{
	uuid_is("/var/lib/libvirt/images/vol-1.qcow2", "38765364-8808-3a75-b8f1-548b19091da6");
	uuid_is("/dev/disk/by-id/emc-vol-0123456789abcdef-00000001",
		"bfb78aa3-7079-3ec5-957b-b51bfa81f1df");
	uuid_is("", "d41d8cd9-8f00-3204-a980-0998ecf8427e");
	/* not RFC 4122 uuid3 in the URL namespace (eaba9b81-...): CloudStack hashes no
	 * namespace */
	char u[AGENT_UUID_STR];
	agent_name_uuid("/var/lib/libvirt/images/vol-1.qcow2", 35, u);
	CU_ASSERT_STRING_NOT_EQUAL(u, "eaba9b81-c1bd-3e20-ba1b-7895a846be71");
}

static void test_secret_xml(void)
{
	struct vecs_err err = { 0 };
	char *x = NULL;

	CU_ASSERT_EQUAL(agent_secret_xml("38765364-8808-3a75-b8f1-548b19091da6",
					 "/pool/it's <a> & b.qcow2", &x, &err), 0);
	CU_ASSERT_STRING_EQUAL(x, "<secret ephemeral='yes' private='yes'><uuid>38765364-8808-3a75-b8f1-548b19091da6</uuid>"
				  "<usage type='volume'><volume>/pool/it&apos;s &lt;a&gt; &amp; b.qcow2</volume></usage></secret>");
	free(x);
	CU_ASSERT_EQUAL(agent_secret_xml("short", "/p", &x, &err), -EINVAL);
}

static const char dom_want[] =
	"<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
	"  <name>vm-1</name>\n"
	"  <memory unit='MiB'>64</memory>\n"
	"  <vcpu>1</vcpu>\n"
	"  <os>\n"
	"    <type arch='x86_64' machine='q35'>hvm</type>\n"
	"    <kernel>/k/vmlinuz</kernel>\n"
	"    <initrd>/k/initrd</initrd>\n"
	"    <cmdline>console=ttyS0</cmdline>\n"
	"  </os>\n"
	"  <features>\n"
	"    <acpi/>\n"
	"    <apic/>\n"
	"  </features>\n"
	"  <on_poweroff>destroy</on_poweroff>\n"
	"  <on_reboot>restart</on_reboot>\n"
	"  <on_crash>destroy</on_crash>\n"
	"  <devices>\n"
	"    <disk type='file' device='disk'>\n"
	"      <driver name='qemu' type='qcow2' cache='none'/>\n"
	"      <source file='/smp/v1.qcow2'>\n"
	"        <encryption format='luks'><secret type='passphrase' uuid='38765364-8808-3a75-b8f1-548b19091da6'/></encryption>\n"
	"      </source>\n"
	"      <target dev='vda' bus='virtio'/>\n"
	"    </disk>\n"
	"    <disk type='block' device='disk'>\n"
	"      <driver name='qemu' type='raw' cache='none'/>\n"
	"      <source dev='/dev/loop7'>\n"
	"        <encryption format='luks'><secret type='passphrase' uuid='bfb78aa3-7079-3ec5-957b-b51bfa81f1df'/></encryption>\n"
	"      </source>\n"
	"      <target dev='vdb' bus='virtio'/>\n"
	"    </disk>\n"
	"    <disk type='file' device='disk'>\n"
	"      <driver name='qemu' type='qcow2' cache='none'/>\n"
	"      <source file='/local/plain.qcow2'/>\n"
	"      <target dev='vdc' bus='virtio'/>\n"
	"    </disk>\n"
	"    <controller type='pci' model='pcie-root'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <controller type='pci' model='pcie-root-port'/>\n"
	"    <serial type='file'>\n"
	"      <source path='/log/serial.log'/>\n"
	"      <target port='0'/>\n"
	"    </serial>\n"
	"    <memballoon model='none'/>\n"
	"  </devices>\n"
	"  <qemu:commandline>\n"
	"    <qemu:arg value='-global'/>\n"
	"    <qemu:arg value='ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off'/>\n"
	"  </qemu:commandline>\n"
	"</domain>\n";

static void test_domain_xml(void)
{
	struct agent_vm_spec s = {
		.name = "vm-1", .domain_type = "kvm", .memory_mb = 64, .vcpus = 1,
		.kernel = "/k/vmlinuz", .initrd = "/k/initrd", .cmdline = "console=ttyS0",
		.serial_log = "/log/serial.log", .ndisks = 3,
		.disks = {
			{ AGENT_DISK_FILE, "/smp/v1.qcow2", "qcow2", "vda",
			  "38765364-8808-3a75-b8f1-548b19091da6" },
			{ AGENT_DISK_BLOCK, "/dev/loop7", "raw", "vdb",
			  "bfb78aa3-7079-3ec5-957b-b51bfa81f1df" },
			{ AGENT_DISK_FILE, "/local/plain.qcow2", "qcow2", "vdc", NULL },
		},
	};
	struct vecs_err err = { 0 };
	char uuids[4][37];
	char *x = NULL;

	CU_ASSERT_EQUAL_FATAL(agent_domain_xml(&s, &x, &err), 0);
	CU_ASSERT_STRING_EQUAL(x, dom_want);
	CU_ASSERT_EQUAL(agent_xml_secret_uuids(x, uuids, 4), 2);
	CU_ASSERT_STRING_EQUAL(uuids[0], "38765364-8808-3a75-b8f1-548b19091da6");
	CU_ASSERT_STRING_EQUAL(uuids[1], "bfb78aa3-7079-3ec5-957b-b51bfa81f1df");
	free(x);
	/* --emulator: the fault wrapper as the first device, escaped; none by default */
	s.emulator = "/st&ck/hosts/h1/qemu-wrapper";
	CU_ASSERT_EQUAL_FATAL(agent_domain_xml(&s, &x, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(x, "  <devices>\n    <emulator>/st&amp;ck/hosts/h1/qemu-wrapper"
					 "</emulator>\n    <disk "));
	free(x);
	s.emulator = NULL;
	/* libvirt's own quoting */
	CU_ASSERT_EQUAL(agent_xml_secret_uuids("<secret type=\"passphrase\" uuid=\"38765364-8808-3a75-b8f1-548b19091da6\"/>",
					       uuids, 4), 1);
	/* file disks of a live XML (migrate_vm without dest_vm), libvirt's own layout */
	{
		static char paths[4][4096];
		char du[4][37];
		const char *live =
			"<domain><devices><disk type=\"file\" device=\"disk\"><driver name=\"qemu\"/>"
			"<source file=\"/pools/local-h2/a\" index=\"1\"><encryption format=\"luks\">"
			"<secret type=\"passphrase\" uuid=\"38765364-8808-3a75-b8f1-548b19091da6\"/>"
			"</encryption></source><target dev=\"vda\"/></disk>"
			"<disk type='network' device='disk'><source protocol='nfs' name='/export/x'/></disk>"
			"<disk type='file' device='disk'><source file='/smp/b'/><target dev='vdc'/></disk>"
			"</devices></domain>";
		CU_ASSERT_EQUAL_FATAL(agent_xml_file_disks(live, paths, du, 4), 2);
		CU_ASSERT_STRING_EQUAL(paths[0], "/pools/local-h2/a");
		CU_ASSERT_STRING_EQUAL(du[0], "38765364-8808-3a75-b8f1-548b19091da6");
		CU_ASSERT_STRING_EQUAL(paths[1], "/smp/b");
		CU_ASSERT_STRING_EQUAL(du[1], "");
	}
	/* NFS: a network disk named by its path on the server */
	struct agent_disk_spec nd = { .kind = AGENT_DISK_NFS, .source = "/export/v2.qcow2",
				      .format = "qcow2", .target = "vdb",
				      .secret_uuid = "38765364-8808-3a75-b8f1-548b19091da6",
				      .nfs_host = "10.251.1.1" };
	CU_ASSERT_EQUAL_FATAL(agent_disk_xml(&nd, &x, &err), 0);
	CU_ASSERT_STRING_EQUAL(x, "<disk type='network' device='disk'>\n"
				  "  <driver name='qemu' type='qcow2' cache='none'/>\n"
				  "  <source protocol='nfs' name='/export/v2.qcow2'>\n"
				  "    <host name='10.251.1.1'/>\n"
				  "    <encryption format='luks'><secret type='passphrase' uuid='38765364-8808-3a75-b8f1-548b19091da6'/></encryption>\n"
				  "  </source>\n"
				  "  <target dev='vdb' bus='virtio'/>\n"
				  "</disk>\n");
	free(x);
	nd.nfs_host = NULL;
	CU_ASSERT_EQUAL(agent_disk_xml(&nd, &x, &err), -EINVAL);
	s.disks[0].target = "hda";
	CU_ASSERT_EQUAL(agent_domain_xml(&s, &x, &err), -EINVAL);
	s.disks[0].target = "vda";
	s.disks[1].format = "vmdk";
	CU_ASSERT_EQUAL(agent_domain_xml(&s, &x, &err), -EINVAL);
}

/* argv joined with single spaces */
static char *joined(const struct qimg_cmd *c)
{
	static char buf[4096];

	buf[0] = '\0';
	for (size_t i = 0; i < c->argc; i++) {
		if (i)
			strcat(buf, " ");
		strcat(buf, c->argv[i]);
	}
	CU_ASSERT_PTR_NULL(c->argv[c->argc]);
	return buf;
}

#define PASS "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdXV4"

static void test_qemu_img_argv(void)
{
	struct qimg_image vol = { .path = "/smp/v1.qcow2", .format = "qcow2", .block = false, .key_file = "/keys/key-1" };
	struct qimg_image tpl = { .path = "/sec/tpl.raw", .format = "raw", .block = false, .key_file = NULL };
	struct qimg_image dev = { .path = "/dev/loop7", .format = "raw", .block = true, .key_file = "/keys/key-2" };
	struct qimg_image comma = { .path = "/smp/a,b.qcow2", .format = "qcow2", .block = false,
				    .key_file = "/keys/key-1" };
	struct vecs_err err = { 0 };
	struct qimg_cmd c;

	CU_ASSERT_EQUAL_FATAL(qimg_create(&c, &vol, 67108864, &err), 0);
	CU_ASSERT_STRING_EQUAL(joined(&c), "qemu-img create --object secret,file=/keys/key-1,id=sec0 -o "
					   "encrypt.format=luks,encrypt.key-secret=sec0 -f qcow2 /smp/v1.qcow2 67108864");
	qimg_cmd_free(&c);

	CU_ASSERT_EQUAL_FATAL(qimg_convert(&c, &tpl, &vol, false, &err), 0);
	CU_ASSERT_STRING_EQUAL(joined(&c), "qemu-img convert --object secret,file=/keys/key-1,id=sec1 -U --image-opts "
					   "driver=raw,file.driver=file,file.filename=/sec/tpl.raw -O qcow2 -o "
					   "encrypt.format=luks,encrypt.key-secret=sec1 /smp/v1.qcow2");
	qimg_cmd_free(&c);

	CU_ASSERT_EQUAL_FATAL(qimg_convert(&c, &vol, &dev, true, &err), 0);
	CU_ASSERT_STRING_EQUAL(joined(&c), "qemu-img convert --object secret,file=/keys/key-1,id=sec0 --object "
					   "secret,file=/keys/key-2,id=sec1 -U --image-opts "
					   "driver=qcow2,encrypt.key-secret=sec0,file.driver=file,file.filename=/smp/v1.qcow2 "
					   "-n --target-image-opts driver=luks,key-secret=sec1,file.driver=host_device,file.filename=/dev/loop7");
	qimg_cmd_free(&c);

	CU_ASSERT_EQUAL_FATAL(qimg_resize(&c, &comma, 100663296, &err), 0);
	CU_ASSERT_STRING_EQUAL(joined(&c), "qemu-img resize --object secret,file=/keys/key-1,id=sec0 --image-opts "
					   "driver=qcow2,encrypt.key-secret=sec0,file.driver=file,file.filename=/smp/a,,b.qcow2 100663296");
	/* a passphrase is never in argv: only key file paths are */
	for (size_t i = 0; i < c.argc; i++)
		CU_ASSERT_PTR_NULL(strstr(c.argv[i], PASS));
	qimg_cmd_free(&c);

	/* a new encrypted image is a qcow2 file; raw LUKS only into an existing device */
	CU_ASSERT_EQUAL(qimg_convert(&c, &vol, &dev, false, &err), -EINVAL);
	CU_ASSERT_EQUAL(qimg_create(&c, &dev, 1, &err), -EINVAL);
	struct qimg_image badkey = { .path = "/v", .format = "qcow2", .block = false,
				     .key_file = "/keys/a,b" };
	CU_ASSERT_EQUAL(qimg_create(&c, &badkey, 1, &err), -EINVAL);

	/* NFS: the URL where a file name goes, file.driver=nfs in image options */
	struct qimg_image nfs = { .path = "nfs://10.251.1.1/export/v2.qcow2", .format = "qcow2",
				  .key_file = "/keys/key-1", .nfs_host = "10.251.1.1",
				  .nfs_path = "/export/v2.qcow2" };
	CU_ASSERT_EQUAL_FATAL(qimg_create(&c, &nfs, 67108864, &err), 0);
	CU_ASSERT_STRING_EQUAL(joined(&c), "qemu-img create --object secret,file=/keys/key-1,id=sec0 -o "
					   "encrypt.format=luks,encrypt.key-secret=sec0 -f qcow2 "
					   "nfs://10.251.1.1/export/v2.qcow2 67108864");
	qimg_cmd_free(&c);
	CU_ASSERT_EQUAL_FATAL(qimg_resize(&c, &nfs, 100663296, &err), 0);
	CU_ASSERT_STRING_EQUAL(joined(&c), "qemu-img resize --object secret,file=/keys/key-1,id=sec0 --image-opts "
					   "driver=qcow2,encrypt.key-secret=sec0,file.driver=nfs,file.server.type=inet,"
					   "file.server.host=10.251.1.1,file.path=/export/v2.qcow2 100663296");
	qimg_cmd_free(&c);
	nfs.nfs_path = "export/v2.qcow2";
	CU_ASSERT_EQUAL(qimg_create(&c, &nfs, 1, &err), -EINVAL);
}

static void test_caps_help_text(void)
{
	/* qemu-img up to 10.0 */
	CU_ASSERT_TRUE(agent_caps_help_lists_luks(
		"usage: qemu-img [standard options] command\n\nSupported formats: blkdebug file "
		"host_device luks nbd qcow2 raw\n\nSee <https://qemu.org/contribute/report-a-bug>\n"));
	/* qemu-img 10.1 (upstream CloudStack's probe broke here, #13574) */
	CU_ASSERT_TRUE(agent_caps_help_lists_luks(
		"Supported image formats: blkdebug luks qcow2 raw\n"));
	/* wrapped onto a continuation line */
	CU_ASSERT_TRUE(agent_caps_help_lists_luks(
		"Supported image formats: blkdebug file\n   host_device luks qcow2\n\n"));
	/* no luks, or luks only as part of a word or outside the formats line */
	CU_ASSERT_FALSE(agent_caps_help_lists_luks("Supported formats: qcow2 raw\n"));
	CU_ASSERT_FALSE(agent_caps_help_lists_luks("Supported formats: qcow2 rawluks luks2\n"));
	CU_ASSERT_FALSE(agent_caps_help_lists_luks("luks is mentioned\nSupported formats: raw\nluks\n"));
	CU_ASSERT_FALSE(agent_caps_help_lists_luks(""));
}

static CU_TestInfo tests[] = {
	{ "secret UUID = Java nameUUIDFromBytes(path)", test_uuid_known_answers },
	{ "secret XML, escaped", test_secret_xml },
	{ "domain XML, exact", test_domain_xml },
	{ "qemu-img argv, exact, no passphrase", test_qemu_img_argv },
	{ "capability probe: both help wordings", test_caps_help_text },
	CU_TEST_INFO_NULL,
};

REF_SUITE(agent_pure, "agent_pure", tests)
