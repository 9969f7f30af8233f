"""bench/mpc_peer.py -- the peers of `make bench-mpc`: mpc.pytorch (mpc 0.0.6) and PyPose (0.9.5)
on the same LQR problems as dopt, float64, one thread.

usage: mpc_peer.py OUTDIR n m T B box
Writes the problem (raw float64, mpc.pytorch's layout: C (T,B,N,N), c (T,B,N), F (B,n,N) shared by
the time steps, f (B,n), x_init (B,n); row-major) and each peer's solution and gradients of
loss = sum_t |x_t|^2 + |u_t|^2 (t < T) to OUTDIR/<case>_*.bin, and one line of timings
(`peer name fwd_ms bwd_ms`) per peer to stdout.  box: 1 = |u| <= 0.5 (PyPose ignores bounds: it is
timed without them only).  mpc.pytorch's per-element convergence flags (its own test, see
converged_mpc_pytorch) go to <case>_mpc_conv.bin.  Times are the CPU time of the thread (time.thread_time), as on
dopt's side: the machine the bench runs on may be shared."""
import sys, time, os
import warnings
import numpy as np
import torch

torch.set_num_threads(1)
warnings.filterwarnings("ignore")
torch.set_default_dtype(torch.float64)


def problem(n, m, T, B, seed):
    g = torch.Generator().manual_seed(seed)
    N = n + m
    M = torch.randn(T, B, N, N, generator=g) / N ** 0.5
    C = M.transpose(-1, -2) @ M + 0.2 * torch.eye(N)
    c = torch.randn(T, B, N, generator=g)
    A = torch.eye(n) + 0.3 * torch.randn(B, n, n, generator=g) / n ** 0.5
    A = A / torch.linalg.matrix_norm(A, ord=2).clamp(min=1.0)[:, None, None] * 0.98
    Bm = 0.5 * torch.randn(B, n, m, generator=g) / n ** 0.5
    F = torch.cat([A, Bm], dim=-1)
    f = 0.1 * torch.randn(B, n, generator=g)
    x0 = torch.randn(B, n, generator=g)
    return C, c, F, f, x0


def timeit(fn, min_total=0.6, min_reps=3, max_reps=50):
    ts = []
    t_start = time.perf_counter()
    while len(ts) < min_reps or (time.perf_counter() - t_start < min_total and len(ts) < max_reps):
        ts.append(fn())
    return float(np.median(ts))


def run_mpc_pytorch(C, c, F, f, x0, n, m, T, B, box):
    from mpc import mpc as M
    N = n + m
    out = {}

    def fwd():
        Cv, cv, Fv, fv, xv = [t.clone().requires_grad_(True) for t in (C, c, F, f, x0)]
        kw = {}
        if box:
            kw = dict(u_lower=-0.5 * torch.ones(T, B, m), u_upper=0.5 * torch.ones(T, B, m))
        ctrl = M.MPC(n, m, T, n_batch=B, exit_unconverged=False, verbose=-1, **kw)
        t0 = time.thread_time()
        x, u, cost = ctrl(xv, M.QuadCost(Cv, cv),
                          M.LinDx(Fv.unsqueeze(0).expand(T - 1, B, n, N), fv.unsqueeze(0).expand(T - 1, B, n)))
        t1 = time.thread_time()
        return (Cv, cv, Fv, fv, xv, x, u), t1 - t0

    def f_fwd():
        return fwd()[1]

    def f_bwd():
        (Cv, cv, Fv, fv, xv, x, u), _ = fwd()
        loss = (x ** 2).sum() + (u ** 2).sum()
        t0 = time.thread_time()
        loss.backward()
        t1 = time.thread_time()
        out.update(x=x.detach(), u=u.detach(), gC=Cv.grad, gc=cv.grad, gF=Fv.grad, gf=fv.grad, gx=xv.grad)
        return t1 - t0

    tf = timeit(f_fwd)
    tb = timeit(f_bwd)
    out["conv"] = converged_mpc_pytorch(M, lambda: fwd(), B)
    return tf, tb, out


