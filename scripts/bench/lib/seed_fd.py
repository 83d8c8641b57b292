"""seed_fd.py - the seed's Frequent Directions, as the SAGE code runs it, in plain torch on the CPU.

The peer of lunette's sketch rows (cases 55_sketch, 65_sage). The loop is
sage_core.gpu_fd_stream's: an ell-row buffer B; rows go into the empty slots;
when B is full, torch.linalg.svd(B) in float32, delta = s[-1]^2 (the smallest
singular value squared), s <- sqrt(max(s^2 - delta, 0)), B <- diag(s) Vt, and
the rows with s > 1e-8 stay (in practice ell - 1 of them: one SVD per row once
B is full). Differences from the seed, all deliberate:
  - B is float32, not float16: torch 1.13 has no float16 matmul on the CPU
    ("addmm_impl_cpu_" not implemented for 'Half'), and the issue asks for the
    float32 CPU peer; the SVD was float32 in the seed too.
  - The state survives between add() calls (the seed's FDStreamer restacks the
    returned B with each new batch and streams again, which ends in the same B).
  - It adds up the shrinkages (self.delta, one float per SVD) so a benchmark can
    compare the certified error bound sum(delta) with lunette's fd:error_bound().
"""
import torch


class SeedFD:
    """The seed's classic FD state: add(rows) streams rows, sketch() is B[:next_row]."""

    def __init__(self, ell, dim, dtype=torch.float32, svd_dtype=torch.float32):
        self.ell, self.dtype, self.svd_dtype = ell, dtype, svd_dtype
        self.B = torch.zeros((ell, dim), dtype=dtype)
        self.next_row = 0
        self.delta = 0.0

    @torch.no_grad()
    def add(self, A):
        A = torch.as_tensor(A).to(self.dtype)
        ell, insert = self.ell, 0
        while insert < A.shape[0]:
            take = min(ell - self.next_row, A.shape[0] - insert)
            self.B[self.next_row:self.next_row + take] = A[insert:insert + take]
            self.next_row += take
            insert += take
            if self.next_row == ell:  # overflow -> compress
                _, s, Vt = torch.linalg.svd(self.B.to(self.svd_dtype), full_matrices=False)
                delta = s[-1] ** 2
                s = torch.sqrt(torch.clamp(s ** 2 - delta, min=0.0))
                self.B = torch.diag(s).to(self.dtype) @ Vt.to(self.dtype)
                self.next_row = int((s > 1e-8).sum())
                if self.next_row < ell:
                    self.B[self.next_row:].zero_()
                self.delta += float(delta)
        return self

    def sketch(self):
        return self.B[:self.next_row].float()


def fd_stream(A, ell):
    """gpu_fd_stream(A, ell) on the CPU in float32: the sketch of all rows of A."""
    return SeedFD(ell, A.shape[1]).add(A).sketch()
