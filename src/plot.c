/* plot.c - placeholder: the plot core lands with its issue. */
#include "plot.h"
