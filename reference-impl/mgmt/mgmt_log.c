#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "mgmt/mgmt.h"

void mgmt_log(struct mgmt *m, const char *fmt, ...)
{
	FILE *f = m->log ? m->log : stderr;
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&m->log_lock);
	fprintf(f, "%s.%03ldZ ", when, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	pthread_mutex_unlock(&m->log_lock);
}
