"""bench/python_bridge.py -- make bench-python (see bench/python.sh)."""
import ctypes
import time

import torch
import dopt
from dopt._lib import ErrInfo, lib
from dopt.layers import _p

torch.set_num_threads(1)
D = torch.float64


def best(fn, reps=7, inner=1):
    ts = []
    for _ in range(reps):
        t0 = time.thread_time()
        for _ in range(inner):
            fn()
        ts.append((time.thread_time() - t0) / inner)
    return min(ts)


def problem(n, m, T, B, seed=0):
    g = torch.Generator().manual_seed(seed)
    N = n + m
    L = torch.randn(B, T, N, N, generator=g, dtype=D) * 0.3
    C = L @ L.transpose(-1, -2) + torch.eye(N, dtype=D)
    c = torch.randn(B, T, N, generator=g, dtype=D)
    F = torch.cat((torch.eye(n, dtype=D) + 0.1 * torch.randn(B, T - 1, n, n, generator=g, dtype=D),
                   torch.randn(B, T - 1, n, m, generator=g, dtype=D)), -1)
    f = 0.1 * torch.randn(B, T - 1, n, generator=g, dtype=D)
    x0 = torch.randn(B, n, generator=g, dtype=D)
    return C, c, F, f, x0


def layer_call(C, c, F, f, x0):
    args = [a.clone().requires_grad_() for a in (C, c, F, f, x0)]
    tau = dopt.lqr(*args)
    (tau ** 2).sum().backward()
    return args


def c_calls(C, c, F, f, x0):
    """The two C calls, arrays and solver made once: what the layer adds is the difference."""
    L = lib()
    B, T, N = c.shape
    n = x0.shape[1]
    m = N - n
    R = ctypes.c_double
    ptr = ctypes.c_void_p()
    info = ErrInfo()
    L.dopt_mpc_lqr_create_d(None, n, m, T, B, ctypes.byref(ptr), ctypes.byref(info))
    Cc, cc, Fc, fc, xc = C.contiguous(), c.contiguous(), F.transpose(-1, -2).contiguous(), f.contiguous(), x0.contiguous()
    tau = torch.empty(B, T, N, dtype=D)
    dt = torch.empty(B, T, N, dtype=D)
    gs = [torch.empty_like(t) for t in (Cc, cc, Fc, fc, xc)]
    st = (ctypes.c_int * B)()
    pin = [_p(t, R) for t in (Cc, cc, Fc, fc, xc)]
    pout = [_p(t, R) for t in gs]
    ptau, pdt = _p(tau, R), _p(dt, R)
    keep = (Cc, cc, Fc, fc, xc, tau, dt, gs)  # the pointers above point into these

    def run(keep=keep):
        L.dopt_bridge_lqr_solve_d(ptr, n, m, T, B, *pin, None, None, ptau, None, st, ctypes.byref(info))
        torch.mul(tau, 2, out=dt)
        L.dopt_bridge_lqr_backward_d(ptr, n, m, T, B, pdt, *pout, st, ctypes.byref(info))
    return run, (lambda: L.dopt_mpc_lqr_destroy_d(ptr))


def mpc_pytorch_call(C, c, F, f, x0):
    from mpc import mpc as M
    B, T, N = c.shape
    n = x0.shape[1]
    Ct, ct = C.transpose(0, 1).contiguous(), c.transpose(0, 1).contiguous()
    Ft, ft = F.transpose(0, 1).contiguous(), f.transpose(0, 1).contiguous()
    args = [a.clone().requires_grad_() for a in (Ct, ct, Ft, ft, x0)]
    ctrl = M.MPC(n, N - n, T, n_batch=B, exit_unconverged=False, verbose=-1)
    x, u, _ = ctrl(args[4], M.QuadCost(args[0], args[1]), M.LinDx(args[2], args[3]))
    ((x ** 2).sum() + (u ** 2).sum()).backward()
    return args


def main():
    n, m, T = 4, 2, 20
    for B in (1, 256):
        P = problem(n, m, T, B)
        inner = 20 if B == 1 else 2
        t_layer = best(lambda: layer_call(*P), inner=inner)
        run, done = c_calls(*P)
        t_c = best(run, inner=inner)
        done()
        print("bench python overhead n=%d m=%d T=%d B=%d layer_us=%.1f c_us=%.1f overhead_us=%.1f ratio=%.2f"
              % (n, m, T, B, 1e6 * t_layer, 1e6 * t_c, 1e6 * (t_layer - t_c), t_layer / t_c))
    try:
        import mpc  # noqa: F401
    except ImportError:
        print("# skip: mpc.pytorch not installed")
        return
    for B in (1, 64):
        P = problem(n, m, T, B, seed=1)
        t_layer = best(lambda: layer_call(*P), reps=5, inner=5)
        t_mpc = best(lambda: mpc_pytorch_call(*P), reps=3)
        a = layer_call(*P)
        b = mpc_pytorch_call(*P)
        gd = 0.0
        for ga, gb, tr in zip([x.grad for x in a], [x.grad for x in b], (1, 1, 1, 1, 0)):
            gb = gb.transpose(0, 1) if tr else gb
            if gb.dim() == ga.dim() + 0 and ga.shape == gb.shape:
                gd = max(gd, ((ga - gb).abs().max() / gb.abs().max().clamp_min(1e-300)).item())
        print("bench python lqr_vs_mpc.pytorch n=%d m=%d T=%d B=%d dopt_fwdbwd_ms=%.3f mpc_fwdbwd_ms=%.3f dgrad=%.1e "
              "speedup=%.0f ratio=%.4f" % (n, m, T, B, 1e3 * t_layer, 1e3 * t_mpc, gd, t_mpc / t_layer, t_layer / t_mpc))


if __name__ == "__main__":
    main()
