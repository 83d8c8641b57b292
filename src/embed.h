/* embed.h - placeholder: the embed core lands with its issue. */
#ifndef LUNETTE_EMBED_H
#define LUNETTE_EMBED_H
#include "tensor.h"
#endif
