-- fail.lua: run by tests/dist_spec.lua under mpirun. The last rank raises while the others
-- wait in a collective: the job must end, non-zero, within seconds. The raising rank prints the
-- moment it raises (the machine's monotonic clock, shared by every process on it), so that the
-- spec times the abort and not the start-up of the ranks, which a loaded machine stretches.
local d = lt.dist
if d.rank() == d.size() - 1 then
  io.stderr:write(("raising at %.3f\n"):format(lt.time()))
  error("failing on purpose")
end
d.allreduce(lt.ones(4))
print("unreachable")
