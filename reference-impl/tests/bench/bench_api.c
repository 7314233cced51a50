/* API load client: N threads, each with one keep-alive HTTP/1.1 connection, sending
 * signed GET requests (HMAC-SHA1 computed here with OpenSSL, not with the server's
 * code) and timing each answer. Prints p50/p99/max in milliseconds.
 *
 *   vecs-ref-bench-api HOST PORT CREDENTIALS_FILE THREADS REQUESTS_PER_THREAD QUERY
 *
 * QUERY is "command=...&response=json" (already URL-encoded; apiKey and signature are
 * added), or "-" for GET /vecs/ready (unsigned: the server's HTTP floor). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host, *query;
static int port, per_thread;
static char api_key[256], secret[256], request[8192];
static double *lat;
static int failures;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Signed string: the query's pairs (all lower-case letters in names here except
 * apiKey) sorted by name, lower-cased; values are sent already encoded the Java way. */
static int build_request(void)
{
	char pairs[64][256], *sorted[64], canon[4096] = "", q[4096], sig[64], enc[128];
	unsigned char md[20];
	unsigned int mdlen = 0;
	int n = 0;

	if (strcmp(query, "-") == 0) {
		snprintf(request, sizeof(request),
			 "GET /vecs/ready HTTP/1.1\r\nHost: %s\r\n\r\n", host);
		return 0;
	}
	snprintf(q, sizeof(q), "%s&apiKey=%s", query, api_key);
	for (char *save = NULL, *t = strtok_r(q, "&", &save); t && n < 64;
	     t = strtok_r(NULL, "&", &save))
		snprintf(pairs[n], sizeof(pairs[n]), "%s", t), sorted[n] = pairs[n], n++;
	for (int i = 0; i < n; i++)
		for (int k = i + 1; k < n; k++) {
			/* by name as given (the part before '=') */
			size_t li = strcspn(sorted[i], "="), lk = strcspn(sorted[k], "=");
			int c = strncmp(sorted[i], sorted[k], li < lk ? li : lk);
			if (c > 0 || (c == 0 && li > lk)) {
				char *t = sorted[i];
				sorted[i] = sorted[k];
				sorted[k] = t;
			}
		}
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(canon, "&");
		strcat(canon, sorted[i]);
	}
	char lower[4096];
	for (size_t i = 0; i <= strlen(canon); i++)
		lower[i] = (char)((canon[i] >= 'A' && canon[i] <= 'Z') ? canon[i] + 32 : canon[i]);
	HMAC(EVP_sha1(), secret, (int)strlen(secret), (unsigned char *)lower, strlen(lower), md,
	     &mdlen);
	EVP_EncodeBlock((unsigned char *)sig, md, 20);
	size_t o = 0;
	for (char *s = sig; *s; s++) {
		if (*s == '+' || *s == '/' || *s == '=')
			o += (size_t)sprintf(enc + o, "%%%02X", (unsigned char)*s);
		else
			enc[o++] = *s;
	}
	enc[o] = '\0';
	snprintf(request, sizeof(request),
		 "GET /client/api?%s&apiKey=%s&signature=%s HTTP/1.1\r\nHost: %s\r\n\r\n", query,
		 api_key, enc, host);
	return 0;
}

static int connect_to(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, host, &sa.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One response: headers, then Content-Length bytes. Returns the status or -1. */
static int read_response(int fd, char *buf, size_t cap)
{
	size_t len = 0, need = 0;
	char *body = NULL;
	int status = -1;

	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			return -1;
		len += (size_t)r;
		buf[len] = '\0';
		if (!body && (body = strstr(buf, "\r\n\r\n"))) {
			char *cl = strcasestr(buf, "Content-Length:");
			body += 4;
			need = cl ? strtoul(cl + 15, NULL, 10) : 0;
			status = atoi(buf + 9);
		}
		if (body && len - (size_t)(body - buf) >= need)
			return status;
		if (len + 1 >= cap)
			return -1;
	}
}

static void *client(void *arg)
{
	double *mine = arg;
	char *buf = malloc(1 << 20);
	int fd = connect_to(), bad = 0;

	for (int i = 0; i < per_thread && buf; i++) {
		double t0 = now_ms();
		if (fd < 0 || write(fd, request, strlen(request)) < 0 ||
		    read_response(fd, buf, 1 << 20) != 200) {
			bad++;
			if (fd >= 0)
				close(fd);
			fd = connect_to();
		}
		mine[i] = now_ms() - t0;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	pthread_mutex_lock(&mu);
	failures += bad;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	char line[512];
	FILE *f;
	int threads;

	if (argc != 7) {
		fprintf(stderr, "usage: %s HOST PORT CREDENTIALS THREADS REQUESTS QUERY|-\n", argv[0]);
		return 2;
	}
	host = argv[1];
	port = atoi(argv[2]);
	threads = atoi(argv[4]);
	per_thread = atoi(argv[5]);
	query = argv[6];
	if (threads < 1 || threads > 1024 || per_thread < 1 || !(f = fopen(argv[3], "r"))) {
		fprintf(stderr, "bench_api: bad arguments or unreadable credentials\n");
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "api_key=", 8))
			snprintf(api_key, sizeof(api_key), "%.200s", line + 8);
		if (!strncmp(line, "secret_key=", 11))
			snprintf(secret, sizeof(secret), "%.200s", line + 11);
	}
	fclose(f);
	build_request();
	lat = calloc((size_t)threads * (size_t)per_thread, sizeof(double));
	pthread_t *tid = calloc((size_t)threads, sizeof(pthread_t));
	double t0 = now_ms();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, client, lat + (size_t)i * (size_t)per_thread);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	double wall = now_ms() - t0;
	size_t n = (size_t)threads * (size_t)per_thread;
	qsort(lat, n, sizeof(double), cmpd);
	printf("requests %zu threads %d p50_ms %.3f p99_ms %.3f max_ms %.3f rps %.0f failures %d\n",
	       n, threads, lat[n / 2], lat[(size_t)(n * 0.99)], lat[n - 1], n / (wall / 1e3),
	       failures);
	explicit_bzero(secret, sizeof(secret));
	free(lat);
	free(tid);
	return failures ? 1 : 0;
}
