/* embed_umap_init.h - UMAP's start layout: spectral (per connected component), random or given
 * (core, no Lua). */
#ifndef LUNETTE_EMBED_UMAP_INIT_H
#define LUNETTE_EMBED_UMAP_INIT_H
#include "embed/embed_umap.h"

/* Writes the start of the layout into Y [n x dim] as umap-learn's
 * simplicial_set_embedding: spectral = the Laplacian eigenvectors of G
 * (components laid out apart: their placement from the component
 * centroids of X, PCA when there are more than 2 dim of them, else on
 * +-axes), scaled to a maximum of 10 and jittered by N(0, 1e-4); random =
 * uniform in [-10, 10]; given = Y as it is. Then every column is rescaled
 * to [0, 10]. A component the eigen-solver cannot lay out (fewer than
 * 2 dim points, or a failed solve) goes to random inside its box.
 * info->spectral says whether eigenvectors placed any component.
 * Sets info->components. Returns LT_OK, LT_ENOMEM or LT_EINTR. */
LtStatus lt_umap_initial_layout(const float *X, int64_t n, int64_t d, const LtCsr *G,
                                const LtUmapOptions *o, float *Y, LtUmapInfo *info);

#endif
