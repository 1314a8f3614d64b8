/*
 * A periodic wake-up: SIGALRM every so often, with a handler that does
 * nothing, so that a blocking system call (waitpid) returns EINTR and the
 * caller gets a chance to do periodic work (commit the trace while the
 * program sleeps, redraw the progress line). A tick that lands while the
 * caller waits on something else (a condition variable, which SIGALRM
 * does not interrupt) is not lost: ticker_ticked() says it came.
 * Process-wide, like every signal disposition.
 */
#ifndef NOSCO_UTIL_TICKER_H
#define NOSCO_UTIL_TICKER_H

#include <stdbool.h>

/* ticker_start - interrupt blocking system calls every ms milliseconds; 0 or -1 */
int ticker_start(unsigned ms);
/* ticker_ticked - has a tick come since the last call? */
bool ticker_ticked(void);
/*
 * ticker_soon - one more wake-up, of the calling thread alone, in us
 * microseconds (one at a time: a second call moves it); 0 or -1. Only
 * between ticker_start() and ticker_stop(): SIGALRM's handler is set.
 */
int ticker_soon(unsigned us);
/* ticker_stop - no more wake-ups */
void ticker_stop(void);

#endif
