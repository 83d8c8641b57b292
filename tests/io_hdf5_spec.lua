-- io_hdf5_spec.lua: read_hdf5/open_hdf5 against a file h5py wrote (scripts/fixtures/hdf5.py,
-- values in h5py.lua), write_hdf5 read back by lunette and, when /usr/bin/python3 has h5py, by
-- h5py; truncated and garbage files give nil, message.
local lt = require "lunette"
local lio = lt.io
local H = "tests/fixtures/hdf5/"
local EXP = dofile(H .. "h5py.lua")

local function tmpname(ext)
  local p = os.tmpname()
  os.remove(p)
  return p .. (ext or ".h5")
end

local function has_h5py()
  local f = io.open("/usr/bin/python3")
  if not f then return false end
  f:close()
  return os.execute("/usr/bin/python3 -c 'import h5py' 2>/dev/null") == true
end

describe("read_hdf5 on a file h5py wrote", function()
  local d, attrs = assert(lio.read_hdf5(H .. "h5py.h5"))

  it("reads numbers with their dtypes, exactly", function()
    assert.equal("float32", d.emb:dtype())
    assert.same(EXP.emb, d.emb:totable()) -- float32 values, as h5py stored them
    assert.equal("int64", d.ids:dtype()) -- a gzip-compressed, chunked dataset
    assert.same(EXP.ids, d.ids:totable())
    assert.equal("float64", d["grp/sub/cube"]:dtype())
    assert.same(EXP.cube, d["grp/sub/cube"]:totable())
    assert.equal("uint8", d.img:dtype())
    assert.same(EXP.img, d.img:totable())
    assert.equal("int32", d.i16:dtype())
    assert.same(EXP.i16, d.i16:totable())
    assert.equal("int64", d.u32:dtype())
    assert.same(EXP.u32, d.u32:totable())
    assert.equal("float32", d.f16:dtype())
    assert.same(EXP.f16, d.f16:totable())
    assert.equal("bool", d.flags:dtype())
    assert.same({ true, false, true }, d.flags:totable())
    assert.same({}, d.scalar:size())
    assert.equal(2.5, d.scalar:item())
  end)

  it("reads variable-length UTF-8 and fixed-length byte strings", function()
    assert.same(EXP.labels, d.labels)
    assert.same(EXP.fixed, d.fixed)
  end)

  it("reads attributes of the root, groups and datasets", function()
    assert.equal("resnet18", attrs["/"].model)
    assert.equal(0.125, attrs["/"].lr)
    assert.equal(30, attrs["/"].epochs)
    assert.is_true(math.type(attrs["/"].epochs) == "integer")
    assert.same({ 0.25, 0.5, 0.75 }, attrs["/"].mean:totable())
    assert.equal(1, attrs.emb.normalized)
    assert.same({ "a", "b" }, attrs.emb.names)
    assert.equal("a group", attrs.grp.note)
  end)

  it("picks datasets, and open_hdf5 reads slabs of rows", function()
    local only = assert(lio.read_hdf5(H .. "h5py.h5", { datasets = { "ids" } }))
    assert.is_nil(only.emb)
    assert.same(EXP.ids, only.ids:totable())
    local f = assert(lio.open_hdf5(H .. "h5py.h5"))
    assert.same({ "emb", "f16", "fixed", "flags", "grp/sub/cube", "i16", "ids", "img", "labels",
                  "scalar", "u32" }, f.datasets)
    assert.same({ "grp", "grp/sub" }, f.groups)
    assert.same({ shape = { 20, 8 }, dtype = "float32" }, f:info("emb"))
    assert.same({ shape = { 20 }, dtype = "string" }, f:info("labels"))
    local slab = assert(f:read("emb", 3, 5))
    assert.same({ EXP.emb[3], EXP.emb[4], EXP.emb[5] }, slab:totable())
    assert.same({ EXP.ids[20] }, f:read("ids", 20, 20):totable())
    local none, err = f:read("emb", 20, 22)
    assert.is_nil(none)
    assert.matches("rows 20..22 are outside 'emb' (20 rows)", err, 1, true)
    assert.equal("resnet18", f:attrs("/").model)
    assert.is_true(lio.load(H .. "h5py.h5").emb:equal(d.emb))
  end)

  it("bad options and names raise naming read_hdf5", function()
    assert.error_matches(function() lio.read_hdf5(H .. "h5py.h5", { datasets = { "nope" } }) end,
      "bad argument #2 to 'read_hdf5' (datasets[1]: no dataset 'nope')", 1, true)
    assert.error_matches(function() lio.read_hdf5(H .. "h5py.h5", { dataset = { "emb" } }) end,
      "dataset", 1, true)
  end)
end)

