/* interrupt.h - cooperative interruption of long-running core kernels (Ctrl-C). */
#ifndef LUNETTE_INTERRUPT_H
#define LUNETTE_INTERRUPT_H

/* The host's SIGINT and SIGTERM handlers call lt_interrupt_request(); long
 * core loops, and every file writer (atomic.h), poll lt_interrupt_pending()
 * every few million elements and return LT_EINTR; the binding that called
 * them clears the flag and raises the Lua error "interrupted!". This flag
 * and atomic.c's registry of temporaries are the only process-wide mutable
 * state in the core: a signal handler can reach nothing else. */
void lt_interrupt_request(void);

/* The Lua registry field (a boolean) that progress bars (lunette.data) set
 * while they leave stderr's last line unfinished, and clear once they end
 * it. The host ends that line before it reports an error, so that the
 * message of an interrupt (or any error raised under a bar) starts on a
 * line of its own. A per-state registry field, not C state. */
#define LT_OPEN_LINE_KEY "lunette.stderr_line_open"
int lt_interrupt_pending(void);
void lt_interrupt_clear(void);

#endif
