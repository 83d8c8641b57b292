/* interrupt.c - the async-signal-safe flag behind Ctrl-C interruption. */
#include <signal.h>
#include "interrupt.h"

/* volatile sig_atomic_t is the type a signal handler may write and the main flow then read,
 * by the C standard's rules. */
static volatile sig_atomic_t interrupt_flag = 0;

void lt_interrupt_request(void) { interrupt_flag = 1; }
int lt_interrupt_pending(void) { return interrupt_flag != 0; }
void lt_interrupt_clear(void) { interrupt_flag = 0; }
