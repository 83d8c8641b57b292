-- fail.lua: run by tests/dist_spec.lua under mpirun. The last rank raises while the others
-- wait in a collective: the job must end, non-zero, within seconds.
local d = lt.dist
if d.rank() == d.size() - 1 then error("failing on purpose") end
d.allreduce(lt.ones(4))
print("unreachable")