def converged_mpc_pytorch(M, solve, B):
    """Per element 1.0 where mpc.pytorch's box-DDP reached its own fixed-point test (the best
    iterate's ||du|| < eps, as MPC.forward decides which elements to detach), else 0.0: the
    elements it does not converge on get no gradient from it (detach_unconverged).  Recorded by
    wrapping MPC.solve_lqr_subproblem and replaying forward's choice of the best iterate."""
    seen = []
    orig = M.MPC.solve_lqr_subproblem

    def spy(self, *a, **kw):
        r = orig(self, *a, **kw)
        if not kw.get("no_op_forward"):
            seen.append((r[3].detach().clone(), r[4].detach().clone(), self.best_cost_eps, self.eps))
        return r

    M.MPC.solve_lqr_subproblem = spy
    try:
        solve()
    finally:
        M.MPC.solve_lqr_subproblem = orig
    costs, dun, bce, eps = seen[0]
    costs, dun = costs.clone(), dun.clone()
    for c, d, _, _ in seen[1:]:
        better = c <= costs + bce
        costs = torch.where(better, c, costs)
        dun = torch.where(better, d, dun)
    return (dun < eps).to(torch.float64)


def run_pypose(C, c, F, f, x0, n, m, T, B):
    import pypose as pp
    out = {}

    def fwd():
        Q = C.permute(1, 0, 2, 3).contiguous().requires_grad_(True)
        p = c.permute(1, 0, 2).contiguous().requires_grad_(True)
        Fv = F.clone().requires_grad_(True)
        fv = f.clone().requires_grad_(True)
        xv = x0.clone().requires_grad_(True)
        t0 = time.thread_time()
        sys_ = pp.module.LTI(Fv[..., :n], Fv[..., n:], torch.eye(n), torch.zeros(n, m), fv, torch.zeros(n))
        lqr = pp.module.LQR(sys_, Q, p, T)
        x, u, cost = lqr(xv)
        t1 = time.thread_time()
        return (Q, p, Fv, fv, xv, x, u), t1 - t0

    def f_fwd():
        return fwd()[1]

    def f_bwd():
        (Q, p, Fv, fv, xv, x, u), _ = fwd()
        loss = (x[:, :T] ** 2).sum() + (u ** 2).sum()
        t0 = time.thread_time()
        loss.backward()
        t1 = time.thread_time()
        out.update(x=x[:, :T].detach().permute(1, 0, 2), u=u.detach().permute(1, 0, 2),
                   gC=Q.grad.permute(1, 0, 2, 3), gc=p.grad.permute(1, 0, 2), gF=Fv.grad, gf=fv.grad, gx=xv.grad)
        return t1 - t0

    tf = timeit(f_fwd)
    tb = timeit(f_bwd)
    return tf, tb, out


def save(prefix, d):
    for k, v in d.items():
        np.ascontiguousarray(v.detach().numpy(), dtype=np.float64).tofile(prefix + k + ".bin")


def main():
    outdir, n, m, T, B, box = sys.argv[1], *map(int, sys.argv[2:7])
    case = f"{n}_{m}_{T}_{B}_{box}"
    C, c, F, f, x0 = problem(n, m, T, B, seed=n * 1000 + T * 10 + B)
    save(os.path.join(outdir, case + "_"), dict(C=C, c=c, F=F, f=f, x0=x0))
    tf, tb, out = run_mpc_pytorch(C, c, F, f, x0, n, m, T, B, box)
    save(os.path.join(outdir, case + "_mpc_"), out)
    print(f"peer mpc.pytorch {tf * 1e3:.4f} {tb * 1e3:.4f} conv={int(out['conv'].sum())}/{B}")
    if not box:
        tf, tb, out = run_pypose(C, c, F, f, x0, n, m, T, B)
        out["gC"] = 0.5 * (out["gC"] + out["gC"].transpose(-1, -2))  # symmetric dC, as dopt's
        save(os.path.join(outdir, case + "_pypose_"), out)
        print(f"peer pypose {tf * 1e3:.4f} {tb * 1e3:.4f}")


if __name__ == "__main__":
    main()
