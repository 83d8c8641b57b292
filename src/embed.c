/* embed.c - placeholder: the embed core lands with its issue. */
#include "embed.h"
