/* plot.h - placeholder: the plot core lands with its issue. */
#ifndef LUNETTE_PLOT_H
#define LUNETTE_PLOT_H
#include "tensor.h"
#endif
