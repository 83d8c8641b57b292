-- cuda_spec.lua: lunette.cuda on any machine. The backend builds and exports its ABI; loading
-- fails with a reason instead of crashing; without a GPU every public function raises the
-- no-device error; device mixing is refused naming both devices (with test tensors tagged
-- cuda over host memory); the caching allocator's bookkeeping against a fake device
-- (build/cuda_alloc_test). The GPU's own results are tests/cuda_gpu_spec.lua's.
local lt = require "lunette"
local BUILD = os.getenv("LUNETTE_BUILD") or "build"
local BACKEND = BUILD .. "/lunette_cuda.so"
local C = require "lunette._cuda"

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

-- The message of the error fn raises (fails the test when it raises none).
local function err_of(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

local HAVE_GPU = lt.cuda.is_available()

describe("cuda backend", function()
  it("is built when nvcc is found and exports the ABI's one symbol", function()
    if not exists(BACKEND) then
      return pending("no " .. BACKEND .. ": nvcc not found at build time (make CUDA=1)")
    end
    local out, code = sh("nm -D --defined-only " .. BACKEND)
    assert.equal(0, code, out)
    assert.truthy(out:match("%x+ T lt_cuda_api\n"), out)
    -- -fvisibility=hidden: nothing else of ours leaks (no ltcu_ or lt_cache_ symbols).
    assert.falsy(out:match(" ltcu_"), out)
    assert.falsy(out:match(" lt_cache_"), out)
  end)

  it("loads with dlopen and has lunette's ABI version", function()
    if not exists(BACKEND) then return pending("no " .. BACKEND) end
    local ok, why = C._probe(BACKEND)
    assert.is_true(ok, why)
  end)

  it("reports why a backend file cannot be used, without crashing", function()
    local ok, why = C._probe(BUILD .. "/no_such_backend.so")
    assert.is_false(ok)
    assert.truthy(why:find("cannot load " .. BUILD .. "/no_such_backend.so: ", 1, true), why)
    ok, why = C._probe(BUILD .. "/writeshim.so")
    assert.is_false(ok)
    assert.truthy(why:find("has no lt_cuda_api: not a lunette CUDA backend", 1, true), why)
  end)

  it("is not mapped by a script that does not ask for CUDA, and is once it asks", function()
    local host = BUILD .. "/lunette"
    local probe = "local n = 0 for l in io.lines('/proc/self/maps') do " ..
                  "if l:find('lunette_cuda', 1, true) or l:find('libcudart', 1, true) then " ..
                  "n = n + 1 end end io.write(n > 0 and 'mapped' or 'not mapped')"
    local out = sh(host .. " -e \"" .. probe .. "\"")
    assert.equal("not mapped", out)
    if not exists(BACKEND) then return end
    out = sh(host .. " -e \"lunette.cuda.is_available() " .. probe .. "\"")
    assert.equal("mapped", out)
  end)
end)

describe("cuda without a device", function()
  local cpu = lt.tensor({ { 1, 2 }, { 3, 4 } })

  -- Every public function of lunette.cuda with arguments a user would pass; the spec fails
  -- when a function is added without an entry here.
  local calls = {
    memory = {}, synchronize = {}, empty_cache = {}, device_name = {},
    empty = { 2, 3 }, zeros = { 2, 3 }, ones = { 2, 3 }, rand = { 4 }, randn = { 4 },
    to_device = { cpu },
  }
  -- Functions that never need a device, or take CUDA tensors (checked below).
  local no_device = { is_available = true, device_count = true, manual_seed = true,
                      is_tensor = true, cdist = true, eigh = true, knn = true,
                      fd_shrink = true, last_layer_gy = true, per_sample_grads = true,
                      per_sample_norms = true, projected_grads = true }

  it("says so: is_available() is false with the reason, device_count() is 0", function()
    if HAVE_GPU then return pending("a GPU is present: tests/cuda_gpu_spec.lua runs") end
    local ok, why = lt.cuda.is_available()
    assert.is_false(ok)
    assert.is_string(why)
    assert.truthy(#why > 10, why)
    local n, why2 = lt.cuda.device_count()
    assert.equal(0, n)
    assert.equal(why, why2)
  end)

  it("every public function raises 'no CUDA device (reason)' at the caller's line", function()
    if HAVE_GPU then return pending("a GPU is present") end
    local _, why = lt.cuda.is_available()
    for name, f in pairs(lt.cuda) do
      if not no_device[name] then
        assert.is_table(calls[name], "cuda." .. name .. " has no entry in this spec")
        local e = err_of(f, table.unpack(calls[name]))
        assert.truthy(e:find("no CUDA device (" .. why .. ")", 1, true), name .. ": " .. e)
        assert.truthy(e:find("cuda_spec.lua:%d+:"), name .. ": " .. e)
      end
    end
  end)

  it("t:cuda(), t:to('cuda'), t:to('cuda:1') and model:cuda() raise it too", function()
    if HAVE_GPU then return pending("a GPU is present") end
    local _, why = lt.cuda.is_available()
    local want = "cuda: no CUDA device (" .. why .. ")"
    assert.truthy(err_of(function() return cpu:cuda() end):find(want, 1, true))
    assert.truthy(err_of(function() return cpu:cuda(1) end):find(want, 1, true))
    assert.truthy(err_of(function() return cpu:to("cuda") end):find(want, 1, true))
    assert.truthy(err_of(function() return cpu:to("cuda:1") end):find(want, 1, true))
    local model = lt.nn.Sequential { lt.nn.Linear(2, 3), lt.nn.ReLU() }
    assert.truthy(err_of(function() return model:cuda() end):find(want, 1, true))
  end)

  it("a CPU tensor's cpu() and to('cpu') are the tensor itself", function()
    assert.equal(cpu, cpu:cpu())
    assert.equal(cpu, cpu:to("cpu"))
    assert.equal("cpu", cpu:device())
    assert.is_false(cpu:is_cuda())
    -- A dtype still converts through to().
    assert.equal("float64", cpu:to("float64"):dtype())
  end)

  it("rejects a bad device argument", function()
    assert.truthy(err_of(function() return cpu:to("cuda:x") end):find("device expected", 1, true))
    assert.truthy(err_of(lt.cuda.memory, "gpu"):find("device expected", 1, true))
  end)
end)

describe("cuda device checks (test tensors tagged cuda over host memory)", function()
  local cpu = lt.tensor({ { 1.5, 2, 3 }, { 4, 5, 6 } })
  local g0, g1 = C._fake(cpu, 0), C._fake(cpu, 1)

  it("have the CUDA tensor's descriptor methods", function()
    assert.equal("cuda:0", g0:device())
    assert.equal("cuda:1", g1:device())
    assert.is_true(g0:is_cuda())
    assert.same({ 2, 3 }, g0:size())
    assert.equal(3, g0:size(2))
    assert.equal(2, g0:dim())
    assert.equal(6, g0:numel())
    assert.equal("float32", g0:dtype())
    assert.same({ 3, 2 }, g0:t():size())
    assert.is_false(g0:t():is_contiguous())
    assert.same({ 2, 2 }, g0:narrow(2, 2, 2):size())
    assert.same({ 3, 2 }, g0:reshape(3, 2):size())
    assert.is_true(lt.cuda.is_tensor(g0))
    assert.is_false(lt.cuda.is_tensor(cpu))
  end)

  it("a CPU op given a CUDA tensor names both devices", function()
    local e = err_of(function() return cpu + g0 end)
    assert.truthy(e:find("bad argument #2 to 'add' (expected a tensor on cpu, got one on " ..
                         "cuda:0", 1, true), e)
    e = err_of(lt.matmul, g1, cpu)
    assert.truthy(e:find("bad argument #1 to 'matmul' (expected a tensor on cpu, got one on " ..
                         "cuda:1", 1, true), e)
    e = err_of(function() return cpu:mul(g0) end)
    assert.truthy(e:find("cuda:0", 1, true), e)
  end)

  it("a CUDA op given a CPU tensor or another GPU's tensor names both devices", function()
    local e = err_of(function() return g0 + cpu end)
    assert.truthy(e:find("bad argument #2 to 'add' (tensors on different devices: cuda:0 and " ..
                         "cpu)", 1, true), e)
    e = err_of(function() return g0:matmul(g1) end)
    assert.truthy(e:find("bad argument #2 to 'matmul' (tensors on different devices: cuda:0 " ..
                         "and cuda:1)", 1, true), e)
    e = err_of(lt.cuda.cdist, g1, g0)
    assert.truthy(e:find("(tensors on different devices: cuda:1 and cuda:0)", 1, true), e)
    for _, f in ipairs { lt.cuda.cdist, lt.cuda.knn, lt.cuda.eigh, lt.cuda.fd_shrink,
                         lt.cuda.per_sample_grads, lt.cuda.per_sample_norms,
                         lt.cuda.projected_grads } do
      e = err_of(f, cpu, cpu)
      assert.truthy(e:find("(expected a CUDA tensor, got one on cpu)", 1, true), e)
    end
    e = err_of(function() return g0:index_select(1, lt.tensor({ 5 })) end)
    assert.truthy(e:find("(index 5 out of range 1..2)", 1, true), e)
  end)

  it("never reach a device op with their host pointer", function()
    for _, f in ipairs { function() return g0 + g0 end, function() return g0:sum() end,
                         function() return g0:cpu() end, function() return g0:exp() end,
                         function() return lt.cuda.eigh(C._fake(lt.eye(3), 0)) end } do
      local e = err_of(f)
      assert.truthy(e:find("a test tensor tagged cuda (host memory)", 1, true), e)
    end
  end)

  it("raise a clear error for methods CUDA tensors lack, and read other fields as nil", function()
    local e = err_of(function() return g0:argsort() end)
    assert.truthy(e:find("'argsort' is not available for CUDA tensors yet", 1, true), e)
    assert.is_nil(g0.no_such_field)
  end)
end)

describe("cuda caching allocator (plain C against a fake device)", function()
  local bin = BUILD .. "/cuda_alloc_test"
  local cases = {
    reuse = "a repeated step reaches the device only the first time (no per-op malloc)",
    bookkeeping = "counts bytes in use, reserved, requested and the peaks",
    streams = "keeps free lists per stream",
    oom_retry = "retries after giving the cache back when the device is out of memory",
    rounding = "rounds to size classes and never hands out a block far too large",
    many = "finds every one of thousands of live blocks",
  }
  for name, what in pairs(cases) do
    it(what, function()
      if not exists(bin) then return pending("no " .. bin .. " (make all builds it)") end
      local out, code = sh(bin .. " " .. name)
      assert.equal("ok " .. name .. "\n", out)
      assert.equal(0, code)
    end)
  end
end)

describe("cuda kernels' per-element code on the CPU (src/cuda/cuda_device.h)", function()
  local bin = BUILD .. "/cuda_kernels_test"
  local cases = {
    philox_kat = "Philox-4x32-10 matches Random123's known-answer vectors",
    random = "rand and randn: range, moments, one stream per (seed, counter)",
    offsets = "strided and broadcast offsets",
    topk = "top-k by insertion equals a stable sort, ties and NaN included",
  }
  for name, what in pairs(cases) do
    it(what, function()
      if not exists(bin) then return pending("no " .. bin .. " (make all builds it)") end
      local out, code = sh(bin .. " " .. name)
      assert.equal("ok " .. name .. "\n", out)
      assert.equal(0, code)
    end)
  end
end)
