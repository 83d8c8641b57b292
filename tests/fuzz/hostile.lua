-- hostile.lua: builders for malformed and malicious files (zip archives,
-- pickles, npy/safetensors/IDX/PNG headers) and the table of classic hostile
-- inputs with the error each must produce. Used by hostile_spec.lua and by
-- make_corpus.lua (which turns them into fuzzing seeds).
local M = {}

local CRC = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do c = (c & 1) ~= 0 and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
  CRC[i] = c
end
function M.crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = CRC[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end

-- zip{ {name=, data=, [crc=], [usize=], [lho=]}, ... } -> a stored zip; the
-- optional fields override what is written in the central directory.
function M.local_header(name, data, crc)
  return string.pack("<I4I2I2I2I2I2I4I4I4I2I2", 0x04034b50, 20, 0, 0, 0, 0x21, crc or M.crc32(data), #data, #data, #name, 0) .. name
end

function M.zip(entries)
  local out, cd, pos = {}, {}, 0
  for _, e in ipairs(entries) do
    local crc = e.crc or M.crc32(e.data)
    local lh = M.local_header(e.name, e.data, e.crc_both and crc):sub(1, 30)
    cd[#cd + 1] = string.pack("<I4I2I2I2I2I2I2I4I4I4I2I2I2I2I2I4I4", 0x02014b50, 20, 20, 0, 0, 0, 0x21, crc,
                              #e.data, e.usize or #e.data, #e.name, 0, 0, 0, 0, 0, e.lho or pos) .. e.name
    out[#out + 1] = lh .. e.name .. e.data
    pos = pos + #lh + #e.name + #e.data
  end
  local cds = table.concat(cd)
  return table.concat(out) .. cds .. string.pack("<I4I2I2I2I2I4I4I2", 0x06054b50, 0, 0, #entries, #entries, #cds, pos, 0)
end

-- ---- pickles ----------------------------------------------------------------

local P = {}
M.P = P
function P.global(mod, name) return "c" .. mod .. "\n" .. name .. "\n" end
function P.str(s) return "X" .. string.pack("<I4", #s) .. s end
function P.int(v) return "J" .. string.pack("<i4", v) end
P.mark, P.tuple, P.reduce, P.stop, P.none = "(", "t", "R", ".", "N"
P.empty_dict, P.empty_list, P.empty_tuple = "}", "]", ")"
P.proto = "\x80\x02"

-- The persistent id and rebuild call torch writes for a float tensor.
function P.tensor(key, numel, offset, size, stride, stype)
  local s = P.global("torch._utils", "_rebuild_tensor_v2") .. P.mark ..
    P.mark .. P.str("storage") .. P.global("torch", stype or "FloatStorage") .. P.str(key) .. P.str("cpu") .. P.int(numel) .. P.tuple .. "Q" ..
    P.int(offset) .. P.mark
  for _, v in ipairs(size) do s = s .. P.int(v) end
  s = s .. P.tuple .. P.mark
  for _, v in ipairs(stride) do s = s .. P.int(v) end
  return s .. P.tuple .. "\x89" .. P.global("collections", "OrderedDict") .. P.empty_tuple .. P.reduce .. P.tuple .. P.reduce
end

-- A torch.save-style archive holding data.pkl and storages {key = bytes}.
function M.pt(pkl, storages, extra)
  local e = {{name = "archive/data.pkl", data = pkl}, {name = "archive/version", data = "3\n"}}
  for k, v in pairs(storages or {}) do e[#e + 1] = {name = "archive/data/" .. k, data = v} end
  for _, x in ipairs(extra or {}) do e[#e + 1] = x end
  return M.zip(e)
end

local function floats(n) return string.rep(string.pack("<f", 1.5), n) end

-- ---- npy, safetensors, IDX, PNG --------------------------------------------------

function M.npy(dict, data, version)
  local v = version or 1
  local head = dict .. "\n"
  if v == 1 then return "\x93NUMPY\1\0" .. string.pack("<I2", #head) .. head .. (data or "") end
  return "\x93NUMPY" .. string.char(v, 0) .. string.pack("<I4", #head) .. head .. (data or "")
end

function M.st(header, data) return string.pack("<I8", #header) .. header .. (data or "") end

function M.idx(t, dims, data)
  local s = string.char(0, 0, t, #dims)
  for _, d in ipairs(dims) do s = s .. string.pack(">I4", d) end
  return s .. (data or "")
end

function M.png_chunk(typ, data) return string.pack(">I4", #data) .. typ .. data .. string.pack(">I4", M.crc32(typ .. data)) end
function M.png_ihdr(w, h, depth, color)
  return "\137PNG\r\n\26\n" .. M.png_chunk("IHDR", string.pack(">I4I4BBBBB", w, h, depth or 8, color or 0, 0, 0, 0))
end

-- ---- the classic hostile files ------------------------------------------------------
-- {format, name, bytes, error pattern (plain text)}

local cases = {}
M.cases = cases
local function add(fmt, name, bytes, pat) cases[#cases + 1] = {fmt = fmt, name = name, bytes = bytes, pat = pat} end

-- npy
add("npy", "v2 header length 0xFFFFFFF0 in a 12-byte file", "\x93NUMPY\2\0" .. string.pack("<I4", 0xFFFFFFF0), "header length 4294967280 exceeds")
add("npy", "shape product overflows", M.npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }"), "overflows")
add("npy", "huge shape in a tiny file", M.npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"), "truncated")
add("npy", "nine dims", M.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }"), "more than 8 dims")
add("npy", "negative dim", M.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "negative")
add("npy", "float dim", M.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,), }"), "tuple of integers")
add("npy", "list shape", M.npy("{'descr': '<f4', 'fortran_order': False, 'shape': [3], }"), "must be a tuple")
add("npy", "object array", M.npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "\x80\x02N."), "object arrays are not supported")
add("npy", "structured dtype", M.npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"), "structured dtypes")
add("npy", "complex dtype", M.npy("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }"), "unsupported dtype '<c16'")
add("npy", "text array without its data", M.npy("{'descr': '<U10', 'fortran_order': False, 'shape': (1,), }"), "truncated")
add("npy", "text width past the limit", M.npy("{'descr': '<U99999999999', 'fortran_order': False, 'shape': (1,), }"), "unsupported dtype")
add("npy", "text of an invalid code point", M.npy("{'descr': '<U1', 'fortran_order': False, 'shape': (1,), }", "\0\0\17\0"), "invalid code point")
add("npy", "text in Fortran order", M.npy("{'descr': '<U1', 'fortran_order': True, 'shape': (1, 2), }", ("\0"):rep(8)), "Fortran-order string")
add("npy", "fortran_order 1", M.npy("{'descr': '<f4', 'fortran_order': 1, 'shape': (1,), }"), "True or False")
add("npy", "missing key", M.npy("{'descr': '<f4', 'shape': (1,), }", "\0\0\0\0"), "lacks 'fortran_order'")
add("npy", "extra key", M.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}"), "unexpected key 'x'")
add("npy", "no newline", "\x93NUMPY\1\0" .. string.pack("<I2", 4) .. "{}  ", "newline")
add("npy", "bad version", "\x93NUMPY\4\0\0\0\0\0", "unsupported .npy version 4.0")
add("npy", "not npy", "hello world, not numpy", "bad magic")
add("npy", "truncated data", M.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", "\0\0\0\0"), "truncated")
add("npy", "trailing bytes", M.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "\0\0\0\0junk"), "trailing")
add("npy", "uint64", M.npy("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", string.rep("\0", 8)), "uint64 is not supported")

-- safetensors
local F16 = floats(4)
add("safetensors", "empty file", "", "too small")
add("safetensors", "5 bytes", "\1\0\0\0\0", "too small")
add("safetensors", "header length past the file", string.pack("<I8", 60), "exceeds the file")
add("safetensors", "header length 2^64-1", string.rep("\255", 8) .. "{}", "exceeds the 100000000-byte limit")
add("safetensors", "header not UTF-8", M.st("\255"), "not valid UTF-8")
add("safetensors", "header not JSON", M.st("{"), "invalid JSON header")
add("safetensors", "header a JSON array", M.st("[]"), "not a JSON object")
add("safetensors", "overlapping offsets (10 tensors on the same 16 bytes)", (function()
  local h = {}
  for i = 1, 10 do h[i] = ('"t%d":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}'):format(i) end
  return M.st("{" .. table.concat(h, ",") .. "}", F16)
end)(), "overlap")
add("safetensors", "gap between tensors", M.st('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', floats(3)), "gap")
add("safetensors", "trailing polyglot bytes", M.st('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', floats(1) .. "extra_bogus_data_for_polyglot_file"), "trailing bytes")
add("safetensors", "two bytes missing", M.st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', floats(1) .. "\0\0"), "truncated")
add("safetensors", "size mismatch (I32 [2,2] in 4 bytes)", M.st('{"a":{"dtype":"I32","shape":[2,2],"data_offsets":[0,4]}}', floats(1)), "need 16 bytes, data_offsets give 4")
add("safetensors", "shape overflow", M.st('{"a":{"dtype":"F32","shape":[2,18446744073709551614],"data_offsets":[0,4]}}', floats(1)), "shape overflows")
add("safetensors", "negative dim", M.st('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', floats(1)), "negative")
add("safetensors", "float dim", M.st('{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,4]}}', floats(1)), "fraction or exponent")
add("safetensors", "string dim", M.st('{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,4]}}', floats(1)), "integer expected")
add("safetensors", "end before begin", M.st('{"a":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}}'), "end before they begin")
add("safetensors", "unknown dtype", M.st('{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,4]}}', floats(1)), "unknown dtype 'F128'")
add("safetensors", "lowercase dtype", M.st('{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}', floats(1)), "unknown dtype 'f32'")
add("safetensors", "fp8 dtype", M.st('{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', "\0"), "F8_E4M3 is not supported")
add("safetensors", "duplicate names", M.st('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', floats(2)), "duplicate tensor name 'a'")
add("safetensors", "metadata not strings", M.st('{"__metadata__":{"k":1}}'), "not a string")
add("safetensors", "unexpected field", M.st('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}', floats(1)), "unexpected field 'x'")

-- pickles inside torch archives
local function pk(body) return M.pt(P.proto .. body .. P.stop) end
add("pt", "GLOBAL os.system + REDUCE", pk(P.global("os", "system") .. P.mark .. P.str("touch /tmp/lunette_pwned") .. P.tuple .. P.reduce), "unsupported global 'os.system'")
add("pt", "GLOBAL posix.system", pk(P.global("posix", "system") .. P.mark .. P.str("id") .. P.tuple .. P.reduce), "unsupported global 'posix.system'")
add("pt", "builtins.eval", pk(P.global("builtins", "eval") .. P.mark .. P.str("1") .. P.tuple .. P.reduce), "unsupported global 'builtins.eval'")
add("pt", "torch.load", pk(P.global("torch", "load") .. P.empty_tuple .. P.reduce), "unsupported global 'torch.load'")
add("pt", "numpy reconstruct", pk(P.global("numpy.core.multiarray", "_reconstruct") .. P.empty_tuple .. P.reduce), "unsupported global 'numpy.core.multiarray._reconstruct'")
add("pt", "INST opcode", pk("ios\nsystem\n(S'id'\n"), "unsupported pickle opcode INST")
add("pt", "STACK_GLOBAL opcode", pk(P.str("os") .. P.str("system") .. "\x93"), "unsupported pickle opcode STACK_GLOBAL")
add("pt", "protocol 4 FRAME", M.pt("\x80\x04\x95" .. string.pack("<I8", 2) .. "N."), "unsupported pickle opcode FRAME")
add("pt", "BINBYTES8", pk("\x8e" .. string.pack("<I8", 0xFFFFFFFFFF)), "unsupported pickle opcode BINBYTES8")
add("pt", "NEWOBJ", pk(P.global("collections", "OrderedDict") .. P.empty_tuple .. "\x81"), "unsupported pickle opcode NEWOBJ")
add("pt", "SETITEM on a list", pk(P.empty_list .. P.str("k") .. P.int(1) .. "s"), "SETITEM on something that is not a dict")
add("pt", "APPEND on a dict", pk(P.empty_dict .. P.int(1) .. "a"), "APPEND on something that is not a list")
add("pt", "TUPLE without MARK", pk(P.int(1) .. P.tuple), "missing MARK")
add("pt", "STOP on an empty stack", M.pt(P.proto .. P.stop), "STOP with a malformed stack")
add("pt", "pop from an empty stack", pk("s"), "stack underflow")
add("pt", "BINGET of an unset memo entry", pk("h\7"), "memo entry 7 was never stored")
add("pt", "LONG_BINPUT 0xFFFFFFFF then a missing LONG_BINGET", pk(P.none .. "r\255\255\255\255" .. "j\0\0\0\1"), "memo entry 16777216 was never stored")
add("pt", "BINUNICODE length 0xFFFFFFFF", pk("X\255\255\255\255abc"), "unexpected end of data")
add("pt", "LONG1 of 255 bytes", pk("\x8a\255" .. string.rep("\1", 255)), "LONG1 integer wider than 64 bits")
add("pt", "a million MARKs", pk(string.rep("(", 1000000)), "MARKs nested too deeply")
add("pt", "lists nested 10000 deep", pk(string.rep("]", 10000) .. string.rep("a", 9999)), "nests containers deeper than 200 levels")
add("pt", "storage key with a path", M.pt(P.proto .. P.tensor("../../x", 4, 0, {4}, {1}) .. P.stop, {["0"] = floats(4)}), "storage key is not a decimal number")
add("pt", "storage of 2^40 elements", M.pt(P.proto .. P.tensor("0", 1, 0, {1}, {1}):gsub("J\1\0\0\0t", "\x8a\6\0\0\0\0\0\1t", 1) .. P.stop, {["0"] = floats(1)}), "record holds 4 bytes")
add("pt", "numel disagrees with the record", M.pt(P.proto .. P.tensor("0", 8, 0, {8}, {1}) .. P.stop, {["0"] = floats(4)}), "declares 8 elements of float32 (32 bytes) but its record holds 16 bytes")
add("pt", "view past the storage", M.pt(P.proto .. P.tensor("0", 4, 2, {2, 2}, {2, 1}) .. P.stop, {["0"] = floats(4)}), "reaches past the end of storage '0'")
add("pt", "empty view past the storage",
    M.pt(P.proto .. P.tensor("0", 4, 1000, {0}, {1}) .. P.stop, {["0"] = floats(4)}),
    "reaches past the end of storage '0'")
-- issue 13 (3): 2^62 float32 elements over one stored element (zero strides)
-- made a tensor whose byte count overflows int64
local huge_view = P.tensor("0", 1, 0, {1 << 30, 1 << 30, 4}, {0, 0, 0})
local huge_pt = M.pt(P.proto .. huge_view .. P.stop, {["0"] = floats(1)})
add("pt", "zero-stride view of 2^62 elements", huge_pt,
  "tensor view of storage '0' has too many elements")
add("pt", "size and stride lengths differ", M.pt(P.proto .. P.tensor("0", 4, 0, {2, 2}, {1}) .. P.stop, {["0"] = floats(4)}), "size and stride differ in length")
add("pt", "one key two dtypes", M.pt(P.proto .. P.mark .. P.tensor("0", 4, 0, {4}, {1}) .. P.tensor("0", 2, 0, {2}, {1}, "LongStorage") .. P.tuple .. P.stop, {["0"] = floats(4)}), "two different types or sizes")
add("pt", "missing storage record", M.pt(P.proto .. P.tensor("5", 4, 0, {4}, {1}) .. P.stop), "storage record 'archive/data/5' is missing")
add("pt", "byteorder middle", M.pt(P.proto .. P.none .. P.stop, nil, {{name = "archive/byteorder", data = "middle"}}), "byteorder record must be 'little' or 'big'")
add("pt", "TorchScript constants.pkl", M.pt(P.proto .. P.none .. P.stop, nil, {{name = "archive/constants.pkl", data = P.proto .. P.none .. P.stop}}), "TorchScript archives are not supported")
add("pt", "a second pickle", M.pt(P.proto .. P.none .. P.stop, nil, {{name = "archive/more/data.pkl", data = P.proto .. P.none .. P.stop}}), "a second pickle")
add("pt", "no data.pkl", M.zip({{name = "archive/version", data = "3\n"}}), "no archive/data.pkl")
add("pt", "members in two folders", M.zip({{name = "a/data.pkl", data = "N."}, {name = "b/version", data = "3"}}), "several folders")
add("pt", "legacy pickle", "\x80\x02\x8a\x0alz\xfc\x9cF\xf9 j\xa8P\x19.", "legacy torch.save format")
add("pt", "bare global result", pk(P.global("collections", "OrderedDict")), "bare class or function")

-- zip layer (npz)
local npy1 = M.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats(1))
add("npz", "not a zip", "PK but not really a zip archive at all", "no end-of-central-directory")
add("npz", "CRC mismatch", M.zip({{name = "a.npy", data = npy1, crc = 12345}}), "local header sizes or CRC differ")
add("npz", "central size disagrees with the local header", M.zip({{name = "a.npy", data = npy1, usize = 1 << 20}}), "local header sizes or CRC differ")
add("npz", "wrong CRC in both headers", M.zip({{name = "a.npy", data = npy1, crc = 12345, crc_both = true}}), "CRC-32 mismatch")
add("npz", "overlapping members (a local header inside another member)",
    M.zip({{name = "a.npy", data = npy1 .. M.local_header("b.npy", npy1) .. npy1}, {name = "b.npy", data = npy1, lho = 30 + 5 + #npy1}}),
    "members 'a.npy' and 'b.npy' overlap")
add("npz", "member name with ..", M.zip({{name = "../a.npy", data = npy1}}), "contains '..'")
add("npz", "absolute member name", M.zip({{name = "/etc/a.npy", data = npy1}}), "not a safe relative path")
add("npz", "duplicate members", M.zip({{name = "a.npy", data = npy1}, {name = "a.npy", data = npy1}}), "duplicate member 'a.npy'")
add("npz", "member truncated npy", M.zip({{name = "a.npy", data = npy1:sub(1, -2)}}), "member 'a.npy': truncated")

-- IDX
add("idx", "magic bytes not zero", "\1\0\8\1\0\0\0\1x", "bad magic")
add("idx", "unknown type", "\0\0\255\1\0\0\0\1x", "unknown IDX type code 0xff")
add("idx", "zero dims", "\0\0\8\0", "0 dims")
add("idx", "200 dims", "\0\0\8\200" .. string.rep("\0\0\0\1", 200), "200 dims")
add("idx", "dims overflow", M.idx(8, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}), "overflows")
add("idx", "dims claim more than the file", M.idx(8, {60000, 28, 28}, "abc"), "truncated")
add("idx", "trailing bytes", M.idx(8, {2}, "abc"), "trailing")

-- PNG
add("png", "not a PNG", "GIF89a", "bad signature")
add("png", "bad CRC", "\137PNG\r\n\26\n" .. string.pack(">I4", 13) .. "IHDR" .. string.pack(">I4I4BBBBB", 1, 1, 8, 0, 0, 0, 0) .. "\0\0\0\0", "CRC mismatch")
add("png", "1e6 x 1e6 image in a tiny file", M.png_ihdr(1000000, 1000000) .. M.png_chunk("IDAT", "x") .. M.png_chunk("IEND", ""), "cannot come from 1 compressed bytes")
add("png", "2^31 wide", M.png_ihdr(0x7FFFFFFF, 1) .. M.png_chunk("IEND", ""), "out of range")
add("png", "bad depth", M.png_ihdr(1, 1, 3, 0) .. M.png_chunk("IEND", ""), "invalid color type 0 with bit depth 3")
add("png", "no IDAT", M.png_ihdr(1, 1) .. M.png_chunk("IEND", ""), "no image data")
add("png", "truncated", M.png_ihdr(1, 1):sub(1, 15), "truncated chunk")
add("png", "unknown critical chunk", M.png_ihdr(1, 1) .. M.png_chunk("ABCD", "") .. M.png_chunk("IEND", ""), "unknown critical chunk 'ABCD'")
add("png", "chunk length past the file", M.png_ihdr(1, 1) .. string.pack(">I4", 0x7FFFFFFF) .. "IDATxxxx", "runs past the end")

-- CIFAR
add("cifar", "empty file", "", "whole number of 3073-byte records")
add("cifar", "size not a multiple of 3073", string.rep("\0", 3074), "whole number of 3073-byte records")
add("cifar", "label 10", "\10" .. string.rep("\0", 3072), "label 10, out of range")

-- CSV
add("csv", "unterminated quote at EOF", 'a\n"1', "unterminated quoted field")
add("csv", "junk after a closing quote", 'a\n"1"b\n', "text after a closing quote")
add("csv", "ragged rows", "a,b\n1\n", "has 1 fields, expected 2")
add("csv", "10 MB number", "a\n" .. string.rep("1", 1 << 20), "too long to be a number")

return M
