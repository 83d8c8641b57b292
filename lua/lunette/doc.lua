-- lunette.doc: help() and docs/API.md from the doc comments of the embedded façades.
--
-- A doc is a block of `--` lines at the start of a line, directly above the
-- definition it documents (`function M.name(`, `function Class:name(`,
-- `M.name = ...`); its first line is the call signature, the rest one
-- paragraph. Functions written in C and exposed as they are (tensor methods,
-- lunette._xxx functions copied in a loop) are documented by a free-standing
-- block in the façade that exposes them, whose first line starts with `--- `:
-- its leading signature lines name the functions it documents
-- (`--- abs(t) -> Tensor` then `-- abs_(t) -> t` covers both). The first
-- block of a file is the module summary.
--
-- A function value finds its doc by where it is defined (Lua functions:
-- debug.getinfo's line), else by the names it has in the lunette tables,
-- which are walked (loading every module) on the first help() call only.
local source = require "lunette._source"

local M = {}

-- The modules, in the order docs/API.md lists them; modules added later
-- (an embedded lunette.x that lunette.x loads) follow in alphabetical order.
M.MODULES = { "tensor", "random", "linalg", "io", "data", "nn", "sketch", "select", "embed", "plot",
              "dist" }
do
  local known, lunette = {}, require "lunette"
  for _, m in ipairs(M.MODULES) do known[m] = true end
  for _, f in ipairs(source()) do
    local m = f:match("^lunette%.([%w]+)$")
    if m and not known[m] and m ~= "init" and m ~= "doc" and type(lunette[m]) == "table" then
      known[m] = true
      M.MODULES[#M.MODULES + 1] = m
    end
  end
end
local INTERNAL = { ["nn.kernels"] = true } -- public tables that only the specs use

---------------------------------------------------------------------------
-- parsing
---------------------------------------------------------------------------

local function is_comment(l) return l:match("^%-%-") and not l:match("^%-%-%-%-+%s*$") end
local function strip(l) return (l:gsub("^%-%-%-?%s?", "", 1)) end

-- The (owner, sep, name) targets of a public definition line: `function
-- A.b(`, `function A:b(`, `A.b = ...`, `A.b, C.d = ...`; {} for anything else.
local function definitions(l)
  local owner, sep, name = l:match("^function%s+([%w_.]+)([.:])([%w_]+)%s*%(")
  if name then return { { owner, sep, name } } end
  local lhs = l:match("^([%w_.]+%.[%w_]+%s*[%w_.,%s]*)=[^=]")
  local out = {}
  for target in (lhs or ""):gmatch("[^,]+") do
    owner, name = target:match("^%s*([%w_.]+)%.([%w_]+)%s*$")
    if not name then return {} end
    out[#out + 1] = { owner, ".", name }
  end
  return out
end

-- owner, sep, name of a signature line ("t:sum(dim) -> ...", "fd{ell = ...}").
local function signature(l)
  local owner, sep, name = l:match("^([%w_]+)([.:])([%w_]+)%s*[%(%{]")
  if name then return owner, sep, name end
  name = l:match("^([%w_]+)%s*[%(%{]")
  if name then return nil, nil, name end
end
M.signature = signature

-- How many more brackets ( { [ l opens than it closes.
local function bracket_depth(l)
  local d = 0
  for c in l:gmatch("[%(%)%{%}%[%]]") do d = d + (("({["):find(c, 1, true) and 1 or -1) end
  return d
end

-- An entry: its signature lines (names), then prose. A signature whose brackets are still
-- open at the end of its line goes on over the next lines (e.sig_lines counts them all), so
-- a long option list or return value stays one signature.
local function new_entry(file, lines, line)
  local e = { file = file, lines = lines, line = line, names = {}, sig_lines = 0 }
  local depth = 0
  for i, l in ipairs(lines) do
    if depth <= 0 then
      local owner, sep, name = signature(l)
      if not name then break end
      e.names[#e.names + 1] = { owner = owner, sep = sep, name = name, line = i }
      depth = 0
    end
    depth = depth + bracket_depth(l)
    e.sig_lines = i
  end
  return e
end

-- Parses one façade's source: header lines, entries (in source order),
-- entries by definition line and by name.
function M.parse(src, file)
  local lines = {}
  for l in (src .. "\n"):gmatch("(.-)\r?\n") do lines[#lines + 1] = l end
  local out = { file = file, entries = {}, byline = {}, byname = {} }
  local function add(e, key, owner, sep)
    e.key, e.owner, e.sep = key, owner, sep
    out.entries[#out.entries + 1] = e
    local list = out.byname[key] or {}
    out.byname[key] = list
    list[#list + 1] = e
  end
  local i = 1
  while i <= #lines do
    if is_comment(lines[i]) then
      local start, block = i, {}
      while i <= #lines and is_comment(lines[i]) do block[#block + 1] = strip(lines[i]); i = i + 1 end
      local defs = definitions(lines[i] or "")
      if start == 1 then
        out.header = block
      elseif #defs > 0 then
        local e = new_entry(file, block, i)
        out.byline[i] = e
        local named = {}
        for _, d in ipairs(defs) do add(e, d[3], d[1], d[2]); named[d[3]] = true end
        for _, n in ipairs(e.names) do -- aliases the signature lines name
          if not named[n.name] then add(e, n.name, n.owner, n.sep); named[n.name] = true end
        end
      elseif (lines[i] or ""):match("^local%s+function%s") then
        out.byline[i] = new_entry(file, block, i) -- found only if the function is exported
      elseif lines[start]:match("^%-%-%- ") then
        local e = new_entry(file, block, start)
        for _, n in ipairs(e.names) do add(e, n.name, n.owner, n.sep) end
      end
    else
      i = i + 1
    end
  end
  return out
end

local function first_line(s) return s:match("^[^\n]*") end

local parsed = {}
-- The parsed façade "lunette.x" (embedded source), or nil.
local function file_docs(mod)
  if parsed[mod] == nil then
    local src = source(mod)
    parsed[mod] = src and M.parse(src, mod) or false
  end
  return parsed[mod] or nil
end
M.file = file_docs

-- The façade files of a module: "nn" -> lunette.nn, lunette.nn_layers, ...
local function module_files(m)
  if m == "lunette" then return { "lunette.init" } end
  local out = {}
  for _, f in ipairs(source()) do
    if f == "lunette." .. m or f:sub(1, #m + 9) == "lunette." .. m .. "_" then out[#out + 1] = f end
  end
  return out
end

---------------------------------------------------------------------------
-- names: every public function reachable from the lunette table
---------------------------------------------------------------------------

local index -- { byvalue = {[v] = {info...}}, list = {info...}, classes = {[name] = info} }

local function callable(v)
  if type(v) == "function" then return true end
  local mt = (type(v) == "table" or type(v) == "userdata") and getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

local function add_name(v, info)
  local list = index.byvalue[v]
  if not list then list = {}; index.byvalue[v] = list end
  list[#list + 1] = info
  info.value = v
  index.list[#index.list + 1] = info
  index.byname[info.qname] = info
end

local function public(k) return type(k) == "string" and k:sub(1, 1) ~= "_" end

-- Methods of class `cname` (a table of functions) in module m.
-- Classes met only as instances (Tensor, Generator, FD) are named without their module.
local function add_class(m, cname, methods, ctor, bare)
  local qname = bare and cname or m .. "." .. cname
  local cls = { module = m, class = cname, qname = qname, methods = methods, value = ctor }
  index.classes[cname] = cls
  index.classes[methods] = cls
  local keys = {}
  for k in pairs(methods) do keys[#keys + 1] = type(k) == "string" and k or nil end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = methods[k]
    if public(k) and type(v) == "function" then
      if k == "new" and ctor then
        add_name(v, { module = m, key = cname, qname = qname, ctor = true })
      else
        add_name(v, { module = m, class = cname, key = k, qname = qname .. (k == "new" and "." or ":") .. k })
      end
    end
  end
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do if public(k) then ks[#ks + 1] = k end end
  table.sort(ks)
  return ks
end

function M.index()
  if index then return index end
  index = { byvalue = {}, list = {}, byname = {}, classes = {} }
  local lunette = require "lunette"
  local subtables = {}
  for _, m in ipairs(M.MODULES) do
    local t = lunette[m]
    for _, k in ipairs(sorted_keys(t)) do
      local v = t[k]
      if callable(v) then add_name(v, { module = m, key = k, qname = m .. "." .. k }) end
      if type(v) == "table" and not INTERNAL[m .. "." .. k] then
        if k:match("^%u") then
          add_class(m, k, v, callable(v) and v or nil)
        elseif not callable(v) then
          subtables[#subtables + 1] = { m, k, v }
        end
      end
    end
  end
  -- tables of functions (select.scores): the ones not already named elsewhere
  for _, s in ipairs(subtables) do
    local m, k, v = s[1], s[2], s[3]
    for _, sk in ipairs(sorted_keys(v)) do
      if callable(v[sk]) and not index.byvalue[v[sk]] then
        add_name(v[sk], { module = m, key = sk, qname = m .. "." .. k .. "." .. sk })
      end
    end
  end
  -- classes reachable only through their instances
  add_class("tensor", "Tensor", getmetatable(lunette.tensor.zeros(0)).__methods, nil, true)
  add_class("random", "Generator", getmetatable(lunette.random.default_generator).__index, nil, true)
  add_class("sketch", "FD", require("lunette._sketch").FD.__methods, nil, true)
  for _, k in ipairs(sorted_keys(lunette)) do
    local v = rawget(lunette, k)
    if type(v) == "function" then
      add_name(v, { module = "lunette", key = k, qname = "lunette." .. k, alias = #(index.byvalue[v] or {}) > 0 })
    end
  end
  return index
end

---------------------------------------------------------------------------
-- finding a doc
---------------------------------------------------------------------------

local function by_line(f)
  if type(f) ~= "function" then return nil end
  local info = debug.getinfo(f, "S")
  local mod = info.source:match("^@lua/lunette/(.-)%.lua$")
  local fd = mod and file_docs("lunette." .. mod)
  return fd and fd.byline[info.linedefined]
end

-- How well an entry's owner fits a name (0: not at all).
local function fit(e, info)
  local last = e.owner and e.owner:match("([%w_]+)$")
  local other_class = last and last ~= info.class and index.classes[last] ~= nil
  if info.class then
    if last == info.class then return 3 end
    if other_class then return 0 end
    return e.sep == ":" and 2 or 1
  end
  if other_class then return 0 end
  return e.sep == ":" and 1 or 2
end

local function by_name(info)
  local best, score = nil, 0
  for _, f in ipairs(module_files(info.module)) do
    local fd = file_docs(f)
    for _, e in ipairs(fd and fd.byname[info.key] or {}) do
      local s = fit(e, info)
      if s > score then best, score = e, s end
    end
  end
  return best
end

-- The doc entry of value v (with its names, if known), or nil.
local function find(v, infos)
  local e = by_line(v)
  if e then return e end
  if type(v) == "table" and type(rawget(v, "new")) == "function" then
    e = by_line(rawget(v, "new"))
    if e then return e end
  end
  for _, info in ipairs(infos or {}) do
    e = by_name(info)
    if e then return e end
  end
  -- a method overriding an inherited one shares its doc (Linear:forward -> Module:forward)
  for _, info in ipairs(infos or {}) do
    local cls = info.class and index.classes[info.class]
    local mt = cls and getmetatable(cls.methods)
    local parent = mt and type(mt.__index) == "table" and index.classes[mt.__index]
    if parent and type(parent.methods[info.key]) == "function" then
      e = find(parent.methods[info.key], index.byvalue[parent.methods[info.key]])
      if e then return e end
    end
  end
end

-- The doc text of entry e, the signature naming `key` first.
local function entry_text(e, key)
  local lines, first = {}, nil
  for _, n in ipairs(e.names) do
    if n.name == key and not first then first = n.line end
  end
  if first then lines[1] = e.lines[first] end
  for i, l in ipairs(e.lines) do
    if i ~= first then lines[#lines + 1] = l end
  end
  while #lines > 0 and lines[#lines]:match("^%s*$") do lines[#lines] = nil end
  return table.concat(lines, "\n")
end

-- doc(f | "embed.tsne" [, key]) -> the doc text (the signature naming key,
-- default the function's first name, first), the entry, the qualified
-- names; nil when there is none.
function M.doc(v, key)
  local idx = M.index()
  if type(v) == "string" then
    local info = idx.byname[v]
    if not info then return nil end
    v, key = info.value, key or info.key
  end
  local infos = idx.byvalue[v]
  local e = find(v, infos)
  if not e then return nil, nil, infos end
  return entry_text(e, key or (infos and infos[1].key)), e, infos
end

-- problems([infos]) -> one line per public name (default: all of them)
-- whose doc is missing or whose first line does not name it.
function M.problems(infos)
  local out = {}
  for _, info in ipairs(infos or M.index().list) do
    local text = M.doc(info.value, info.key)
    local key = info.key:gsub("%p", "%%%0")
    if not text then
      out[#out + 1] = info.qname .. ": no doc"
    elseif not first_line(text):match("%f[%w_]" .. key .. "%s*[%(%{]") then
      out[#out + 1] = info.qname .. ": first doc line does not name it: " .. first_line(text)
    end
  end
  table.sort(out)
  return out
end

---------------------------------------------------------------------------
-- help
---------------------------------------------------------------------------

local function indent(s, pad) return pad .. s:gsub("\n", "\n" .. pad) end


-- Resolves "embed.tsne", "lunette.embed", "Tensor:sum", "tsne"; returns the
-- value and its qualified name, or nil and a message.
local function resolve(name)
  local idx = M.index()
  local n = name:gsub("^lunette%.", ""):gsub("^lt%.", "")
  if idx.byname[n] then return idx.byname[n].value, n end
  local lunette = require "lunette"
  if n == "lunette" or n == "lt" then return lunette, "lunette" end
  for _, m in ipairs(M.MODULES) do
    if n == m then return lunette[m], m end
  end
  if idx.classes[n] then return idx.classes[n].methods, idx.classes[n].qname end
  for _, pre in ipairs { "lunette.", "Tensor:", "Generator:", "FD:" } do
    if idx.byname[pre .. n] then return idx.byname[pre .. n].value, pre .. n end
  end
  local tail = n:match("[.:]([%w_]+)$") or n
  local found = {}
  for _, info in ipairs(idx.list) do
    if info.key == tail and (info.qname:sub(-#n - 1) == "." .. n or info.qname:sub(-#n - 1) == ":" .. n) then
      found[#found + 1] = info.qname
    end
  end
  for _, c in pairs(idx.classes) do
    if c.class == n and not found[c.qname] then found[c.qname] = true; found[#found + 1] = c.qname end
  end
  if #found == 1 then return resolve(found[1]) end
  if #found > 1 then
    table.sort(found)
    return nil, ("help: '%s' is ambiguous: %s"):format(name, table.concat(found, ", "))
  end
  return nil, ("help: nothing in lunette is called '%s' (help() lists the modules)"):format(name)
end

-- The first sentence of a module's header (which may run over several comment lines),
-- without the "lunette.x:" prefix: help()'s one-line description of the module.
local function summary(file)
  local fd = file_docs(file)
  local h = fd and fd.header
  if not h then return "" end
  local words = {}
  for _, l in ipairs(h) do
    if l:match("^%s*$") or l:match("^%s%s") then break end -- a blank line or an example
    words[#words + 1] = l
  end
  local text = table.concat(words, " "):gsub("^lunette[%w_.]*:%s*", "")
  return text:match("^(.-%.)%s") or text:match("^(.-%.)$") or text
end

-- s wrapped to lines of at most width columns, the lines after the first indented by pad.
local function wrap(s, width, pad)
  local lines, line = {}, ""
  for w in s:gmatch("%S+") do
    if line ~= "" and #line + 1 + #w > width then
      lines[#lines + 1] = line
      line = w
    else
      line = line == "" and w or (line .. " " .. w)
    end
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n" .. pad)
end

local function list_functions(out, infos)
  table.sort(infos, function(a, b) return a.qname < b.qname end)
  for _, info in ipairs(infos) do
    local text = M.doc(info.value, info.key)
    out[#out + 1] = ("  %-28s %s"):format(info.qname, text and first_line(text) or "(no doc)")
  end
end

local function module_help(m)
  local idx, out = M.index(), {}
  local fd = file_docs("lunette." .. m)
  out[1] = "lunette." .. m
  if fd and fd.header then out[2] = indent(table.concat(fd.header, "\n"), "  ") end
  out[#out + 1] = "\nFunctions:"
  local fns, classes = {}, {}
  for _, info in ipairs(idx.list) do
    if info.module == m and not info.class and not info.alias then fns[#fns + 1] = info end
  end
  list_functions(out, fns)
  for _, c in pairs(idx.classes) do
    if c.module == m and not classes[c.qname] then classes[c.qname] = true; classes[#classes + 1] = c.qname end
  end
  table.sort(classes)
  if #classes > 0 then out[#out + 1] = "\nClasses (help(\"" .. classes[1] .. "\") lists the methods): " .. table.concat(classes, ", ") end
  return table.concat(out, "\n")
end

local function class_help(c)
  local idx, out = M.index(), { c.qname }
  if c.value then
    local text = M.doc(c.value)
    if text then out[2] = indent(text, "  ") end
  end
  out[#out + 1] = "\nMethods:"
  local ms = {}
  for _, info in ipairs(idx.list) do
    if info.class == c.class and info.module == c.module then ms[#ms + 1] = info end
  end
  list_functions(out, ms)
  return table.concat(out, "\n")
end

local function overview()
  local lunette = require "lunette"
  local out = { lunette._VERSION, indent(table.concat(file_docs("lunette.init").header, "\n"), "  "), "\nModules:" }
  for _, m in ipairs(M.MODULES) do
    out[#out + 1] = ("  %-8s %s"):format(m, wrap(summary("lunette." .. m), 88, (" "):rep(11)))
  end
  out[#out + 1] = "\nhelp(lunette.embed) describes a module, help(lunette.embed.tsne) or help(\"embed.tsne\") a function."
  return table.concat(out, "\n")
end

local function function_help(v, qname)
  local info = qname and M.index().byname[qname]
  local text, _, infos = M.doc(v, info and info.key)
  local function shown(n) return n:match("^%u") and n or "lunette." .. n:gsub("^lunette%.", "") end
  local names = {}
  if qname then names[1] = shown(qname) end
  for _, i in ipairs(infos or {}) do
    if i.qname ~= qname then names[#names + 1] = shown(i.qname) end
  end
  local head = names[1] or "?"
  if not text then
    if not infos then return "help: this function is not part of lunette (no doc)" end
    return head .. ": no doc yet"
  end
  local out = { head, indent(text, "  ") }
  if #names > 1 then out[3] = "  (also " .. table.concat(names, ", ", 2) .. ")" end
  return table.concat(out, "\n")
end

-- text(x) -> what help(x) prints: x a function, a module or class table, an
-- instance, a name ("embed.tsne", "Tensor:sum", "tsne"), or nil (overview).
function M.text(x)
  local lunette = require "lunette"
  local idx = M.index()
  local qname
  if type(x) == "string" then
    local v, msg = resolve(x)
    if v == nil then return msg end
    x, qname = v, msg
  end
  if x == nil or x == lunette then return overview() end
  for _, m in ipairs(M.MODULES) do
    if x == lunette[m] then return module_help(m) end
  end
  if idx.classes[x] then return class_help(idx.classes[x]) end
  if type(x) == "function" or idx.byvalue[x] then return function_help(x, qname) end
  local mt = getmetatable(x)
  if type(mt) == "table" then
    local c = idx.classes[mt.__methods or false] or idx.classes[mt.__index or false] or idx.classes[mt]
    if c then return class_help(c) end
  end
  return ("help: no doc for a %s value (help() lists the modules)"):format(type(x))
end

-- help(x): prints text(x).
function M.help(x)
  io.write(M.text(x), "\n")
end

---------------------------------------------------------------------------
-- docs/API.md
---------------------------------------------------------------------------

-- Prose lines as they are, indented lines (code examples) in fences.
local function md_block(out, lines)
  local code = false
  for _, l in ipairs(lines) do
    local is_code = l:match("^%s%s") ~= nil
    if is_code ~= code then
      out[#out + 1] = is_code and "```lua" or "```"
      code = is_code
    end
    out[#out + 1] = is_code and l:gsub("^  ", "", 1) or l
  end
  if code then out[#out + 1] = "```" end
end

local function md_entry(out, names, e)
  out[#out + 1] = "### " .. table.concat(names, ", ")
  out[#out + 1] = ""
  local nsig = math.max(e.sig_lines or #e.names, 1)
  out[#out + 1] = "```lua"
  for i = 1, nsig do out[#out + 1] = e.lines[i] end
  out[#out + 1] = "```"
  local rest = {}
  for i = nsig + 1, #e.lines do rest[#rest + 1] = e.lines[i] end
  while rest[1] and rest[1]:match("^%s*$") do table.remove(rest, 1) end
  while #rest > 0 and rest[#rest]:match("^%s*$") do rest[#rest] = nil end
  if #rest > 0 then out[#out + 1] = ""; md_block(out, rest) end
  out[#out + 1] = ""
end

-- The entries documenting module m's names, in source order, then the undocumented names.
local function module_entries(m)
  local idx = M.index()
  local groups, order, missing = {}, {}, {}
  for _, info in ipairs(idx.list) do
    if info.module == m and not info.alias then
      local _, e = M.doc(info.value)
      if e then
        if not groups[e] then groups[e] = {}; order[#order + 1] = e end
        local g = groups[e]
        if not g[info.qname] then g[info.qname] = true; g[#g + 1] = "`" .. info.qname .. "`" end
      else
        missing[#missing + 1] = "`" .. info.qname .. "`"
      end
    end
  end
  local files = {}
  for i, f in ipairs(source()) do files[f] = i end
  table.sort(order, function(a, b)
    if a.file ~= b.file then return files[a.file] < files[b.file] end
    return a.line < b.line
  end)
  return order, groups, missing
end

-- markdown() -> the text of docs/API.md.
function M.markdown()
  local out = {
    "# lunette API", "",
    "Generated by `make docs` (scripts/docs.lua) from the doc comments in `lua/lunette/*.lua`;",
    "`help(f)` in the REPL prints the same text. Do not edit by hand.", "",
  }
  local sections = { "lunette" }
  for _, m in ipairs(M.MODULES) do sections[#sections + 1] = m end
  for _, m in ipairs(sections) do
    local fd = file_docs(m == "lunette" and "lunette.init" or "lunette." .. m)
    out[#out + 1] = "## " .. (m == "lunette" and "lunette" or "lunette." .. m)
    out[#out + 1] = ""
    if fd and fd.header then md_block(out, fd.header); out[#out + 1] = "" end
    local order, groups, missing = module_entries(m)
    for _, e in ipairs(order) do md_entry(out, groups[e], e) end
    if #missing > 0 then
      out[#out + 1] = "Undocumented: " .. table.concat(missing, ", ")
      out[#out + 1] = ""
    end
  end
  return table.concat(out, "\n")
end

return M
