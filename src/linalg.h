/* linalg.h - matrix products (cblas) and decompositions (LAPACKE) (core, no Lua). */
#ifndef LUNETTE_LINALG_H
#define LUNETTE_LINALG_H
#include "tensor.h"
#endif
