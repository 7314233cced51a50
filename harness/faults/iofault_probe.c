/* iofault_probe DIR: one call of every libc function the I/O fault shim wraps, on
 * files and sockets under DIR, one output line each: NAME RC ERRNO. Compiled and run
 * by harness/tests/integration/t-iofault.sh with and without rules, to prove each
 * wrapper is reached (the rule fires, RC/ERRNO say so) and that a pass-through call
 * keeps errno (set to ENOTRECOVERABLE before every call). The fds the data calls use
 * are opened with raw syscalls, which the shim does not see, so a failing open rule
 * does not cascade and the shim's /proc/self/fd fallback is exercised. Not part of
 * libvecs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define SENTINEL ENOTRECOVERABLE

static void show(const char *name, long rc)
{
	const char *e = strerrorname_np(errno);

	printf("%s %ld %s\n", name, rc, e ? e : "?");
	errno = SENTINEL;
}

static int listen_unix(const char *path, struct sockaddr_un *sa)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "iofault_probe: socket path too long: %s\n", path);
		exit(2);
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	unlink(path);
	if (s < 0 || bind(s, (struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(s, 4) < 0) {
		perror("iofault_probe: unix listener");
		exit(2);
	}
	return s;
}

static int listen_inet(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(s, 4) < 0 ||
	    getsockname(s, (struct sockaddr *)sa, &len) < 0) {
		perror("iofault_probe: inet listener");
		exit(2);
	}
	return s;
}

/* open(2) that the shim does not see */
static int raw_open(const char *path, int flags)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0600);
}

static void opens(const char *dir, const char *path, const char *src)
{
	int fd, dfd = raw_open(dir, O_RDONLY | O_DIRECTORY);

	errno = SENTINEL;
	fd = open(path, O_CREAT | O_RDWR, 0600);
	show("open", fd);
	close(fd);
	fd = openat(dfd, "probe.dat", O_RDWR);
	show("openat", fd);
	close(fd);
	fd = creat(src, 0600);
	show("creat", fd);
	close(fd);
	close(dfd);
}

static void files(const char *dir)
{
	static char buf[8192], in[8192];
	struct iovec wv[2] = { { buf, 4096 }, { buf + 4096, 4096 } };
	struct iovec rv[2] = { { in, 4096 }, { in + 4096, 4096 } };
	char path[4096], src[4200];
	loff_t o_in = 0, o_out = 0;
	int fd, cfd, e;

	memset(buf, 'x', sizeof(buf));
	snprintf(path, sizeof(path), "%s/probe.dat", dir);
	snprintf(src, sizeof(src), "%s/probe.src", dir);
	opens(dir, path, src);
	fd = raw_open(path, O_CREAT | O_RDWR);
	cfd = raw_open(src, O_CREAT | O_RDWR);
	if (fd < 0 || cfd < 0 || syscall(SYS_pwrite64, cfd, buf, 8192, 0) != 8192) {
		perror("iofault_probe: probe files");
		exit(2);
	}
	errno = SENTINEL;
	show("write", write(fd, buf, 8192));
	show("pwrite", pwrite(fd, buf, 8192, 0));
	show("writev", writev(fd, wv, 2));
	show("pwritev", pwritev(fd, wv, 2, 0));
	show("pwritev2", pwritev2(fd, wv, 2, 0, 0));
	show("read", (lseek(fd, 0, SEEK_SET), read(fd, in, 8192)));
	show("pread", pread(fd, in, 8192, 0));
	show("readv", (lseek(fd, 0, SEEK_SET), readv(fd, rv, 2)));
	show("preadv", preadv(fd, rv, 2, 0));
	show("preadv2", preadv2(fd, rv, 2, 0, 0));
	show("fsync", fsync(fd));
	show("fdatasync", fdatasync(fd));
	show("sync_file_range", sync_file_range(fd, 0, 8192, SYNC_FILE_RANGE_WRITE));
	show("ftruncate", ftruncate(fd, 16384));
	show("fallocate", fallocate(fd, 0, 0, 65536));
	e = posix_fallocate(fd, 0, 131072); /* returns its error, errno untouched */
	errno = e ? e : errno;
	show("posix_fallocate", e ? -1 : 0);
	show("copy_file_range", copy_file_range(cfd, &o_in, fd, &o_out, 4096, 0));
	close(cfd);
	close(fd);
}

static void sockets(const char *dir)
{
	struct sockaddr_un un;
	struct sockaddr_in in;
	struct iovec iov = { (void *)"ping", 4 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	char path[4096];
	int lu, li, su, su2, si;

	snprintf(path, sizeof(path), "%s/probe.sock", dir);
	lu = listen_unix(path, &un);
	li = listen_inet(&in);
	su = socket(AF_UNIX, SOCK_STREAM, 0);
	su2 = socket(AF_UNIX, SOCK_STREAM, 0);
	si = socket(AF_INET, SOCK_STREAM, 0);
	errno = SENTINEL;
	show("connect_unix", connect(su, (struct sockaddr *)&un, sizeof(un)));
	show("connect_inet", connect(si, (struct sockaddr *)&in, sizeof(in)));
	/* the sends go to the peer a second connect recorded */
	show("connect_unix2", connect(su2, (struct sockaddr *)&un, sizeof(un)));
	show("send", send(su2, "ping", 4, MSG_NOSIGNAL));
	show("sendto", sendto(su2, "ping", 4, MSG_NOSIGNAL, NULL, 0));
	show("sendmsg", sendmsg(su2, &msg, MSG_NOSIGNAL));
	close(su);
	close(su2);
	close(si);
	close(lu);
	close(li);
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: iofault_probe DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	files(argv[1]);
	sockets(argv[1]);
	return 0;
}
