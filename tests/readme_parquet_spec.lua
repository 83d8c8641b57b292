-- readme_parquet_spec.lua - the README's Hugging Face Parquet example runs as printed: the block
-- after the `<!-- parquet -->` marker is run by the lunette host with HOME pointing at a
-- temporary folder holding two shards in the Hugging Face cache layout (written here with
-- io.write_parquet: an "embedding" list<float> column and a dictionary "label" column).
local BUILD = os.getenv("LUNETTE_BUILD") or "build"
local lt = require "lunette"

describe("README Parquet example", function()
  it("runs as printed on two shards", function()
    local readme = assert(io.open("README.md", "rb")):read("a")
    local after = assert(readme:match("<!%-%- parquet %-%->(.*)"), "README has no <!-- parquet --> marker")
    local code = assert(after:match("```lua\n(.-)```"), "no ```lua block after the parquet marker")
    local home = os.tmpname()
    os.remove(home)
    local dir = home .. "/.cache/huggingface/hub/datasets--org--name/snapshots/main/data/"
    assert(os.execute("mkdir -p " .. dir))
    for s = 0, 1 do
      local n = 1200 + s * 300
      local emb = lt.randn(n, 16)
      local codes = (lt.arange(0, n, 1, "int64") % 3) + 1
      assert(lt.io.write_parquet(("%strain-0000%d-of-00002.parquet"):format(dir, s),
        { embedding = emb, label = { codes = codes, levels = { "ant", "bee", "cow" } } },
        { row_group_rows = 500 }))
    end
    local f = assert(io.open(home .. "/example.lua", "w"))
    f:write(code)
    f:close()
    local host = BUILD:match("^/") and BUILD or (os.getenv("PWD") .. "/" .. BUILD)
    local p = assert(io.popen(("cd %s && HOME=%s LUNETTE_PROGRESS=0 %s/lunette example.lua 2>&1; echo \"exit=$?\"")
      :format(home, home, host)))
    local out = p:read("a")
    p:close()
    os.execute("rm -rf " .. home)
    assert.is_truthy(out:match("exit=0\n$"), out)
    assert.equal("1200\tembedding, label\n2700\tant\n16\nexit=0\n", out)
  end)
end)
