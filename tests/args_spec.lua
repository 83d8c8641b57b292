-- args_spec.lua: lunette.args, command-line options declared with their defaults.
local lt = require "lunette"
local args = require "lunette.args"

local SPEC = { "demo.lua [options]", n = { 0, "rows" }, frac = { 0.05, "share" }, data = "fmnist",
               full = false, train_n = 10 }

describe("lunette.args", function()
  it("is lt.args and returns the defaults without arguments", function()
    assert.are.equal(args, lt.args)
    local o = lt.args(SPEC, {})
    assert.are.same({ 0, 0.05, "fmnist", false, 10 }, { o.n, o.frac, o.data, o.full, o.train_n })
    assert.are.equal("integer", math.type(o.n))
  end)

  it("reads --name value, --name=value, flags, dashes and positional words", function()
    local o = lt.args(SPEC, { "in.txt", "--n", "5", "--frac=0.5", "--full", "--data", "cifar", "--train-n", "7",
                              "--", "--n" })
    assert.are.same({ 5, 0.5, true, "cifar", 7 }, { o.n, o.frac, o.full, o.data, o.train_n })
    assert.are.same({ "in.txt", "--n" }, { o[1], o[2] })
    assert.are.equal("float", math.type(lt.args(SPEC, { "--frac", "1" }).frac))
    assert.is_false(lt.args({ full = true }, { "--no-full" }).full)
    assert.is_false(lt.args({ full = true }, { "--full=false" }).full)
  end)

  it("names the option in errors", function()
    assert.has_error(function() lt.args(SPEC, { "--m" }) end,
      "bad argument to 'args' (unknown option '--m'; known: --data --frac --full --n --train-n)")
    -- a near miss names the option meant
    assert.has_error(function() lt.args(SPEC, { "--trian-n", "3" }) end,
      "bad argument to 'args' (unknown option '--trian-n' (did you mean '--train-n'?))")
    assert.has_error(function() lt.args(SPEC, { "--ful=true" }) end,
      "bad argument to 'args' (unknown option '--ful=true' (did you mean '--full'?))")
    assert.has_error(function() lt.args(SPEC, { "--n", "2.5" }) end,
      "bad argument to 'args' (option --n expects an integer, got '2.5')")
    assert.has_error(function() lt.args(SPEC, { "--frac", "x" }) end,
      "bad argument to 'args' (option --frac expects a number, got 'x')")
    assert.has_error(function() lt.args(SPEC, { "--full=maybe" }) end,
      "bad argument to 'args' (option --full expects true or false, got 'maybe')")
    assert.has_error(function() lt.args(SPEC, { "--n" }) end, "bad argument to 'args' (option --n needs a value)")
    assert.has_error(function() lt.args({ x = {} }, {}) end,
      "bad argument to 'args' (option 'x' needs a number, string or boolean default, got nil)")
    assert.has_error(function() lt.args("n") end, "bad argument to 'args' (spec table expected, got string)")
  end)

  it("writes a usage text with every option and its default", function()
    local u = args.usage(SPEC)
    assert.are.equal("demo.lua [options]", u:match("^[^\n]*"))
    assert.truthy(u:find("%-%-frac NUM%s+share %(default 0.05%)"))
    assert.truthy(u:find("%-%-train%-n INT%s+%(default 10%)"))
    assert.truthy(u:find('%-%-data STR%s+%(default "fmnist"%)'))
    assert.truthy(u:find("%-%-full%s+%(default false%)"))
  end)

  it("prints the usage and exits on --help", function()
    local host = (os.getenv("LUNETTE_BUILD") or package.cpath:match("([^;]*)/%?%.so") or "build") .. "/lunette"
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write('lt.args({"usage line", k = 1}); print("not reached")')
    f:close()
    local p = io.popen(("%s %s --help"):format(host, script))
    local out = p:read("a")
    local ok = p:close()
    os.remove(script)
    assert.is_true(ok)
    assert.truthy(out:find("^usage line\n  %-%-k INT"))
  end)
end)
