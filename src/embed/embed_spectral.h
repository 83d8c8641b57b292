/* embed_spectral.h - graph components and Laplacian eigenvectors for spectral layouts (core, no
 * Lua). */
#ifndef LUNETTE_EMBED_SPECTRAL_H
#define LUNETTE_EMBED_SPECTRAL_H
#include "embed/embed.h"

/* Labels the connected components of the symmetric graph G (label[i] in
 * 0..count-1, numbered in order of their smallest vertex) and returns the
 * count, or -1 when memory runs out (label then holds nothing useful). */
int64_t lt_graph_components(const LtCsr *G, int32_t *label);

/* The eigenvectors of the 2nd..(dim+1)th smallest eigenvalues of the
 * normalised Laplacian I - D^-1/2 G D^-1/2 of a connected symmetric graph
 * with positive weights (n >= dim + 2), as umap-learn's spectral_layout:
 * Lanczos with full reorthogonalisation on D^-1/2 G D^-1/2 with the trivial
 * eigenvector D^1/2 1 projected out, explicitly restarted until the Ritz
 * residuals fall below 1e-5 (or 12 restarts). Writes out [n x dim], unit
 * columns, each signed so that its entry of largest magnitude is positive.
 * Every sum runs in a fixed order: the result does not depend on the thread
 * count. Returns LT_OK, LT_EVALUE (a vertex of zero degree), LT_ENOMEM,
 * LT_ELAPACK or LT_EINTR. */
LtStatus lt_spectral_embedding(const LtCsr *G, int dim, double *out);

#endif
