"""bench/deq_peer.py — the peers' side of `make bench-deq`.

    python deq_peer.py OUTDIR N...

For each n, reads OUTDIR/deq_<n>.bin (written by deq_dopt.c: W n x n, U n x 32, b, x 32 x 32, all
float64 column-major) and solves the same layer z = tanh(W z + U x + b), batch 32, to relative
residual 1e-6 (per element, ||f(z) - z|| <= 1e-6 ||f(z)||), memory 6:
  - torchdeq 0.1.0 (torch, float64, one thread): its anderson_solver and broyden_solver through
    torchdeq.get_deq (forward), and the IFT backward of L = sum z*^2 (Anderson adjoint, relative
    1e-6) by loss.backward();
  - jaxopt 0.8.5 AndersonAcceleration (float64, CPU, jit, the batch as one matrix), forward and
    forward + implicit backward (jax.grad through jaxopt's implicit differentiation, GMRES to 1e-6).
Times are the best of several runs of process CPU time.  Prints one `bench deq ...` line per
measurement, then the ratio lines: dopt (OUTDIR/deq_<n>_dopt_<backend>.txt, built-in kernels and
OpenBLAS) / the fastest peer, and the
relative difference of dL/dW between dopt (OUTDIR/deq_<n>_grad.bin, tight solve) and each peer
(tight solves, relative 1e-12).
"""
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import jaxopt  # noqa: E402
from functools import partial  # noqa: E402
from jaxopt import linear_solve  # noqa: E402
from torchdeq import get_deq  # noqa: E402

B = 32
P = 32
REL = 1e-6


def best_time(fn, min_reps=3, min_total=0.3, max_reps=100):
    best, total, reps = float("inf"), 0.0, 0
    while (reps < min_reps or total < min_total) and reps < max_reps:
        t0 = time.process_time()
        fn()
        t = time.process_time() - t0
        best = min(best, t)
        total += t
        reps += 1
    return best


def load(outdir, n):
    a = np.fromfile(os.path.join(outdir, f"deq_{n}.bin"), dtype=np.float64)
    o = 0
    W = a[o:o + n * n].reshape(n, n, order="F"); o += n * n
    U = a[o:o + n * P].reshape(n, P, order="F"); o += n * P
    b = a[o:o + n]; o += n
    x = a[o:o + P * B].reshape(P, B, order="F"); o += P * B
    return W.copy(), U.copy(), b.copy(), x.copy()


# ---- torchdeq -------------------------------------------------------------------------------------
def torchdeq_case(W, U, b, x, n, solver, tol, max_iter=500):
    """(forward s, backward s, iterations, dL/dW) for one solver."""
    Wt = torch.nn.Parameter(torch.tensor(W))
    Ut = torch.nn.Parameter(torch.tensor(U))
    bt = torch.nn.Parameter(torch.tensor(b))
    xt = torch.tensor(x.T.copy())  # batch x P (rows = elements)
    deq = get_deq(f_solver=solver, b_solver="anderson", f_max_iter=max_iter, b_max_iter=max_iter,
                  f_tol=tol, b_tol=tol, f_stop_mode="rel", b_stop_mode="rel", ift=True)

    def run():
        inj = xt @ Ut.T + bt
        f = lambda z: torch.tanh(z @ Wt.T + inj)  # noqa: E731
        z0 = torch.zeros(B, n, dtype=torch.float64)
        zs, info = deq(f, z0)
        return zs[-1], info

    def fwd():
        with torch.no_grad():
            run()

    t_fwd = best_time(fwd)
    state = {}

    def fwd_bwd():
        for p_ in (Wt, Ut, bt):
            p_.grad = None
        z, info = run()
        state["info"] = info
        t0 = time.process_time()
        (z ** 2).sum().backward()
        state["bwd"] = time.process_time() - t0

    bwd = float("inf")
    for _ in range(5):
        fwd_bwd()
        bwd = min(bwd, state["bwd"])
    nstep = state["info"]["nstep"]
    iters = int(nstep.max().item()) if hasattr(nstep, "max") else int(nstep)
    return t_fwd, bwd, iters, Wt.grad.detach().numpy().copy()


