/* io.c - placeholder: the io core lands with its issue. */
#include "io.h"
