/* host.c - placeholder until the host lands. */
#include "lunette.h"
int main(void) { return 0; }
