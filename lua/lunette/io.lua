-- lunette.io: tensors and checkpoints in and out of files (.npy .npz .safetensors
-- .pt/.pth, IDX, CIFAR, CSV, PNG, Parquet, Arrow IPC/Feather, HDF5). Readers return nil,
-- message on a bad or hostile file (like io.open); bad arguments raise. Writers (and figure
-- saves) go through a temporary file beside the target, flushed to disk and
-- renamed into place, so a failed or interrupted write (Ctrl-C, SIGTERM)
-- leaves the old file as it was and nothing else; the temporaries a killed
-- writer left (.<name>.lunette-tmp.<host>.<pid>.<hex>) go at the next write
-- of the same file.
--
--   local io = require("lunette").io
--   local ckpt = assert(io.load("model.pt"))          -- torch.save checkpoint
--   local W = ckpt.state_dict["fc.weight"]             -- a lunette tensor
--   io.save("feats.npy", X)                            -- numpy can np.load it
--   local f = assert(io.open_npy("huge.npy"))          -- nothing read yet
--   local rows = f:read(1, 1000)                       -- the first 1000 rows
--
-- Dtype mapping on load: int8/int16/uint16 become int32, uint32 becomes int64
-- (lunette has no narrower integer types); uint64 and complex are refused.
-- Python None loads as io.null. Dicts from .pt files iterate (pairs) in file
-- order; io.keys(d) lists that order.
--
-- Every reader takes an optional last table of limits (with its own options, where it has
-- any; an unknown key raises, naming the function): max_inflate (bytes
-- any decompression may produce; default half the physical memory: a zip or
-- gzip bomb fails before it fills memory), max_alloc (working memory of the
-- parser) and fail_at (make the Nth internal allocation fail: fault-injection
-- tests). Sizes read from files are checked against the file before anything
-- is allocated, so a small file can never make lunette allocate much more
-- than its own size (decompression aside, bounded as above).

-- raise(msg): a façade error at the user's line (lunette.options).
local function raise(msg) require("lunette.options").raise(msg) end
local C = require "lunette._io"
local ordered = require "lunette.ordered"

local M = {}

M.null = C.null

local check = require("lunette.options").check

