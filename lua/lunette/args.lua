-- lunette.args: command-line options for scripts, declared once with their defaults.
--
--   local opt = lt.args {
--     "sage_feature_space.lua [options]: the SAGE feature-space analysis",   -- usage line
--     data = { "fashion_mnist", "fashion_mnist | cifar100" },               -- {default, help}
--     fraction = { 0.05, "share of the training set kept" },
--     epochs = 1, full = false, weights = { "", "a torch state dict (.pt)" },
--   }
--   -- lunette script.lua --data cifar100 --fraction=0.1 --full --no-progress file1 file2
--   -- opt.data == "cifar100", opt.fraction == 0.1, opt.full == true, opt[1] == "file1"
--
-- Each option's type is its default's: integer, float, string or boolean. Dashes
-- in names are underscores in the table (--train-n sets opt.train_n).
local M = {}

local function fail(msg, level) error("bad argument to 'args' (" .. msg .. ")", level) end

local function kind(v)
  if math.type(v) == "integer" then return "integer" end
  if math.type(v) == "float" then return "number" end
  return type(v)
end

-- The options of a spec: name -> {default =, help =, kind =}.
local function parse_spec(spec)
  local opts = {}
  for name, v in pairs(spec) do
    if type(name) == "string" then
      local default, help = v, nil
      if type(v) == "table" then default, help = v[1], v[2] end
      local k = kind(default)
      if k ~= "integer" and k ~= "number" and k ~= "string" and k ~= "boolean" then
        fail(("option '%s' needs a number, string or boolean default, got %s"):format(name, k), 4)
      end
      if help ~= nil and type(help) ~= "string" then fail(("help of option '%s' must be a string"):format(name), 4) end
      opts[name] = { default = default, help = help, kind = k }
    elseif name ~= 1 then
      fail("spec entries are name = default or name = {default, help}, and [1] = usage line", 4)
    end
  end
  return opts
end

-- usage(spec) -> the text --help prints: the usage line, then one line per option
-- with its default, in name order.
function M.usage(spec)
  if type(spec) ~= "table" then fail("spec table expected, got " .. type(spec), 3) end
  local opts, names = parse_spec(spec), {}
  for name in pairs(opts) do names[#names + 1] = name end
  table.sort(names)
  local lines = { spec[1] or "options:" }
  for _, name in ipairs(names) do
    local o = opts[name]
    local flag = "--" .. name:gsub("_", "-") .. (o.kind == "boolean" and "" or " " .. o.kind:upper():sub(1, 3))
    local def = o.kind == "string" and ("%q"):format(o.default) or tostring(o.default)
    lines[#lines + 1] = ("  %-22s %s (default %s)"):format(flag, o.help or "", def)
  end
  return table.concat(lines, "\n")
end

local function convert(o, name, text, level)
  if o.kind == "string" then return text end
  if o.kind == "boolean" then
    if text == "true" or text == "1" or text == "yes" then return true end
    if text == "false" or text == "0" or text == "no" then return false end
    fail(("option --%s expects true or false, got '%s'"):format(name, text), level)
  end
  local v = math.tointeger(tonumber(text)) or tonumber(text)
  if v == nil or (o.kind == "integer" and math.type(v) ~= "integer") then
    fail(("option --%s expects %s, got '%s'"):format(name, o.kind == "integer" and "an integer" or "a number", text), level)
  end
  return o.kind == "number" and v + 0.0 or v
end

-- args(spec [, argv = arg]) -> options table
-- Reads --name value, --name=value, --flag / --no-flag (booleans) and positional
-- words (opt[1], opt[2], ...; everything after "--" is positional) from argv,
-- starting from the defaults of spec (name = default or name = {default, help};
-- spec[1] is the usage line). --help or -h prints the usage and exits. An unknown
-- option, a missing value or a value of the wrong type is an error naming the
-- option.
function M.args(spec, argv)
  if type(spec) ~= "table" then fail("spec table expected, got " .. type(spec), 3) end
  argv = argv or _G.arg or {}
  if type(argv) ~= "table" then fail("argv must be a table of strings", 3) end
  local opts = parse_spec(spec)
  local out = {}
  for name, o in pairs(opts) do out[name] = o.default end
  local i, rest = 1, false
  while argv[i] ~= nil do
    local a = tostring(argv[i])
    if rest or a:sub(1, 2) ~= "--" and a ~= "-h" then
      out[#out + 1] = a
    elseif a == "--" then
      rest = true
    elseif a == "--help" or a == "-h" then
      print(M.usage(spec))
      os.exit(0)
    else
      local body = a:sub(3)
      local key, value = body:match("^([^=]+)=(.*)$")
      key = (key or body):gsub("-", "_")
      local neg = value == nil and opts[key] == nil and key:match("^no_(.+)$")
      if neg and opts[neg] and opts[neg].kind == "boolean" then
        out[neg] = false
      else
        local o = opts[key]
        if not o then
          local known = {}
          for n in pairs(opts) do known[#known + 1] = "--" .. n:gsub("_", "-") end
          table.sort(known)
          -- the names compared without their dashes: "--m" is not a near miss of "--n"
          local bare = {}
          for j, n in ipairs(known) do bare[j] = n:sub(3) end
          local near = require("lunette.options").closest(a:match("^%-%-([^=]*)"), bare)
          if near then fail(("unknown option '%s' (did you mean '--%s'?)"):format(a, near), 3) end
          fail(("unknown option '%s'; known: %s"):format(a, table.concat(known, " ")), 3)
        end
        if value == nil and o.kind == "boolean" then
          value = "true"
        elseif value == nil then
          i = i + 1
          value = argv[i]
          if value == nil then fail(("option %s needs a value"):format(a), 3) end
        end
        out[key] = convert(o, key:gsub("_", "-"), tostring(value), 4)
      end
    end
    i = i + 1
  end
  return out
end

return setmetatable(M, { __call = function(_, spec, argv) return M.args(spec, argv) end })
