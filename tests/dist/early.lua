-- early.lua: run by tests/dist_spec.lua under mpirun. Rank 1's script ends while the others
-- call a collective: the job must end with an error naming it, not hang in MPI_Finalize. Rank 1
-- prints the moment its script ends (monotonic clock, shared by the processes of a machine) so
-- that the spec times the ending and not the ranks' start-up.
local d = lt.dist
if d.rank() == 1 then
  io.stderr:write(("ending at %.3f\n"):format(lt.time()))
  return
end
d.allreduce(lt.ones(3))
print("unreachable")
