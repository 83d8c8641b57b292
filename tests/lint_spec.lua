-- lint_spec.lua: scripts/lint.lua passes on src/ and catches what it exists to catch.
local function run(args)
  local p = io.popen("lua5.4 scripts/lint.lua " .. args .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("a")
  p:close()
  return out, tonumber(out:match("rc=(%d+)%s*$"))
end

describe("scripts/lint.lua", function()
  it("passes on the sources", function()
    local out, rc = run("")
    assert.equal(0, rc, out)
  end)

  -- issue 13 (4): luaL_error(L, "... %zu ...") raised "invalid option '%z'
  -- to 'lua_pushfstring'" instead of its message
  it("rejects conversions lua_pushfstring does not know", function()
    local base = os.tmpname()
    local path = base .. ".c"
    local f = assert(io.open(path, "w"))
    f:write([[
static void fine(lua_State *L) {
  luaL_error(L, "%s: %d of %I at %p (%f%%) %c %U", "a", 1, 2, p, 1.0, 'x', 9); }
static void bad(lua_State *L, size_t n) {
  luaL_error(L, "tensor too large (%zu bytes)", n);
  lua_pushfstring(L, "%lld rows", (long long)n);
  luaL_error(L,
             "ratio %.3f "
             "or %g", 1.0, 2.0);
  lua_pushfstring(L, "%" PRId64, n);
  lua_pushfstring(L, message);
}
]])
    f:close()
    local out, rc = run(path)
    os.remove(path)
    os.remove(base)
    assert.equal(1, rc, out)
    for _, want in ipairs {
      ":4: luaL_error format uses '%zu'",
      ":5: lua_pushfstring format uses '%lld'",
      ":6: luaL_error format uses '%.3f'",
      ":9: lua_pushfstring format uses a macro",
      ":10: lua_pushfstring format uses a format that is not a string literal",
    } do
      assert.truthy(out:find(want, 1, true), ("lint output lacks %q:\n%s"):format(want, out))
    end
    assert.falsy(out:find(":[12]:"), out)
  end)
end)
