-- early.lua: run by tests/dist_spec.lua under mpirun. Rank 1's script ends while the others
-- call a collective: the job must end with an error naming it, not hang in MPI_Finalize.
local d = lt.dist
if d.rank() == 1 then return end
d.allreduce(lt.ones(3))
print("unreachable")