# ---- jaxopt ---------------------------------------------------------------------------------------
def jaxopt_case(W, U, b, x, n, tol_rel, max_iter=500):
    Wj, Uj, bj, xj = (jnp.asarray(v) for v in (W, U, b, x))  # x: P x B, columns = elements

    def T(Z, Wp, Up, bp):
        return jnp.tanh(Wp @ Z + Up @ xj + bp[:, None])

    # jaxopt stops on ||T(z) - z|| <= tol over the whole batch; the tolerance is set from a tight
    # solution so that it equals REL * ||f(z*)|| of the smallest element (per-element relative).
    solver_tight = jaxopt.AndersonAcceleration(fixed_point_fun=T, history_size=6, maxiter=max_iter, tol=1e-13,
                                               ridge=1e-10, implicit_diff=True, jit=True,
                                               implicit_diff_solve=partial(linear_solve.solve_gmres, tol=1e-13))
    zt = solver_tight.run(jnp.zeros((n, B)), Wj, Uj, bj).params
    tol = float(tol_rel * jnp.min(jnp.linalg.norm(zt, axis=0)))
    solver = jaxopt.AndersonAcceleration(fixed_point_fun=T, history_size=6, maxiter=max_iter, tol=tol,
                                         ridge=1e-10, implicit_diff=True, jit=True,
                                         implicit_diff_solve=partial(linear_solve.solve_gmres, tol=REL))

    @jax.jit
    def fwd(Wp, Up, bp):
        r = solver.run(jnp.zeros((n, B)), Wp, Up, bp)
        return r.params, r.state.iter_num

    @jax.jit
    def loss_grad(Wp, Up, bp):
        def loss(Wq, Uq, bq):
            return jnp.sum(solver.run(jnp.zeros((n, B)), Wq, Uq, bq).params ** 2)
        return jax.grad(loss, argnums=(0, 1, 2))(Wp, Up, bp)

    @jax.jit
    def tight_grad(Wp, Up, bp):
        return jax.grad(lambda Wq: jnp.sum(solver_tight.run(jnp.zeros((n, B)), Wq, Up, bp).params ** 2))(Wp)

    z, it = fwd(Wj, Uj, bj)
    z.block_until_ready()
    loss_grad(Wj, Uj, bj)[0].block_until_ready()
    t_fwd = best_time(lambda: fwd(Wj, Uj, bj)[0].block_until_ready())
    t_all = best_time(lambda: loss_grad(Wj, Uj, bj)[0].block_until_ready())
    gW = np.asarray(tight_grad(Wj, Uj, bj))
    return t_fwd, t_all, int(it), gW


def rel_diff(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def main():
    outdir = sys.argv[1]
    from importlib.metadata import version
    print(f"# torch {torch.__version__}, torchdeq {version('torchdeq')}, jax {jax.__version__}, "
          f"jaxopt {version('jaxopt')}, numpy {np.__version__}; float64, one thread, CPU time")
    for n in (int(a) for a in sys.argv[2:]):
        W, U, b, x = load(outdir, n)
        dopts = {}
        for backend in ("builtin", "openblas"):
            path = os.path.join(outdir, f"deq_{n}_dopt_{backend}.txt")
            if os.path.exists(path):
                dopts[backend] = {k: float(v) for k, v in (line.split() for line in open(path))}
        gW_dopt = np.fromfile(os.path.join(outdir, f"deq_{n}_grad.bin"), dtype=np.float64).reshape(n, n, order="F")
        peers_fwd, peers_bwd = {}, {}
        for solver in ("anderson", "broyden"):
            tf, tb, it, _ = torchdeq_case(W, U, b, x, n, solver, REL)
            peers_fwd[f"torchdeq_{solver}"] = tf * 1e3
            if solver == "anderson":
                peers_bwd["torchdeq"] = tb * 1e3
            print(f"bench deq forward_n{n}_{solver} lib=torchdeq n={n} batch={B} iters={it} ms={tf * 1e3:.3f}")
            if solver == "anderson":
                print(f"bench deq backward_n{n} lib=torchdeq n={n} batch={B} adjoint=anderson ms={tb * 1e3:.3f}")
            sys.stdout.flush()
        _, _, _, gW_torch = torchdeq_case(W, U, b, x, n, "anderson", 1e-12)
        tf, tall, it, gW_jax = jaxopt_case(W, U, b, x, n, REL)
        peers_fwd["jaxopt_anderson"] = tf * 1e3
        peers_bwd["jaxopt"] = max(tall - tf, 0.0) * 1e3
        print(f"bench deq forward_n{n}_anderson lib=jaxopt n={n} batch={B} iters={it} ms={tf * 1e3:.3f}")
        print(f"bench deq backward_n{n} lib=jaxopt n={n} batch={B} fwd_plus_bwd_ms={tall * 1e3:.3f} "
              f"ms={(tall - tf) * 1e3:.3f}")
        best_fwd_peer = min(peers_fwd, key=peers_fwd.get)
        best_bwd_peer = min(peers_bwd, key=peers_bwd.get)
        for backend, dopt in dopts.items():
            dopt_fwd = dopt["anderson"]
            print(f"bench deq ratio_forward_n{n} backend={backend} dopt_anderson_ms={dopt_fwd:.3f} peer={best_fwd_peer} "
                  f"peer_ms={peers_fwd[best_fwd_peer]:.3f} vs_torchdeq={peers_fwd['torchdeq_anderson'] / dopt_fwd:.1f}x "
                  f"vs_jaxopt={peers_fwd['jaxopt_anderson'] / dopt_fwd:.1f}x ratio={dopt_fwd / peers_fwd[best_fwd_peer]:.3f}")
            print(f"bench deq ratio_backward_n{n} backend={backend} dopt_ms={dopt['backward']:.3f} peer={best_bwd_peer} "
                  f"peer_ms={peers_bwd[best_bwd_peer]:.3f} "
                  f"ratio={dopt['backward'] / max(peers_bwd[best_bwd_peer], 1e-9):.3f}")
        print(f"bench deq grad_n{n} dW_rel_diff_torchdeq={rel_diff(gW_dopt, gW_torch):.2e} "
              f"dW_rel_diff_jaxopt={rel_diff(gW_dopt, gW_jax):.2e}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
