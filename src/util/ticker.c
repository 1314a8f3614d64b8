/* Periodic wake-ups through SIGALRM: see ticker.h. */
#include "util/ticker.h"

#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticked;
static bool started;
static bool soon_made;
static timer_t soon;

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
	started = true;
	return setitimer(ITIMER_REAL, &it, NULL);
}

int ticker_soon(unsigned us)
{
	struct itimerspec its = { { 0, 0 }, { us / 1000000, (long)(us % 1000000) * 1000 } };

	if (!started)
		return -1;
	if (!soon_made) {
		struct sigevent sev;

		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = SIGALRM;
		/* sigev_notify_thread_id, which this glibc does not name */
		sev._sigev_un._tid = gettid();
		if (timer_create(CLOCK_MONOTONIC, &sev, &soon))
			return -1;
		soon_made = true;
	}
	return timer_settime(soon, 0, &its, NULL);
}

void ticker_stop(void)
{
	struct itimerval off;

	memset(&off, 0, sizeof(off));
	/* Both timers gone before the default action (the end of nosco) is back. */
	if (soon_made)
		timer_delete(soon);
	soon_made = false;
	setitimer(ITIMER_REAL, &off, NULL);
	started = false;
	signal(SIGALRM, SIG_DFL);
}
