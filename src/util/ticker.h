/*
 * A periodic wake-up: SIGALRM every so often, with a handler that does
 * nothing, so that a blocking system call (waitpid) returns EINTR and the
 * caller gets a chance to do periodic work (commit the trace while the
 * program sleeps). Process-wide, like every signal disposition.
 */
#ifndef NOSCO_UTIL_TICKER_H
#define NOSCO_UTIL_TICKER_H

/* ticker_start - interrupt blocking system calls every ms milliseconds; 0 or -1 */
int ticker_start(unsigned ms);
/* ticker_stop - no more wake-ups */
void ticker_stop(void);

#endif
