/* Periodic wake-ups through SIGALRM: see ticker.h. */
#include "util/ticker.h"

#include <signal.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t ticked;

static void on_tick(int sig)
{
	(void)sig;
	ticked = 1;
}

bool ticker_ticked(void)
{
	if (!ticked)
		return false;
	ticked = 0;
	return true;
}

int ticker_start(unsigned ms)
{
	struct itimerval it = { { ms / 1000, (ms % 1000) * 1000 },
		                { ms / 1000, (ms % 1000) * 1000 } };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: interrupting a waitpid is the point. */
	if (sigaction(SIGALRM, &sa, NULL))
		return -1;
	return setitimer(ITIMER_REAL, &it, NULL);
}

void ticker_stop(void)
{
	struct itimerval off;

	memset(&off, 0, sizeof(off));
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
}
