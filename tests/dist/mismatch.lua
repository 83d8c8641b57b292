-- mismatch.lua: run by tests/dist_spec.lua under mpirun. Ranks call collectives that do not go
-- together; every rank must get the same error (printed), none may hang.
local d = lt.dist
d.print_all = true
local me = d.rank()
local function try(name, f)
  local ok, err = pcall(f)
  print(("rank %d %s: %s"):format(me, name, ok and "no error" or err:gsub("^.-:%d+: ", "")))
end
try("shape", function() d.allreduce(lt.zeros(3, 3 + me)) end)
try("dtype", function() d.allgather(lt.zeros(2, { dtype = me == 0 and "float32" or "int32" })) end)
try("op", function() d.allreduce(lt.zeros(2), me == 0 and "sum" or "max") end)
try("root", function() d.broadcast(lt.zeros(2), me == 0 and 0 or 1) end)
try("kind", function() if me == 0 then d.barrier() else d.gather(lt.zeros(1)) end end)
try("after", function() d.barrier() end)
