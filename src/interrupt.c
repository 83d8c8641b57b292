/* interrupt.c - the async-signal-safe flag behind Ctrl-C interruption. */
#include <signal.h>
#include "interrupt.h"

static volatile sig_atomic_t interrupt_flag = 0;

void lt_interrupt_request(void) { interrupt_flag = 1; }
int lt_interrupt_pending(void) { return interrupt_flag != 0; }
void lt_interrupt_clear(void) { interrupt_flag = 0; }
