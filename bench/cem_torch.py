"""bench/cem_torch.py — the torch side of `make bench-cem` (see bench/cem.sh).

The same CEM, DCEM and LML as bench/cem_dopt.c, written with torch tensor operations the way the
DCEM paper's code runs (batched tensors, float64, one thread): this is a torch version of the
paper's algorithms written for this benchmark, not a library.  LML's forward is a vectorized
bisection on the dual (100 halvings, as the LML paper's implementation iterates) with the analytic
backward in an autograd.Function; DCEM differentiates the unrolled iterations with autograd.
Prints one line per case: `torch <case> time_s=<seconds per unit>` (units as in cem_dopt.c),
process CPU time, best of several repetitions.
"""
import math
import sys
import time

import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
B, ITERS = 32, 10


def best_of(fn, reps):
    best = float("inf")
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


# ---- LML ----
class LML(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        n = x.shape[-1]
        L = math.log(k / (n - k))
        lo = L - x.max(dim=-1, keepdim=True).values
        hi = L - x.min(dim=-1, keepdim=True).values
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            s = torch.sigmoid(x + mid).sum(dim=-1, keepdim=True)
            below = s < k
            lo = torch.where(below, mid, lo)
            hi = torch.where(below, hi, mid)
        y = torch.sigmoid(x + 0.5 * (lo + hi))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        h = y * (1 - y)
        hs = h.sum(dim=-1, keepdim=True).clamp_min(1e-300)
        d = (h * gy).sum(dim=-1, keepdim=True) / hs
        return h * (gy - d), None


def bench_lml(n):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(B, n, generator=g).requires_grad_(True)
    gy = torch.randn(B, n, generator=g)
    k = max(n // 10, 1)

    def run():
        x.grad = None
        y = LML.apply(x, float(k))
        y.backward(gy)

    inner = 20 if n <= 100 else 5
    t = best_of(lambda: [run() for _ in range(inner)], 5) / inner
    print(f"torch lml_n{n} time_s={t:.6e}", flush=True)


# ---- objectives ----
def quad_cost(X, theta):
    D = X.shape[-1]
    w = torch.arange(1, D + 1, dtype=X.dtype) / D
    return ((X - theta) ** 2 * w).sum(-1)


OBST = [(2.0, 2.0, 0.8), (3.5, 1.0, 0.6), (1.0, 3.5, 0.6)]


def car_cost(U, x0):
    """U: (B, P, H*2) controls; x0: (B, 4).  Same dynamics and cost as bench/cem_dopt.c."""
    Bn, P, HH = U.shape
    U = U.view(Bn, P, HH // 2, 2)
    px, py, th, v = [x0[:, i : i + 1].expand(Bn, P) for i in range(4)]
    cost = torch.zeros(Bn, P)
    for t in range(HH // 2):
        a, st = U[:, :, t, 0], U[:, :, t, 1]
        px, py, th, v = px + 0.1 * v * torch.cos(th), py + 0.1 * v * torch.sin(th), th + 0.1 * v * st, v + 0.1 * a
        c = (px - 5) ** 2 + (py - 5) ** 2 + 0.01 * (a * a + st * st)
        for ox, oy, r in OBST:
            d = torch.sqrt((px - ox) ** 2 + (py - oy) ** 2)
            c = c + 100 * torch.clamp(r - d, min=0) ** 2
        cost = cost + c
    return cost


# ---- CEM ----
def cem(f, D, P, lower=None, upper=None):
    K = P // 10
    mu, sigma = torch.zeros(B, D), torch.ones(B, D)
    for _ in range(ITERS):
        X = mu.unsqueeze(1) + sigma.unsqueeze(1) * torch.randn(B, P, D)
        if lower is not None:
            X = X.clamp(lower, upper)
        fx = f(X)
        idx = torch.topk(fx, K, dim=1, largest=False).indices
        E = torch.gather(X, 1, idx.unsqueeze(2).expand(B, K, D))
        mu, sigma = E.mean(1), E.std(1, unbiased=False)
    return mu


def bench_cem_quad(D, P):
    t = best_of(lambda: cem(lambda X: quad_cost(X, 0.5), D, P), 5) / ITERS
    print(f"torch cem_quad_D{D}_P{P} time_s={t:.6e}", flush=True)


def bench_cem_car(P):
    x0 = torch.zeros(B, 4)
    x0[:, 2] = 0.3
    t = best_of(lambda: cem(lambda U: car_cost(U, x0), 40, P, -2.0, 2.0), 3) / ITERS
    print(f"torch cem_car_H20_P{P} time_s={t:.6e}", flush=True)


# ---- DCEM ----
def dcem(f, D, P, tau=1.0):
    K = P // 10
    mu, sigma = torch.zeros(B, D, requires_grad=True), torch.ones(B, D, requires_grad=True)
    m, s = mu, sigma
    for _ in range(ITERS):
        X = m.unsqueeze(1) + s.unsqueeze(1) * torch.randn(B, P, D)
        fx = f(X)
        z = (fx - fx.mean(1, keepdim=True)) / fx.std(1, unbiased=False, keepdim=True)
        w = LML.apply(-z / tau, float(K))
        m = (w.unsqueeze(2) * X).sum(1) / K
        s = ((w.unsqueeze(2) * (X - m.unsqueeze(1)) ** 2).sum(1) / K).sqrt()
    return mu, sigma, m


def bench_dcem(D, P):
    theta = torch.tensor(0.5, requires_grad=True)

    def run():
        mu, sigma, m = dcem(lambda X: quad_cost(X, theta), D, P)
        m.sum().backward()

    t = best_of(run, 5)
    print(f"torch dcem_D{D}_P{P} time_s={t:.6e}", flush=True)


if __name__ == "__main__":
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} thread, float64", flush=True)
    bench_cem_quad(10, 100)
    bench_cem_quad(10, 1000)
    bench_cem_quad(50, 100)
    bench_cem_quad(50, 1000)
    bench_cem_car(100)
    bench_cem_car(1000)
    bench_dcem(10, 100)
    bench_dcem(10, 1000)
    for n in (10, 100, 1000):
        bench_lml(n)
    sys.exit(0)
