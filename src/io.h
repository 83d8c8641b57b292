/* io.h - placeholder: the io core lands with its issue. */
#ifndef LUNETTE_IO_H
#define LUNETTE_IO_H
#include "tensor.h"
#endif