-- The keys each reader's or writer's options table may hold (LIMITS: see above); an unknown
-- key raises, naming the function, before any file is touched.
local LIMITS = { "max_inflate", "max_alloc", "fail_at" }
local function with_limits(...) return table.move(LIMITS, 1, #LIMITS, select("#", ...) + 1, { ... }) end
local KEYS = {
  read_npy = LIMITS, read_npz = LIMITS, open_npz = LIMITS, read_safetensors = LIMITS,
  open_safetensors = LIMITS, read_png = LIMITS, load_pt = LIMITS,
  read_idx = with_limits("dtype", "scale"), read_cifar = with_limits("classes"),
  read_csv = with_limits("header", "sep", "dtype", "frame", "usecols", "na", "text"),
  write_csv = { "header", "sep" }, write_npz = with_limits("compress"),
  save_pt = with_limits("name"), read_parquet = with_limits("columns", "rows"),
  read_arrow = with_limits("columns", "rows"),
  read_hdf5 = with_limits("datasets"),
}
-- Where each one's options table is (the writers take the value first).
local ARG = { write_csv = 3, write_npz = 3, save_pt = 3 }

for _, k in ipairs { "read_npy", "write_npy", "open_npy", "read_npz", "open_npz", "write_npz",
                     "read_safetensors", "open_safetensors", "write_safetensors",
                     "read_idx", "read_cifar", "read_png", "write_png", "read_csv", "save_pt", "makedirs" } do
  local f, keys, argn = C[k], KEYS[k], ARG[k] or 2
  if keys then
    M[k] = function(...)
      -- array for the writers: save_pt(p, m:state_dict()) passes state_dict's keys too
      check(k, argn, (select(argn, ...)), keys, argn == 3)
      return f(...)
    end
  else
    M[k] = f
  end
end

-- The readers and writers from C. Readers return nil, message on a bad
-- file and take an optional last table of limits (see above); writers return
-- true | nil, message and never leave a partial file.

--- makedirs(path) -> true | nil, message
-- Creates the directory and its missing parents, like mkdir -p (an existing
-- directory is fine); a component that is a file, or a failing mkdir, gives
-- nil and a message naming the directory.

--- read_npy(path [, limits]) -> Tensor | nil, message
-- A .npy array (v1-v3 headers, C or Fortran order, little or big endian);
-- object arrays are refused, never unpickled.

--- write_npy(path, t) -> true | nil, message
-- Writes t as a v1 .npy file numpy.load reads (bfloat16 is refused).

--- open_npy(path) -> NpyFile | nil, message
-- Opens a .npy without reading its data: f:shape(), f:dtype(), #f (rows),
-- f:read([first [, count]]) reads rows lazily, f:close().

--- read_npz(path [, limits]) -> {name = Tensor} | nil, message
-- Every member of an .npz (zip, ZIP64, stored or deflated) as a tensor.

--- open_npz(path [, limits]) -> NpzArchive | nil, message
-- Opens an .npz: a:names(), a:info(name), a:read(name), #a members, a:close().

--- write_npz(path, {name = Tensor} [, {compress = false}]) -> true | nil, message
-- Writes an .npz numpy.load reads; compress deflates the members.

--- read_safetensors(path [, limits]) -> {name = Tensor}, metadata | nil, message
-- Every tensor of a safetensors file (header checked: offsets in order, no
-- overlaps or holes, the file ending at the last byte) and its __metadata__.

--- open_safetensors(path [, limits]) -> SafetensorsFile | nil, message
-- Opens a safetensors file reading only its header: f:names(), f:info(name),
-- f:read(name), f:metadata(), #f, f:close().

--- write_safetensors(path, {name = Tensor} [, {key = "value"}]) -> true | nil, message
-- Writes a safetensors file (names sorted, tensors contiguous) with an
-- optional string-to-string metadata table.

--- read_idx(path [, {dtype = "float32", scale = 1, limits}]) -> Tensor | nil, message
-- An IDX file (MNIST family, gzipped or not): uint8 data stays uint8 unless
-- dtype = "float32" is asked for (values times scale, in one pass).

--- read_cifar(path [, {classes = 10|100}]) -> images, labels [, coarse] | nil, message
-- A CIFAR binary batch: uint8 images [N x 3 x 32 x 32] and int64 labels as
-- stored (0-based); CIFAR-100 also gives the coarse labels.

--- read_png(path [, limits]) -> Tensor | nil, message
-- A PNG image as [H x W] or [H x W x C] (uint8, int32 for 16-bit files).

--- write_png(path, image) -> true | nil, message
-- Writes an image [H x W] or [H x W x C] (C in 1..4), uint8 or float in [0, 1].

--- read_csv(path [, opts]) -> Tensor, names | {name = column}, names | nil, message
-- A CSV file (RFC 4180 quoting: quoted fields may hold the separator, quotes as "" and
-- newlines; LF or CRLF; a UTF-8 BOM skipped; empty lines skipped; every record the same number
-- of fields). Options:
--   header = true     the first record names the columns
--   sep = ","         the field separator (one character)
--   dtype = "float64" matrix mode: float64, float32 or int64; frame mode: a kind for every column
--                     or a table of kinds by column name or 1-based position: "auto" (inferred),
--                     "float64", "float32", "int64", "text", "codes"
--   frame = false     false: one [rows x cols] tensor (a non-numeric cell is an error naming its
--                     line and column); true: a table of columns, each inferred from all its
--                     cells: integers as an int64 tensor (float64 with NaN when a value is
--                     missing, as pandas does), other numbers as float64, anything else as text
--   text = "strings"  how frame mode gives text: "strings", a Lua string array (io.null where
--                     missing), or "codes", {codes = int64 tensor, levels = {...}} with
--                     levels[codes[i]] the text (levels in first-appearance order, code 0 missing)
--   usecols = all     the columns to read, by name or 1-based position, in the order given
--   na = {"", "NA", "N/A", "#N/A", "NaN", "nan", "null", "NULL", "None"}
--                     the cells that are missing values: NaN in numbers (an error for int64),
--                     io.null or code 0 in text, where a quoted cell is text ("" is the empty
--                     string, "NA" the text NA) but an unquoted one missing. Without frame, usecols or na only ""
--                     and nan read as NaN (as before).
-- names is the selected column names in order (1-based positions without a header); in frame
-- mode it gives the column order of the table. Numbers are read in the C locale.
--
--   local cols, names = io.read_csv("runs.csv", { frame = true, text = "codes" })
--   cols.loss   -- float64 tensor;   cols.model.levels[cols.model.codes[1]] -- "resnet"

--- write_csv(path, t | {name = column} [, {header = {...}, sep = ","}]) -> true | nil, message
-- Writes a [rows x cols] (or [rows]) tensor as CSV with optional column names (header), or a
-- table of columns as read_csv's frame mode gives them (1-D tensors, string arrays with io.null
-- for missing values, {codes, levels}) with header the column order (default: the names sorted);
-- text is quoted where needed to read back as the same text (separators, quotes, newlines, edge
-- spaces, empty strings, the default na markers). Numbers are written in the shortest form that
-- reads back to the same value. The file is replaced atomically.
function M.write_csv(path, x, opts)
  check("write_csv", 3, opts, KEYS.write_csv, true)
  local frame = type(x) == "table" and not require("lunette.tensor").is_tensor(x)
  if frame and (opts == nil or opts.header == nil) then
    local names = {}
    for k in pairs(x) do names[#names + 1] = k end
    -- positions (a header-less file's columns) first, in order, then names
    table.sort(names, function(a, b)
      if type(a) ~= type(b) then return type(a) == "number" end
      return a < b
    end)
    local o = { header = names }
    for k, v in pairs(opts or {}) do o[k] = v end
    opts = o
  end
  return C.write_csv(path, x, opts)
end

--- save_pt(path, value [, {name = "archive"}]) -> true | nil, message
-- Writes value (tables, tensors, numbers, strings, booleans, io.null) as a
-- torch.save zip (pickle protocol 2) that torch.load reads; tensors sharing a
-- storage stay shared.

---------------------------------------------------------------------------
-- ordered dicts from .pt files
---------------------------------------------------------------------------

-- keys(t) -> array
-- The keys of t in order: a loaded dict's file order (then any keys added
-- since), otherwise sorted (booleans, numbers, strings).
function M.keys(t) return ordered.keys(t) end

-- load_pt(path [, limits]) -> value | nil, message
-- The value of a torch.save file (.pt/.pth, zip format): tables, tensors,
-- numbers, strings, booleans, io.null. Tensors that shared a storage in the
-- file share one here (views); dicts iterate in file order. Only the opcodes
-- and globals a tensor state dict needs are known, nothing is executed:
-- anything else is an error message.
function M.load_pt(path, opts)
  check("load_pt", 2, opts, LIMITS)
  return C.load_pt(path, opts, ordered.pairs)
end

---------------------------------------------------------------------------
-- Parquet
---------------------------------------------------------------------------

local T = require "lunette.tensor"

local function argerr(n, fname, msg) raise(("bad argument #%d to '%s' (%s)"):format(n, fname, msg)) end

-- The names a writer writes, in order: the option's array (named `option`) when given, else
-- the string keys of values, sorted (pairs' order differs run to run); `kind` names one key.
local function names_to_write(fname, values, given, kind, option)
  if given ~= nil then
    if type(given) ~= "table" then argerr(3, fname, option .. " must be an array of names") end
    return given
  end
  local names = {}
  for k in pairs(values) do
    if type(k) ~= "string" then
      argerr(2, fname, ("%s names must be strings, got %s"):format(kind, type(k)))
    end
    names[#names + 1] = k
  end
  table.sort(names)
  return names
end

-- The limits of an options table, without the reader's own keys (columns, rows).
local function limits_of(opts)
  if not opts then return nil end
  local l = {}
  for _, k in ipairs(LIMITS) do l[k] = opts[k] end
  return l
end

-- opts.columns checked against the file's column names: nil (every column) or an array.
local function pick_columns(fname, argn, names, cols)
  if cols == nil then return nil end
  if type(cols) ~= "table" then argerr(argn, fname, "columns must be an array of names") end
  local known = {}
  for _, n in ipairs(names) do known[n] = true end
  for i, c in ipairs(cols) do
    if not known[c] then
      argerr(argn, fname, ("columns[%d]: no column '%s' (the file has %s)"):format(i, tostring(c),
        table.concat(names, ", ")))
    end
  end
  return cols
end

local ParquetFile = {}
ParquetFile.__index = ParquetFile

--- open_parquet(path [, limits]) -> ParquetFile | nil, message
-- Opens a Parquet file and reads its footer, once: f.schema (an array of {name, type, nullable,
-- list}), f.columns (the names), f.num_rows, f.row_groups (rows of each), f.num_row_groups, and
-- f:read_row_group(i [, {columns = {...}}]) reads one row group (1-based) as read_parquet does,
-- so a file bigger than memory is read in pieces (the file stays open, and the buffers its
-- chunks are read and decompressed through are reused, until f:close() or the collector).
function M.open_parquet(path, opts)
  check("open_parquet", 2, opts, LIMITS)
  if type(path) ~= "string" then argerr(1, "open_parquet", "string expected, got " .. type(path)) end
  local h, meta = C.parquet_open(path, opts)
  if not h then return nil, meta end
  local names = {}
  for i, c in ipairs(meta.columns) do names[i] = c.name end
  return setmetatable({ path = path, schema = meta.columns, columns = names,
    num_rows = meta.num_rows, row_groups = meta.row_groups, num_row_groups = #meta.row_groups,
    limits = opts, _h = h }, ParquetFile)
end

-- f:close(): releases the file and its buffers now (reads after it raise); idempotent.
function ParquetFile:close() C.parquet_close(self._h) end

local read_range

-- f:read_row_group(i [, {columns = {...}}]) -> {name = column} | nil, message
function ParquetFile:read_row_group(i, opts)
  check("read_row_group", 2, opts, with_limits("columns"))
  if math.type(i) ~= "integer" or i < 1 or i > self.num_row_groups then
    argerr(1, "read_row_group", ("row group must be an integer in 1..%d, got %s"):format(
      self.num_row_groups, tostring(i)))
  end
  local cols = pick_columns("read_row_group", 2, self.columns, opts and opts.columns)
  local limits = limits_of(opts) or self.limits
  local first = 1
  for g = 1, i - 1 do first = first + self.row_groups[g] end
  if self.row_groups[i] == 0 then return C.parquet_group(self._h, i, cols, limits) end
  return read_range(self, cols or self.columns, first, first + self.row_groups[i] - 1, limits)
end

-- Joins one column's pieces from consecutive row groups.
local function join(parts)
  if #parts == 1 then return parts[1] end
  local first = parts[1]
  local coded = 0
  for _, p in ipairs(parts) do if type(p) == "table" and p.codes then coded = coded + 1 end end
  if coded > 0 and coded < #parts then
    -- dictionary text in some pieces, plain text in others: all become strings
    for k, p in ipairs(parts) do
      if type(p) == "table" and p.codes then
        local s = {}
        for i, c in ipairs(p.codes:totable()) do s[i] = c == 0 and M.null or p.levels[c] end
        parts[k] = s
      end
    end
  end
  if coded == #parts then
    -- Row groups whose dictionaries are the first one's (a writer that met the labels in the same
    -- order in each, as usual): their codes need no mapping.
    local same = true
    for k = 2, #parts do
      local a, b = parts[1].levels, parts[k].levels
      if #a ~= #b then same = false break end
      for j = 1, #a do if a[j] ~= b[j] then same = false break end end
      if not same then break end
    end
    if same then
      local codes = {}
      for k, p in ipairs(parts) do codes[k] = p.codes end
      return { codes = T.cat(codes, 1), levels = parts[1].levels }
    end
    -- Each row group has its own dictionary: the levels are merged in order of appearance and
    -- every piece's codes mapped onto them (0, a null, stays 0).
    local levels, index, codes = {}, {}, {}
    for k, p in ipairs(parts) do
      local map = { 0 }
      for j, s in ipairs(p.levels) do
        if not index[s] then levels[#levels + 1] = s; index[s] = #levels end
        map[j + 1] = index[s]
      end
      codes[k] = T.fromtable(map, "int64"):index_select(1, p.codes + 1)
    end
    return { codes = T.cat(codes, 1), levels = levels }
  end
  local all_tensors, dtype, width = true, nil, nil
  for _, p in ipairs(parts) do
    if not T.is_tensor(p) then all_tensors = false
    else
      if dtype and p:dtype() ~= dtype then dtype = "float64" else dtype = dtype or p:dtype() end
      local w = p:dim() == 2 and p:size(2) or -1
      if width and w ~= width then all_tensors = false end
      width = w
    end
  end
  if all_tensors then
    for k, p in ipairs(parts) do if p:dtype() ~= dtype then parts[k] = p:to(dtype) end end
    return T.cat(parts, 1)
  end
  -- Rows of different widths across row groups: a table of rows (ragged lists or text).
  local out = {}
  for _, p in ipairs(parts) do
    if T.is_tensor(p) then
      for r = 1, p:size(1) do out[#out + 1] = p[r] end
    else
      for r = 1, #p do out[#out + 1] = p[r] end
    end
  end
  return out
end

-- Rows [a, b] (1-based, within the piece) of one column.
local function slice(v, a, b)
  if T.is_tensor(v) then return v:narrow(1, a, b - a + 1) end
  if v.codes then return { codes = v.codes:narrow(1, a, b - a + 1), levels = v.levels } end
  return table.move(v, a, b, 1, {})
end

-- Shards (an array of paths) read as one file: each shard whole, then joined, then rows.
local read_shards
function read_shards(paths, opts)
  if #paths == 0 then argerr(1, "read_parquet", "no shards given") end
  local parts, names = {}, nil
  local sub = opts and { columns = opts.columns } or nil
  for k, v in pairs(limits_of(opts) or {}) do sub[k] = v end
  for i, p in ipairs(paths) do
    if type(p) ~= "string" then argerr(1, "read_parquet", ("shard %d is not a path"):format(i)) end
    local d, err = M.read_parquet(p, sub)
    if not d then return nil, err end
    if not names then
      names = {}
      for n in pairs(d) do names[#names + 1] = n end
    end
    for _, n in ipairs(names) do
      if d[n] == nil then return nil, ("%s: no column '%s' (shard 1 has it)"):format(p, n) end
      parts[n] = parts[n] or {}
      table.insert(parts[n], d[n])
    end
  end
  local out, total = {}, nil
  for _, n in ipairs(names) do
    out[n] = join(parts[n])
    local v = out[n]
    total = total or (T.is_tensor(v) and v:size(1) or v.codes and v.codes:size(1) or #v)
  end
  local rows = opts and opts.rows
  if rows ~= nil and total then
    local first, last
    if math.type(rows) == "integer" and rows >= 0 then
      first, last = 1, math.min(rows, total)
    elseif type(rows) == "table" and math.type(rows[1]) == "integer" and rows[1] >= 1
      and math.type(rows[2]) == "integer" and rows[2] >= rows[1] - 1 then
      first, last = rows[1], math.min(rows[2], total)
    else
      argerr(2, "read_parquet", "rows must be a count or {first, last} (1-based, inclusive)")
    end
    for _, n in ipairs(names) do out[n] = slice(out[n], first, math.max(last, first - 1)) end
  end
  return out
end

-- The rows opts.rows asks for of a table of num_rows rows (a count or an inclusive 1-based
-- range), as first, last; raises for anything else.
local function row_range(fname, rows, num_rows)
  if rows == nil then return 1, num_rows end
  if math.type(rows) == "integer" and rows >= 0 then return 1, math.min(rows, num_rows) end
  if type(rows) == "table" and math.type(rows[1]) == "integer" and math.type(rows[2]) == "integer"
    and rows[1] >= 1 and rows[2] >= rows[1] - 1 then
    return rows[1], math.min(rows[2], num_rows)
  end
  argerr(2, fname, "rows must be a count or {first, last} (1-based, inclusive)")
end

-- A table read piece by piece (Parquet row groups, Arrow record batches): names are the file's
-- columns, sizes the rows of each piece, read(i, cols) one piece (cols nil: every column).
-- Only the pieces opts.rows touches are read; each column's pieces are joined.
local function read_table(fname, names_all, num_rows, sizes, opts, read)
  local cols = pick_columns(fname, 2, names_all, opts and opts.columns)
  local first, last = row_range(fname, opts and opts.rows, num_rows)
  local names = cols or names_all
  local parts, out = {}, {}
  for _, n in ipairs(names) do parts[n] = {} end
  local start = 1 -- the first row of piece g
  for g = 1, #sizes do
    local n = sizes[g]
    local a, b = math.max(first, start), math.min(last, start + n - 1)
    if a <= b then
      local piece, perr = read(g, cols)
      if not piece then return nil, perr end
      for _, name in ipairs(names) do
        local v = piece[name]
        if a ~= start or b ~= start + n - 1 then v = slice(v, a - start + 1, b - start + 1) end
        table.insert(parts[name], v)
      end
    end
    start = start + n
  end
  for _, name in ipairs(names) do
    if #parts[name] > 0 then
      out[name] = join(parts[name])
    else
      -- No row selected: an empty slice of the first piece keeps each column's type.
      local piece, perr = #sizes > 0 and read(1, { name })
      if piece == nil then return nil, perr end
      out[name] = piece and slice(piece[name], 1, 0) or {}
    end
  end
  return out
end

--- read_parquet(path [, {columns = {...}, rows = n | {first, last}, limits}]) -> {name = column} | nil, message
-- A Parquet file (Hugging Face datasets, pandas, polars, Spark) as a table of columns: numbers as
-- 1-D tensors (int32, int64, float32, float64, float16, bool); a list<number> column whose rows
-- all have one length as a 2-D tensor [rows x length] (an embedding column), a ragged one as a
-- table of 1-D tensors (a null list is an empty row); timestamps and dates as the stored int64 or
-- int32; other fixed-length bytes (decimals) as Lua strings; INT96 and nested lists of lists are
-- refused. Text comes as a Lua string array, or, when the writer dictionary-encoded it
-- (a label column usually is), as {codes = int64 tensor, levels = {...}} with levels[codes[i]]
-- the text. Nulls: NaN in float columns; an integer or boolean column holding nulls becomes
-- float64 with NaN (as pandas does); io.null in string arrays; code 0. columns picks columns by
-- name (struct fields have dotted names); rows is a count from the start or an inclusive 1-based
-- range, and only the row groups it touches are decoded. Codecs: none, SNAPPY, GZIP, ZSTD,
-- LZ4_RAW; encodings: PLAIN, RLE, dictionary, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
-- DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT. path may be an array of shards (a Hugging Face dataset's
-- files), read as one file. A damaged or hostile file gives nil, "path: reason".
function M.read_parquet(path, opts)
  check("read_parquet", 2, opts, with_limits("columns", "rows"))
  if type(path) == "table" then return read_shards(path, opts) end
  local f, err = M.open_parquet(path, limits_of(opts))
  if not f then return nil, err end
  local cols = pick_columns("read_parquet", 2, f.columns, opts and opts.columns)
  local first, last = row_range("read_parquet", opts and opts.rows, f.num_rows)
  local out, rerr = read_range(f, cols or f.columns, first, last, limits_of(opts))
  f:close()
  return out, rerr
end

-- Columns `names` of rows [first, last] (1-based, inclusive, last <= f.num_rows) of the open
-- Parquet file f: dense numeric columns (no nulls, lists of one length) straight into one tensor
-- each (parquet_dense); the rest row group by row group (read_table), sliced and joined.
function read_range(f, names, first, last, limits)
  local out, err = C.parquet_dense(f._h, first, last, names, limits)
  if not out then return nil, err end
  local rest = {}
  for _, n in ipairs(names) do if out[n] == nil then rest[#rest + 1] = n end end
  if #rest == 0 then return out end
  local more, merr = read_table("read_parquet", f.columns, f.num_rows, f.row_groups,
    { columns = rest, rows = { first, last } },
    function(g, cols) return C.parquet_group(f._h, g, cols, limits) end)
  if not more then return nil, merr end
  for k, v in pairs(more) do out[k] = v end
  return out
end

---------------------------------------------------------------------------
-- Arrow IPC (Feather v2)
---------------------------------------------------------------------------

local ArrowFile = {}
ArrowFile.__index = ArrowFile

--- open_arrow(path [, limits]) -> ArrowFile | nil, message
-- Reads only the metadata of an Arrow IPC file (Feather v2: .arrow, .feather) or stream
-- (.arrows): f.schema (an array of {name, type, nullable, list, dictionary, unsupported}, where
-- unsupported says why a column of a type lunette does not read cannot be read), f.columns (the
-- names), f.num_rows, f.batches (rows of each record batch), f.num_batches, f.stream, and
-- f:read_batch(i [, {columns = {...}}]) reads one record batch (1-based) as read_arrow does, so
-- a file bigger than memory is read in pieces.
function M.open_arrow(path, opts)
  check("open_arrow", 2, opts, LIMITS)
  if type(path) ~= "string" then argerr(1, "open_arrow", "string expected, got " .. type(path)) end
  local meta, err = C.arrow_meta(path, opts)
  if not meta then return nil, err end
  local names = {}
  for i, c in ipairs(meta.columns) do names[i] = c.name end
  return setmetatable({ path = path, schema = meta.columns, columns = names,
    num_rows = meta.num_rows, batches = meta.batches, num_batches = #meta.batches,
    stream = meta.stream, limits = opts }, ArrowFile)
end

-- f:read_batch(i [, {columns = {...}, limits}]) -> {name = column} | nil, message
function ArrowFile:read_batch(i, opts)
  check("read_batch", 2, opts, with_limits("columns"))
  if math.type(i) ~= "integer" or i < 1 or i > self.num_batches then
    argerr(1, "read_batch", ("batch must be an integer in 1..%d, got %s"):format(
      self.num_batches, tostring(i)))
  end
  local cols = pick_columns("read_batch", 2, self.columns, opts and opts.columns)
  return C.arrow_read(self.path, i, cols, limits_of(opts) or self.limits)
end

--- read_arrow(path [, {columns = {...}, rows = n | {first, last}, limits}]) -> {name = column} | nil, message
-- An Arrow IPC file (Feather v2, as pandas.to_feather, polars and pyarrow write it) or stream as
-- a table of columns, as read_parquet gives them: numbers as 1-D tensors (int8, int16, uint16
-- widen to int32, uint32 to int64; uint8, int32, int64, float16/32/64, bool as they are); dates,
-- times, timestamps and durations as their stored int32 or int64; a FixedSizeList of numbers as a
-- 2-D tensor [rows x size] (an embedding column), a List whose rows all have one length too, a
-- ragged one as a table of 1-D tensors (a null list an empty row); text (Utf8, LargeUtf8,
-- Binary, FixedSizeBinary, Decimal bytes) as a Lua string array; dictionary-encoded text as
-- {codes = int64 tensor, levels = {...}} (levels[codes[i]] the text; delta dictionaries
-- appended); struct fields as dotted names ("pt.x"). Nulls: NaN in float columns; an integer or
-- boolean column holding nulls becomes float64 with NaN; io.null in string arrays; code 0; a
-- null struct makes its fields null. uint64, Map, Union, Interval, lists of lists and view types
-- are refused (the other columns still read: pick them with columns). Bodies: uncompressed,
-- LZ4_FRAME or ZSTD (liblz4/libzstd loaded on first use). columns picks columns by name; rows is
-- a count from the start or an inclusive 1-based range, and only the batches it touches are
-- read. A damaged or hostile file gives nil, "path: reason".
function M.read_arrow(path, opts)
  check("read_arrow", 2, opts, with_limits("columns", "rows"))
  local f, err = M.open_arrow(path, limits_of(opts))
  if not f then return nil, err end
  return read_table("read_arrow", f.columns, f.num_rows, f.batches, opts,
    function(b, cols) return C.arrow_read(path, b, cols, limits_of(opts)) end)
end

--- read_hdf5(path [, {datasets = {...}, limits}]) -> {name = value}, attrs | nil, message
-- The datasets of an HDF5 file (h5py's format: embedding dumps, Keras/older checkpoints),
-- named by their path without the leading slash ("emb", "group/labels"): numbers as tensors
-- (float16/32 as float32, float64, int8/16/32 as int32, uint8, uint16/32 and int64 as int64,
-- h5py's bool as bool; uint64, compound and other types give nil, message), text (fixed or
-- variable length) as a Lua string array in C order, a scalar string as a string. attrs maps
-- "/" (the root), each group and each dataset read to its attributes ({} omitted): scalars as
-- Lua numbers or strings, arrays as tensors or string arrays. datasets (default: all) picks
-- datasets by name. Compressed datasets are read by libhdf5 (gzip, shuffle; filters it lacks
-- give nil, message); a dataset's stated size is checked against max_inflate before reading.
-- libhdf5 (libhdf5-dev) is loaded on first use. libhdf5 parses the file, not lunette: truncated
-- and garbage files give nil, message (specced), but libhdf5 is not fuzzed here and a crafted
-- file can still crash inside it (it has such CVEs): read HDF5 only from sources you trust.
function M.read_hdf5(path, opts)
  check("read_hdf5", 2, opts, with_limits("datasets"))
  if type(path) ~= "string" then argerr(1, "read_hdf5", "string expected, got " .. type(path)) end
  local lim = limits_of(opts)
  local ds, groups = C.h5_list(path, lim)
  if not ds then return nil, groups end
  local want = opts and opts.datasets
  if want ~= nil then
    if type(want) ~= "table" then argerr(2, "read_hdf5", "datasets must be an array of names") end
    local have = {}
    for _, n in ipairs(ds) do have[n] = true end
    for i, n in ipairs(want) do
      if not have[n] then argerr(2, "read_hdf5", ("datasets[%d]: no dataset '%s'"):format(i, tostring(n))) end
    end
    ds = want
  end
  local out, attrs = {}, {}
  local function add_attrs(name, key)
    local a, err = C.h5_attrs(path, name, lim)
    if not a then return err end
    if next(a) ~= nil then attrs[key] = a end
  end
  local err = add_attrs("/", "/")
  if err then return nil, err end
  for _, g in ipairs(groups) do
    err = add_attrs(g, g)
    if err then return nil, err end
  end
  for _, n in ipairs(ds) do
    local v, e = C.h5_read(path, n, 0, -1, lim)
    if v == nil then return nil, e end
    out[n] = v
    err = add_attrs(n, n)
    if err then return nil, err end
  end
  return out, attrs
end

--- open_hdf5(path [, limits]) -> Hdf5File | nil, message
-- Lists an HDF5 file without reading data: f.datasets and f.groups (names in order),
-- f:info(name) -> {shape = {...}, dtype = "float32" | ... | "string"}, f:read(name [, first,
-- last]) reads a dataset, or only rows first..last (1-based, inclusive) of a numeric one, so an
-- embedding dump bigger than memory is read in slabs; f:attrs(name) ("/" the root) its
-- attributes. Each call opens the file anew (nothing stays open between calls).
function M.open_hdf5(path, opts)
  check("open_hdf5", 2, opts, LIMITS)
  if type(path) ~= "string" then argerr(1, "open_hdf5", "string expected, got " .. type(path)) end
  local lim = limits_of(opts)
  local ds, groups = C.h5_list(path, lim)
  if not ds then return nil, groups end
  local f = { path = path, datasets = ds, groups = groups }
  function f:info(name) return C.h5_info(self.path, name, lim) end
  function f:attrs(name) return C.h5_attrs(self.path, name or "/", lim) end
  function f:read(name, first, last)
    if first == nil then return C.h5_read(self.path, name, 0, -1, lim) end
    if math.type(first) ~= "integer" or first < 1 or (last ~= nil and math.type(last) ~= "integer") then
      argerr(2, "read", "first and last must be 1-based integers")
    end
    last = last or first
    return C.h5_read(self.path, name, first - 1, math.max(0, last - first + 1), lim)
  end
  return f
end

--- write_hdf5(path, {name = value} [, {attrs = {[name] = {key = value}}, datasets = {...}}]) -> true | nil, message
-- Writes an HDF5 file h5py reads: each value a tensor (float32, float64, int32, int64, uint8;
-- bool as h5py's bool enum; float16/bfloat16 as float32), a string (a scalar dataset) or a string
-- array (variable-length UTF-8, as h5py writes str); a name with slashes creates its groups.
-- Options: datasets = sorted names (the order datasets are created in); attrs = {} attributes
-- by object name ("/" the root, or a dataset or group written here): numbers (Lua integers as
-- int64, floats as float64), strings, tensors, string arrays. The file is replaced atomically.
-- libhdf5 (libhdf5-dev) is loaded on first use.
function M.write_hdf5(path, values, opts)
  check("write_hdf5", 3, opts, { "attrs", "datasets" })
  if type(path) ~= "string" then argerr(1, "write_hdf5", "string expected, got " .. type(path)) end
  if type(values) ~= "table" or T.is_tensor(values) then
    argerr(2, "write_hdf5", "a table of datasets expected, got " .. (T.is_tensor(values) and "a tensor" or type(values)))
  end
  opts = opts or {}
  local names = names_to_write("write_hdf5", values, opts.datasets, "dataset", "datasets")
  -- Values are checked here, before the file is touched (the C side would raise with the
  -- temporary file open until the next collection).
  local function checked(v, what, attr)
    if T.is_tensor(v) then
      local dt = v:dtype()
      if dt == "float16" or dt == "bfloat16" then v = v:float() end
      return v:contiguous()
    elseif type(v) == "string" or (attr and type(v) == "number") then
      if type(v) == "string" and v:find("\0", 1, true) then
        argerr(attr and 3 or 2, "write_hdf5", ("'%s' holds a NUL byte"):format(what))
      end
      return v
    elseif attr and type(v) == "boolean" then
      return v and 1 or 0
    elseif type(v) == "table" then
      for i = 1, #v do
        if type(v[i]) ~= "string" then
          argerr(attr and 3 or 2, "write_hdf5", ("'%s': entry %d is a %s, not a string"):format(what, i, type(v[i])))
        end
        if v[i]:find("\0", 1, true) then
          argerr(attr and 3 or 2, "write_hdf5", ("'%s': entry %d holds a NUL byte"):format(what, i))
        end
      end
      return v
    end
    argerr(attr and 3 or 2, "write_hdf5", ("'%s' must be a tensor, a string%s or a string array, got %s"):format(
      what, attr and ", a number" or "", type(v)))
  end
  local prepared = {}
  for i, n in ipairs(names) do
    if type(n) ~= "string" or n == "" or n:sub(1, 1) == "/" then
      argerr(3, "write_hdf5", ("dataset name %d must be a non-empty string without a leading '/'"):format(i))
    end
    local v = values[n]
    if v == nil then argerr(2, "write_hdf5", ("no dataset named '%s'"):format(n)) end
    prepared[n] = checked(v, n, false)
  end
  local attrs = opts.attrs or {}
  if type(attrs) ~= "table" then argerr(3, "write_hdf5", "attrs must be a table {[name] = {key = value}}") end
  local pa = {}
  for obj, kv in pairs(attrs) do
    if type(obj) ~= "string" or type(kv) ~= "table" then
      argerr(3, "write_hdf5", "attrs must be a table {[name] = {key = value}}")
    end
    local o = {}
    for k, v in pairs(kv) do
      if type(k) ~= "string" then argerr(3, "write_hdf5", ("attrs['%s']: keys must be strings"):format(obj)) end
      o[k] = checked(v, k, true)
    end
    pa[obj == "" and "/" or obj] = o
  end
  return C.h5_write(path, names, prepared, pa)
end

-- The columns a table writer (write_parquet, write_arrow) takes, checked and made what its C
-- part expects: contiguous 1-D or 2-D tensors (float16 kept when keep_half, else widened to
-- float32 as bfloat16 always is), {codes = int64 tensor, levels}, or string arrays.
local function prepare_columns(fname, columns, names, keep_half)
  -- A file without columns has no schema leaves, which readers (lunette's too) refuse.
  if #names == 0 then argerr(2, fname, "no columns to write") end
  local prepared, seen = {}, {}
  for i, name in ipairs(names) do
    if type(name) ~= "string" or name == "" then
      argerr(3, fname, ("column name %d must be a non-empty string"):format(i))
    end
    if seen[name] then argerr(3, fname, ("column '%s' is listed twice"):format(name)) end
    seen[name] = true
    local v = columns[name]
    if v == nil then argerr(2, fname, ("no column named '%s'"):format(name)) end
    if T.is_tensor(v) then
      if v:dim() ~= 1 and v:dim() ~= 2 then
        argerr(2, fname, ("column '%s' must be a 1-d or 2-d tensor, got %d-d"):format(name, v:dim()))
      end
      local dt = v:dtype()
      if dt == "bfloat16" or (dt == "float16" and not keep_half) then v = v:float() end
      prepared[name] = v:contiguous()
    elseif type(v) == "table" and v.codes ~= nil then
      if not T.is_tensor(v.codes) or v.codes:dim() ~= 1 or not ({ int64 = 1, int32 = 1, uint8 = 1 })[v.codes:dtype()] then
        argerr(2, fname, ("column '%s': codes must be a 1-d integer tensor"):format(name))
      end
      if type(v.levels) ~= "table" then
        argerr(2, fname, ("column '%s': levels must be an array of strings"):format(name))
      end
      prepared[name] = { codes = v.codes:long():contiguous(), levels = v.levels }
    elseif type(v) == "table" then
      prepared[name] = v
    else
      argerr(2, fname, ("column '%s' must be a tensor, a string array or {codes, levels}, got %s"):format(name, type(v)))
    end
  end
  return prepared
end

-- Rows per row group or record batch when not given: about 8 MiB of fixed-width values (text
-- counted as 16 bytes a row), from 1,024 to 1,048,576 rows.
local function auto_rows(prepared, names)
  local row_bytes = 0
  for _, name in ipairs(names) do
    local v = prepared[name]
    local rows = T.is_tensor(v) and v:size(1) or 0
    row_bytes = row_bytes + (T.is_tensor(v) and (rows > 0 and v:nbytes() // rows or 0) or 16)
  end
  return math.max(1024, math.min(1048576, (8 * 1048576) // math.max(1, row_bytes)))
end

--- write_parquet(path, {name = column} [, opts]) -> true | nil, message
-- Writes a table of columns as a Parquet file that pandas, polars, pyarrow and Hugging Face
-- datasets read: 1-D tensors as INT32/INT64/FLOAT/DOUBLE/BOOLEAN columns (uint8 widened to
-- INT32, float16 and bfloat16 to FLOAT); a 2-D tensor [rows x d] as a list<element> column (an
-- embedding column: required list of required elements); a Lua string array (io.null for a
-- null) as a UTF-8 string column; {codes = tensor, levels = {...}} (as read_parquet and
-- read_csv give them; code 0 a null) as a dictionary-encoded string column. The file is
-- replaced atomically. Options:
--   columns = sorted names  the columns to write, in order
--   compression = "snappy"  "snappy", "zstd" or "none" (libsnappy/libzstd loaded on first use)
--   zstd_level = 3          1..22
--   row_group_rows = auto   rows per row group (what open_parquet streams one at a time);
--                           auto: about 8 MiB of values (8,192 rows of 256 float32), from 1,024
--                           to 1,048,576 rows (lunette's reader is fastest on groups this size)
--   dictionary = true       dictionary-encode a string array whose distinct values are at most
--                           half its rows (otherwise PLAIN); {codes, levels} always are
--
--   io.write_parquet("emb.parquet", { emb = X, label = { codes = y, levels = names } },
--                    { compression = "zstd" })
function M.write_parquet(path, columns, opts)
  check("write_parquet", 3, opts,
        { "columns", "compression", "zstd_level", "row_group_rows", "dictionary" })
  opts = opts or {}
  if type(path) ~= "string" then argerr(1, "write_parquet", "string expected, got " .. type(path)) end
  if type(columns) ~= "table" or T.is_tensor(columns) then
    argerr(2, "write_parquet", "a table of columns expected, got " .. (T.is_tensor(columns) and "a tensor" or type(columns)))
  end
  local codec = ({ none = 0, snappy = 1, zstd = 2 })[opts.compression or "snappy"]
  if not codec then argerr(3, "write_parquet", "compression must be \"snappy\", \"zstd\" or \"none\"") end
  local level = opts.zstd_level or 3
  if math.type(level) ~= "integer" or level < 1 or level > 22 then
    argerr(3, "write_parquet", "zstd_level must be an integer in 1..22")
  end
  local group = opts.row_group_rows
  if group ~= nil and (math.type(group) ~= "integer" or group < 1) then
    argerr(3, "write_parquet", "row_group_rows must be a positive integer")
  end
  local dictionary = opts.dictionary
  if dictionary == nil then dictionary = true end
  if type(dictionary) ~= "boolean" then argerr(3, "write_parquet", "dictionary must be a boolean") end
  local names = names_to_write("write_parquet", columns, opts.columns, "column", "columns")
  local prepared = prepare_columns("write_parquet", columns, names, false)
  group = group or auto_rows(prepared, names)
  return C.parquet_write(path, prepared, names, codec, group, dictionary, level)
end

--- write_arrow(path, {name = column} [, opts]) -> true | nil, message
-- Writes a table of columns as an Arrow IPC file (Feather v2: pandas.read_feather, polars,
-- pyarrow and apache-arrow read it) or stream: 1-D tensors as Int32/Int64/Float16/Float32/
-- Float64/UInt8/Bool columns (bfloat16 widened to Float32); a 2-D tensor [rows x d] as a
-- FixedSizeList<d> of its element type (an embedding column); a Lua string array (io.null for a
-- null) as Utf8 (LargeUtf8 past 2 GiB of text); {codes = tensor, levels = {...}} (code 0 a
-- null) as a dictionary-encoded Utf8 column, as read_arrow gives it back. The file is replaced
-- atomically. Options:
--   columns = sorted names  the columns to write, in order
--   compression = "none"    "none", "lz4" (LZ4_FRAME) or "zstd" (liblz4/libzstd loaded on first
--                           use); a buffer compression would not shrink is stored as it is
--   zstd_level = 3          1..22
--   batch_rows = auto       rows per record batch (what open_arrow streams one at a time); auto:
--                           about 8 MiB of values, from 1,024 to 1,048,576 rows
--   stream = false          the IPC stream format (no footer) instead of the file format
--
--   io.write_arrow("emb.feather", { emb = X, label = { codes = y, levels = names } },
--                  { compression = "zstd" })
function M.write_arrow(path, columns, opts)
  check("write_arrow", 3, opts, { "columns", "compression", "zstd_level", "batch_rows", "stream" })
  opts = opts or {}
  if type(path) ~= "string" then argerr(1, "write_arrow", "string expected, got " .. type(path)) end
  if type(columns) ~= "table" or T.is_tensor(columns) then
    argerr(2, "write_arrow", "a table of columns expected, got " .. (T.is_tensor(columns) and "a tensor" or type(columns)))
  end
  local codec = ({ none = -1, lz4 = 0, zstd = 1 })[opts.compression or "none"]
  if not codec then argerr(3, "write_arrow", "compression must be \"none\", \"lz4\" or \"zstd\"") end
  local level = opts.zstd_level or 3
  if math.type(level) ~= "integer" or level < 1 or level > 22 then
    argerr(3, "write_arrow", "zstd_level must be an integer in 1..22")
  end
  local batch = opts.batch_rows
  if batch ~= nil and (math.type(batch) ~= "integer" or batch < 1) then
    argerr(3, "write_arrow", "batch_rows must be a positive integer")
  end
  local stream = opts.stream
  if stream == nil then stream = false end
  if type(stream) ~= "boolean" then argerr(3, "write_arrow", "stream must be a boolean") end
  local names = names_to_write("write_arrow", columns, opts.columns, "column", "columns")
  local prepared = prepare_columns("write_arrow", columns, names, true)
  batch = batch or auto_rows(prepared, names)
  return C.arrow_write(path, prepared, names, codec, batch, stream, level)
end

---------------------------------------------------------------------------
-- load / save by file type
---------------------------------------------------------------------------

local function lower(s) return s:lower() end

local function kind_of(path)
  local p = lower(path)
  if p:match("%.npy$") then return "npy"
  elseif p:match("%.npz$") then return "npz"
  elseif p:match("%.safetensors$") then return "safetensors"
  elseif p:match("%.pth?$") or p:match("%.ckpt$") then return "pt"
  elseif p:match("%.csv$") then return "csv"
  elseif p:match("%.png$") then return "png"
  elseif p:match("%.parquet$") then return "parquet"
  elseif p:match("%.arrows?$") or p:match("%.feather$") or p:match("%.ipc$") then return "arrow"
  elseif p:match("%.h5$") or p:match("%.hdf5$") or p:match("%.he5$") then return "hdf5"
  elseif p:match("ubyte%.gz$") or p:match("ubyte$") or p:match("%.idx%d?$") or p:match("%.idx%d?%.gz$") then return "idx"
  end
end

-- The format named by the first bytes of a file, for names that say nothing.
local function sniff(path)
  local f = io and io.open(path, "rb")
  if not f then return nil end
  local head = f:read(8) or ""
  f:close()
  if head:sub(1, 6) == "\147NUMPY" then return "npy"
  elseif head:sub(1, 8) == "\137PNG\r\n\26\n" then return "png"
  elseif head:sub(1, 4) == "PK\3\4" then return "zip"
  elseif head:sub(1, 4) == "PAR1" then return "parquet"
  elseif head:sub(1, 6) == "ARROW1" or head:sub(1, 4) == "\255\255\255\255" then return "arrow"
  elseif head == "\137HDF\r\n\26\n" then return "hdf5"
  elseif head:sub(1, 2) == "\31\139" or head:sub(1, 2) == "\0\0" then return "idx"
  elseif #head == 8 and head:byte(8) == 0 then return "safetensors"
  end
end

local readers = {
  npy = C.read_npy, npz = C.read_npz, pt = M.load_pt, idx = C.read_idx, png = C.read_png,
  safetensors = function(path, opts) return C.read_safetensors(path, opts) end,
  csv = function(path, opts) return C.read_csv(path, opts) end,
  parquet = function(path, opts) return M.read_parquet(path, opts) end,
  arrow = function(path, opts) return M.read_arrow(path, opts) end,
  hdf5 = function(path, opts) return M.read_hdf5(path, opts) end,
}

-- load(path [, opts]) -> value | nil, message
-- What the file holds, by its extension (or its first bytes): .npy a
-- tensor; .npz {name = tensor}; .safetensors {name = tensor}, metadata;
-- .pt/.pth/.ckpt the checkpoint's value (a working model for a whole model
-- io.save wrote; io.load_pt gives the raw dict); .csv a tensor and the column
-- names; .png an image tensor; IDX (...-ubyte[.gz], .idx) a tensor; .parquet read_parquet's
-- table of columns; .arrow/.feather/.ipc/.arrows read_arrow's; .h5/.hdf5 read_hdf5's datasets
-- and attributes. An
-- unknown type is nil, message; a non-string path raises. opts are the reader's (read_csv's
-- header, sep, dtype, frame, usecols, na, text; read_idx's dtype, scale; every reader's
-- limits); others raise.
function M.load(path, opts)
  if type(path) ~= "string" then
    raise("bad argument #1 to 'load' (path expected, got " .. type(path) .. ")")
  end
  local kind = kind_of(path) or sniff(path)
  if kind == "zip" then -- an .npz or a torch checkpoint under another name
    local a = C.open_npz(path)
    local npz = a and #a > 0
    if a then a:close() end
    kind = npz and "npz" or "pt"
  end
  local read = readers[kind or ""]
  if not read then return nil, path .. ": unknown file type (use a .npy, .npz, .safetensors, .pt, .csv, .png, .parquet, .arrow/.feather or IDX name)" end
  check("load", 2, opts, KEYS[kind == "pt" and "load_pt" or "read_" .. kind])
  if kind ~= "pt" then return read(path, opts) end
  local v, err = read(path, opts)
  -- A whole model saved by io.save comes back as a working model.
  if type(v) == "table" and rawget(v, "lunette_model") ~= nil then
    local model, why = require("lunette.nn_zoo")._checkpoint.rebuild(v)
    if not model then return nil, path .. ": " .. why end
    return model
  end
  return v, err
end

local SAVE_KEYS = { npy = {}, png = {}, npz = KEYS.write_npz, safetensors = { "metadata" },
                    parquet = { "columns", "compression", "zstd_level", "row_group_rows", "dictionary" },
                    arrow = { "columns", "compression", "zstd_level", "batch_rows", "stream" },
                    hdf5 = { "attrs", "datasets" },
                    pt = KEYS.save_pt, csv = KEYS.write_csv }
local writers = {
  npy = function(path, x) return C.write_npy(path, x) end,
  npz = function(path, x, opts) return C.write_npz(path, x, opts) end,
  safetensors = function(path, x, opts) return C.write_safetensors(path, x, opts and opts.metadata) end,
  pt = function(path, x, opts) return C.save_pt(path, x, opts) end,
  csv = function(path, x, opts) return M.write_csv(path, x, opts) end,
  png = function(path, x) return C.write_png(path, x) end,
  parquet = function(path, x, opts) return M.write_parquet(path, x, opts) end,
  -- .arrows is the stream format's usual name
  arrow = function(path, x, opts)
    if path:lower():match("%.arrows$") and (opts == nil or opts.stream == nil) then
      local o = { stream = true }
      for k, v in pairs(opts or {}) do o[k] = v end
      opts = o
    end
    return M.write_arrow(path, x, opts)
  end,
  hdf5 = function(path, x, opts) return M.write_hdf5(path, x, opts) end,
}

-- A model (an nn module): its internals are Lua tables and closures, not data to write.
local function is_module(x)
  return type(x) == "table" and getmetatable(x) ~= nil and rawget(x, "_params") ~= nil
end

-- What save writes for value: a whole zoo model becomes its checkpoint table; any other
-- model, or a model inside a table, raises pointing at state_dict.
local function savable(kind, value)
  local hint = "save model:state_dict() and load it with model:load_state_dict(io.load(path))"
  if is_module(value) then
    if kind ~= "pt" then
      error(("bad argument #2 to 'save' (a model saves whole only to .pt; %s)"):format(hint), 3)
    end
    local ck, why = require("lunette.nn_zoo")._checkpoint.whole(value)
    if not ck then error(("bad argument #2 to 'save' (%s: %s)"):format(why, hint), 3) end
    return ck
  end
  if type(value) == "table" then
    for k, v in next, value do
      if is_module(v) then
        error(("bad argument #2 to 'save' (value.%s is a model: %s)"):format(tostring(k), hint), 3)
      end
    end
  end
  return value
end

-- save(path, value [, opts]) -> true | nil, message
-- Writes by extension: .npy a tensor; .npz {name = tensor} ({compress =
-- true} deflates); .safetensors {name = tensor} ({metadata = {k = "v"}});
-- .pt/.pth any value torch.load reads back; .csv a 1-d/2-d tensor or a table of columns
-- ({header = {...}, sep = ","}); .png an image; .parquet a table of columns (write_parquet's
-- options); .arrow/.feather/.ipc a table of columns (write_arrow's options; .arrows the stream
-- format); .h5/.hdf5 a table of datasets (write_hdf5's options). An unknown extension, or an
-- option the
-- type's writer does not take, raises.
-- A zoo model (nn.mlp, nn.small_cnn, nn.resnet18, nn.resnext29) saves whole to
-- .pt: its constructor, options and state dict, which io.load turns back into
-- a working model (torch.load reads it as a dict with a "state_dict"). Any
-- other model raises: save model:state_dict() instead.
function M.save(path, value, opts)
  if type(path) ~= "string" then
    raise("bad argument #1 to 'save' (path expected, got " .. type(path) .. ")")
  end
  local kind = kind_of(path)
  local w = writers[kind or ""]
  if not w then
    raise("bad argument #1 to 'save' (unknown file type for '" .. path .. "'; use .npy, .npz, .safetensors, .pt, .csv, .png, .parquet, .arrow/.feather or .h5)")
  end
  -- array: io.save(p, m:state_dict()) also passes state_dict's second value (its keys)
  check("save", 3, opts, SAVE_KEYS[kind_of(path)], true)
  return w(path, savable(kind, value), opts)
end

-- The readers that take a string instead of a path.
local from_bytes = {
  npy = C.read_npy_bytes, npz = C.read_npz_bytes, safetensors = C.read_safetensors_bytes,
  pt = function(b, opts) return C.load_pt_bytes(b, opts, ordered.pairs) end,
  idx = C.read_idx_bytes, png = C.read_png_bytes, csv = C.read_csv_bytes, cifar = C.read_cifar_bytes,
}
-- read_bytes(format, bytes [, opts]) -> value | nil, message
-- The reader of format ("npy", "npz", "safetensors", "pt", "idx", "png",
-- "csv", "cifar") on a string instead of a file (tests, fuzz-corpus
-- replays, data from the network); an unknown format raises.
function M.read_bytes(format, bytes, opts)
  local f = from_bytes[format]
  if not f then raise("bad argument #1 to 'read_bytes' (unknown format '" .. tostring(format) .. "')") end
  check("read_bytes", 3, opts, KEYS[format == "pt" and "load_pt" or "read_" .. format])
  return f(bytes, opts)
end

return M
