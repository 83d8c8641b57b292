-- lunette-0.1.0-1.rockspec: lunette as a Lua module for LuaRocks users. `luarocks make` in a
-- clone builds lunette.so with the Makefile (its `rock-install` target puts it in the tree);
-- then `require "lunette"` works in the tree's lua5.4. The Debian packages the Makefile needs
-- (scripts/deps.sh core) must be installed: LuaRocks does not install C libraries.
rockspec_format = "3.0"
package = "lunette"
version = "0.1.0-1"
source = {
  url = "git+file:///lunette", -- `luarocks make` builds the clone it runs in and fetches nothing
}
description = {
  summary = "Tensors, neural models, sketches, embeddings and Cairo plots for Lua 5.4",
  detailed = [[
lunette is a scientific workbench for machine-learning research: fast primitives for tensors,
neural models with per-sample gradients, Frequent Directions sketches, data-subset selection,
embeddings (PCA, t-SNE, UMAP) and publication-quality plots, as one C module for Lua 5.4.
]],
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
build = {
  type = "make",
  build_target = "build/lunette.so",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LUA = "$(LUA)",
    LUA_INC = "-I$(LUA_INCDIR)",
  },
  install_target = "rock-install",
  install_variables = {
    INST_LIBDIR = "$(LIBDIR)",
  },
}
