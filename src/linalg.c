/* linalg.c - placeholder until the linalg module lands. */
#include "linalg.h"
