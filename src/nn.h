/* nn.h - placeholder: the nn core lands with its issue. */
#ifndef LUNETTE_NN_H
#define LUNETTE_NN_H
#include "tensor.h"
#endif