describe("write_hdf5", function()
  it("round-trips datasets, groups and attributes through lunette and h5py", function()
    local p = tmpname()
    local emb = lt.randn(6, 4)
    assert(lio.write_hdf5(p, {
      emb = emb, ["meta/labels"] = { "x", "ÿ", "" }, ids = lt.arange(6):long(), note = "hello",
      half = lt.tensor({ 0.5, 1 }):half(), flag = lt.tensor({ 1, 0, 1 }):bool(),
    }, { attrs = { ["/"] = { lr = 0.5, epochs = 3, model = "mlp", mean = lt.tensor({ 1, 2 }) },
                   emb = { names = { "a", "b" } }, meta = { ok = true } } }))
    local d, attrs = assert(lio.read_hdf5(p))
    assert.is_true(d.emb:equal(emb))
    assert.same({ "x", "ÿ", "" }, d["meta/labels"])
    assert.same({ 0, 1, 2, 3, 4, 5 }, d.ids:totable())
    assert.equal("hello", d.note)
    assert.equal("float32", d.half:dtype())
    assert.equal("bool", d.flag:dtype())
    assert.same({ true, false, true }, d.flag:totable())
    assert.equal(0.5, attrs["/"].lr)
    assert.equal(3, attrs["/"].epochs)
    assert.equal("mlp", attrs["/"].model)
    assert.same({ "a", "b" }, attrs.emb.names)
    assert.equal(1, attrs.meta.ok)
    if has_h5py() then
      local py = io.popen("/usr/bin/python3 -c 'import h5py,sys; f=h5py.File(sys.argv[1]); "
        .. "print(f[\"emb\"].shape, f[\"emb\"].dtype, f[\"flag\"].dtype, [s.decode() for s in f[\"meta/labels\"][:]], "
        .. "int(f[\"ids\"][5]), f.attrs[\"model\"], float(f.attrs[\"lr\"]), list(f[\"emb\"].attrs[\"names\"]))' " .. p)
      local out = py:read("a")
      py:close()
      assert.equal("(6, 4) float32 bool ['x', 'ÿ', ''] 5 mlp 0.5 ['a', 'b']\n", out)
    end
    os.remove(p)
  end)

  it("refuses bad values (raising) and leaves no file on failure", function()
    local p = tmpname()
    assert.error_matches(function() lio.write_hdf5(p, { a = { "x", 1 } }) end,
      "bad argument #2 to 'write_hdf5' ('a': entry 2 is a number, not a string)", 1, true)
    assert.error_matches(function() lio.write_hdf5(p, { a = 1 }) end,
      "bad argument #2 to 'write_hdf5' ('a' must be a tensor, a string or a string array, got number)", 1, true)
    assert.error_matches(function() lio.write_hdf5(p, { a = { "x\0y" } }) end,
      "'a': entry 1 holds a NUL byte", 1, true)
    assert.error_matches(function() lio.write_hdf5(p, { ["/a"] = lt.zeros(1) }) end,
      "without a leading '/'", 1, true)
    assert.error_matches(function() lio.write_hdf5(p, { a = lt.zeros(1) }, { atrs = {} }) end,
      "atrs", 1, true)
    -- an attribute on an object that is not there: libhdf5 refuses, nil + message, no file
    local ok, err = lio.write_hdf5(p, { a = lt.zeros(1) }, { attrs = { b = { k = 1 } } })
    assert.is_nil(ok)
    assert.matches("cannot write attribute 'k' of 'b'", err, 1, true)
    assert.is_nil(io.open(p))
    for name in io.popen("ls -a " .. p:match("^(.*)/") .. " 2>/dev/null"):lines() do
      assert.is_nil(name:find(p:match("[^/]+$") .. ".lunette-tmp", 1, true))
    end
  end)
end)

describe("read_hdf5 on hostile files", function()
  it("gives nil, 'path: reason' for truncated and garbage files", function()
    local src = assert(io.open(H .. "h5py.h5", "rb")):read("a")
    local cases = {
      { "empty", "" },
      { "garbage", ("\0\1garbage\255"):rep(100) },
      { "magic only", "\137HDF\r\n\26\n" },
      { "truncated at 512", src:sub(1, 512) },
      { "truncated at 4096", src:sub(1, 4096) },
      { "truncated before the end", src:sub(1, #src - 100) },
    }
    for _, c in ipairs(cases) do
      local p = tmpname()
      local f = assert(io.open(p, "wb"))
      f:write(c[2])
      f:close()
      local d, err = lio.read_hdf5(p)
      if d == nil then
        assert.matches(p .. ": ", err, 1, true)
      else
        -- libhdf5 may still find every object it needs before the cut; what it reads is right
        assert.same(EXP.ids, d.ids:totable(), c[1])
      end
      os.remove(p)
    end
    local d, err = lio.read_hdf5("/nonexistent/x.h5")
    assert.is_nil(d)
    assert.matches("/nonexistent/x.h5: ", err, 1, true)
  end)
end)
