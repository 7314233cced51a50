#include "mgmt/crashpoint.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *armed;

static void read_env(void)
{
	const char *v = getenv("VECS_MGMT_CRASHPOINT");

	armed = v && *v ? v : NULL;
}

void mgmt_crashpoint(struct mgmt *m, const char *name)
{
	pthread_once(&once, read_env);
	if (!armed || strcmp(armed, name))
		return;
	mgmt_log(m, "test crash point %s reached: SIGKILL", name);
	raise(SIGKILL);
}
