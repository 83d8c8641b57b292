-- elementwise: add and exp over 10^7 float32, plain and broadcast.
-- @row add_1e7 goal=1 title="add f32 [10000×1000] + [10000×1000]"
-- @row add_bcast_row goal=1 title="add f32 [10000×1000] + [1000] (broadcast)"
-- @row add_bcast_col goal=1 title="add f32 [10000×1000] + [10000×1] (broadcast)"
-- @row exp_1e7 goal=1 title="exp f32 [10000×1000]"
local bench = require "bench"

local R, C = 10000, 1000
local a = bench.pattern(R, C)
local b = bench.pattern(R, C)
local row = bench.pattern(C)
local col = bench.pattern(R, 1)

bench.run("add_1e7", function() return a + b end, { check = bench.total })
bench.run("add_bcast_row", function() return a + row end, { check = bench.total })
bench.run("add_bcast_col", function() return a + col end, { check = bench.total })
bench.run("exp_1e7", function() return a:exp() end, { check = bench.total })
