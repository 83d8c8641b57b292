-- readme_spec.lua - the README's 5-minute tour runs as printed: the block after the
-- `<!-- tour -->` marker is run by the lunette host in a temporary folder and must
-- write its figure.
local BUILD = os.getenv("LUNETTE_BUILD") or "build"
local lt = require "lunette"

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function tour_block(readme)
  local after = readme:match("<!%-%- tour %-%->(.*)")
  assert(after, "README.md has no <!-- tour --> marker")
  local code = after:match("```lua\n(.-)```")
  assert(code, "no ```lua block after the tour marker")
  return code
end

describe("README tour", function()
  it("runs as printed and draws its figure", function()
    local code = tour_block(slurp("README.md"))
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local f = assert(io.open(dir .. "/tour.lua", "w"))
    f:write(code)
    f:close()
    local host = BUILD:match("^/") and BUILD or (os.getenv("PWD") .. "/" .. BUILD)
    local p = assert(io.popen(("cd %s && LUNETTE_PROGRESS=0 %s/lunette tour.lua 2>&1; echo \"exit=$?\""):format(dir, host)))
    local out = p:read("a")
    p:close()
    assert.is_truthy(out:match("exit=0\n$"), out)
    assert.is_truthy(out:match("test accuracy"), out)
    local img = assert(lt.io.load(dir .. "/tour.png"))
    assert.are.equal(3, img:dim())
    assert.is_true(img:size(1) > 300 and img:size(2) > 300)
    os.execute("rm -rf " .. dir)
  end)
end)
