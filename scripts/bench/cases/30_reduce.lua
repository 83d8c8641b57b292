-- reductions over 10^7 float32: full and along a dim (dims are 1-based here,
-- 0-based on the numpy side; argmax indices are 1-based here, +1 on the peer).
-- @row sum_1e7 goal=1 title="sum f32 10^7 → scalar"
-- @row sum_dim1 goal=1 title="sum f32 [10000×1000] over dim 1 → [1000]"
-- @row sum_dim2 goal=1 title="sum f32 [10000×1000] over dim 2 → [10000]"
-- @row argmax_1e7 goal=1 title="argmax f32 10^7 → index"
-- @row argmax_dim2 goal=1 title="argmax f32 [10000×1000] along dim 2 → [10000]"
local bench = require "bench"

local R, C = 10000, 1000
local a = bench.pattern(R, C)

bench.run("sum_1e7", function() return a:sum() end, { check = bench.total })
bench.run("sum_dim1", function() return a:sum(1) end, { check = bench.total })
bench.run("sum_dim2", function() return a:sum(2) end, { check = bench.total })
bench.run("argmax_1e7", function() return a:argmax() end, { check = bench.total })
bench.run("argmax_dim2", function() return a:argmax(2) end, { check = bench.total })
