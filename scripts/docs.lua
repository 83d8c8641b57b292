-- docs.lua [OUT]: writes docs/API.md (or OUT) from the doc comments embedded in lunette
-- (lunette.doc, the text help() shows). Run by `make docs` under the built host.
local doc = require "lunette.doc"
local path = arg[1] or "docs/API.md"
local f = assert(io.open(path .. ".tmp", "w"))
f:write(doc.markdown(), "\n")
f:close()
assert(os.rename(path .. ".tmp", path))
local n, p = #doc.index().list, #doc.problems()
io.stderr:write(("docs: %s, %d public names, %d without a proper doc\n"):format(path, n, p))
