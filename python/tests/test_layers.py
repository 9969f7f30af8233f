"""Tests of the dopt torch layers: gradcheck of every layer (float64), agreement with independent
torch references (dense KKT solves, plain fixed-point iteration, first-order conditions), float32
against float64, batch independence, and errors carrying dopt's status string.
Run: python python/tests/test_layers.py   (needs torch and libdopt.so: `make lib` or $DOPT_LIB).
Prints one line per test and ends with `N passed, N failed, N skipped`; exit status 1 on failure."""
import math
import os
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch  # noqa: E402
import dopt  # noqa: E402

torch.set_num_threads(1)
D = torch.float64
RESULTS = {"passed": 0, "failed": 0, "skipped": 0}


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def run(fn):
    name = fn.__name__
    try:
        fn()
        RESULTS["passed"] += 1
        print("ok   %s" % name)
    except Exception:  # noqa: BLE001
        RESULTS["failed"] += 1
        print("FAIL %s" % name)
        traceback.print_exc(limit=4, file=sys.stdout)


def close(a, b, tol, what):
    err = (a - b).abs().max().item()
    scale = max(1.0, b.abs().max().item())
    assert err <= tol * scale, "%s: max error %.3e (tol %.1e)" % (what, err, tol * scale)
    return err


def gradcheck(f, inputs, **kw):
    kw.setdefault("eps", 1e-6)
    kw.setdefault("atol", 1e-6)
    kw.setdefault("rtol", 1e-4)
    assert torch.autograd.gradcheck(f, inputs, **kw)


# ---- problem generators -----------------------------------------------------------------------------

def lqr_problem(B=3, n=3, m=2, T=6, seed=0, dtype=D):
    g = torch.Generator().manual_seed(seed)
    nm = n + m
    L = torch.randn(B, T, nm, nm, generator=g, dtype=dtype) * 0.3
    C = L @ L.transpose(-1, -2) + torch.eye(nm, dtype=dtype)
    c = torch.randn(B, T, nm, generator=g, dtype=dtype)
    A = torch.eye(n, dtype=dtype) + 0.2 * torch.randn(B, T - 1, n, n, generator=g, dtype=dtype)
    Bm = torch.randn(B, T - 1, n, m, generator=g, dtype=dtype)
    F = torch.cat((A, Bm), dim=-1)
    f = 0.1 * torch.randn(B, T - 1, n, generator=g, dtype=dtype)
    x0 = torch.randn(B, n, generator=g, dtype=dtype)
    return C, c, F, f, x0


def lqr_dense(C, c, F, f, x0):
    """Independent reference: the LQR's KKT system solved densely in torch (differentiable)."""
    B, T, nm = c.shape
    n = x0.shape[1]
    N = T * nm
    E = T * n  # constraints: x_0 = x0, x_{t+1} = F_t tau_t + f_t
    H = torch.zeros(B, N, N, dtype=c.dtype)
    for t in range(T):
        H[:, t * nm:(t + 1) * nm, t * nm:(t + 1) * nm] = C[:, t]
    Aeq = torch.zeros(B, E, N, dtype=c.dtype)
    beq = torch.zeros(B, E, dtype=c.dtype)
    Aeq[:, :n, :n] = torch.eye(n, dtype=c.dtype)
    beq[:, :n] = x0
    for t in range(T - 1):
        r = (t + 1) * n
        Aeq[:, r:r + n, (t + 1) * nm:(t + 1) * nm + n] = torch.eye(n, dtype=c.dtype)
        Aeq[:, r:r + n, t * nm:(t + 1) * nm] = -F[:, t]
        beq[:, r:r + n] = f[:, t]
    K = torch.cat((torch.cat((H, Aeq.transpose(-1, -2)), -1),
                   torch.cat((Aeq, torch.zeros(B, E, E, dtype=c.dtype)), -1)), -2)
    rhs = torch.cat((-c.reshape(B, N), beq), -1)
    sol = torch.linalg.solve(K, rhs.unsqueeze(-1)).squeeze(-1)
    return sol[:, :N].reshape(B, T, nm)


def qp_problem(B=3, n=5, meq=1, mineq=3, seed=1, dtype=D, box=True):
    g = torch.Generator().manual_seed(seed)
    L = torch.randn(B, n, n, generator=g, dtype=dtype)
    Q = L @ L.transpose(-1, -2) + 0.5 * torch.eye(n, dtype=dtype)
    p = torch.randn(B, n, generator=g, dtype=dtype)
    A = torch.randn(B, meq, n, generator=g, dtype=dtype)
    b = 0.1 * torch.randn(B, meq, generator=g, dtype=dtype)
    G = torch.randn(B, mineq, n, generator=g, dtype=dtype)
    h = 0.2 * torch.rand(B, mineq, generator=g, dtype=dtype)
    lo = -0.3 - torch.rand(B, n, generator=g, dtype=dtype) if box else None
    up = 0.3 + torch.rand(B, n, generator=g, dtype=dtype) if box else None
    return Q, p, A, b, G, h, lo, up


def deq_problem(n=6, p=3, B=4, seed=2, dtype=D):
    g = torch.Generator().manual_seed(seed)
    W = 0.5 * torch.randn(n, n, generator=g, dtype=dtype) / math.sqrt(n)
    U = torch.randn(n, p, generator=g, dtype=dtype)
    bias = 0.1 * torch.randn(n, generator=g, dtype=dtype)
    x = torch.randn(B, p, generator=g, dtype=dtype)
    return W, U, bias, x


def curve_problem(B=2, N=12, seed=3, dtype=D):
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1.5, N, dtype=dtype).repeat(B, 1)
    m = torch.tensor([0.3, 0.5], dtype=dtype)[:B].unsqueeze(1)
    y = torch.exp(m * t + 0.1) + 0.05 * torch.randn(B, N, generator=g, dtype=dtype)
    return t, y


def pgo_problem(B=2, N=5, seed=4, dtype=D):
    g = torch.Generator().manual_seed(seed)
    edges = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 4], [0, 2], [1, 4]])
    truth = torch.zeros(B, N, 3, dtype=dtype)
    truth[:, :, 0] = torch.arange(N, dtype=dtype)
    truth[:, :, 1] = 0.3 * torch.sin(torch.arange(N, dtype=dtype))
    truth[:, :, 2] = 0.2 * torch.arange(N, dtype=dtype)
    meas = []
    for i, j in edges.tolist():
        ci, si = torch.cos(truth[:, i, 2]), torch.sin(truth[:, i, 2])
        dx, dy = truth[:, j, 0] - truth[:, i, 0], truth[:, j, 1] - truth[:, i, 1]
        meas.append(torch.stack((ci * dx + si * dy, -si * dx + ci * dy, truth[:, j, 2] - truth[:, i, 2]), -1))
    meas = torch.stack(meas, 1) + 0.05 * torch.randn(B, len(edges), 3, generator=g, dtype=dtype)
    x0 = truth + 0.1 * torch.randn(B, N, 3, generator=g, dtype=dtype)
    x0[:, 0] = truth[:, 0]
    return meas, edges, x0


# ---- LQR ----------------------------------------------------------------------------------------------

@test
def lqr_matches_dense_kkt():
    C, c, F, f, x0 = lqr_problem()
    tau = dopt.lqr(C, c, F, f, x0)
    close(tau, lqr_dense(C, c, F, f, x0), 1e-10, "tau")


@test
def lqr_gradients_match_dense_kkt_autograd():
    args = [a.requires_grad_() for a in lqr_problem(seed=5)]
    w = torch.randn(args[1].shape, dtype=D, generator=torch.Generator().manual_seed(9))
    g1 = torch.autograd.grad((dopt.lqr(*args) * w).sum(), args)
    g2 = torch.autograd.grad((lqr_dense(*args) * w).sum(), args)
    for a, b, name in zip(g1, g2, "C c F f x0".split()):
        # C enters symmetrized on both sides; compare the symmetric parts
        if name == "C":
            a, b = 0.5 * (a + a.transpose(-1, -2)), 0.5 * (b + b.transpose(-1, -2))
        close(a, b, 1e-9, "d" + name)


@test
def lqr_gradcheck():
    args = [a.requires_grad_() for a in lqr_problem(B=2, n=2, m=1, T=4, seed=6)]
    gradcheck(lambda *a: dopt.lqr(*a), args)


@test
def lqr_box_gradcheck_and_qp_agreement():
    C, c, F, f, x0 = lqr_problem(B=2, n=2, m=1, T=4, seed=7)
    lo = torch.full((2, 4, 1), -0.4, dtype=D)
    hi = torch.full((2, 4, 1), 0.4, dtype=D)
    tau = dopt.lqr(C, c, F, f, x0, lo, hi)
    assert (tau[..., 2:] >= -0.4 - 1e-12).all() and (tau[..., 2:] <= 0.4 + 1e-12).all()
    assert ((tau[..., 2:].abs() - 0.4).abs() < 1e-9).any(), "no bound active: weak test"
    # the same problem as one dense QP (equalities: dynamics; box on the controls only)
    B, T, nm = c.shape
    n = 2
    N = T * nm
    Q = torch.zeros(B, N, N, dtype=D)
    for t in range(T):
        Q[:, t * nm:(t + 1) * nm, t * nm:(t + 1) * nm] = C[:, t]
    Aeq = torch.zeros(B, T * n, N, dtype=D)
    beq = torch.zeros(B, T * n, dtype=D)
    Aeq[:, :n, :n] = torch.eye(n, dtype=D)
    beq[:, :n] = x0
    for t in range(T - 1):
        r = (t + 1) * n
        Aeq[:, r:r + n, (t + 1) * nm:(t + 1) * nm + n] = torch.eye(n, dtype=D)
        Aeq[:, r:r + n, t * nm:(t + 1) * nm] = -F[:, t]
        beq[:, r:r + n] = f[:, t]
    l = torch.full((B, N), -math.inf, dtype=D)
    u = torch.full((B, N), math.inf, dtype=D)
    for t in range(T):
        l[:, t * nm + n] = -0.4
        u[:, t * nm + n] = 0.4
    x = dopt.qp(0.5 * (Q + Q.transpose(-1, -2)), c.reshape(B, N), A=Aeq, b=beq, l=l, u=u)
    close(tau.reshape(B, N), x, 1e-7, "box LQR vs QP layer")
    args = [a.clone().requires_grad_() for a in (C, c, F, f, x0)]
    gradcheck(lambda *a: dopt.lqr(*a, lo, hi), args)


# ---- MPC ------------------------------------------------------------------------------------------------

def pendulum_cost(B, T, w=(4.0, 0.5, 1.0), goal=(1.0, 0.0, 0.0), dtype=D):
    W = torch.tensor(w, dtype=dtype)
    C = torch.diag_embed(W).expand(B, T, 3, 3).clone()
    c = (-W * torch.tensor(goal, dtype=dtype)).expand(B, T, 3).clone()
    return C, c


@test
def mpc_solution_is_optimal_and_batched():
    B, T = 3, 20
    C, c = pendulum_cost(B, T)
    x0 = torch.tensor([[0.0, 0.0], [-0.5, 1.0], [2.0, 0.0]], dtype=D)
    tau = dopt.pendulum_mpc(C, c, x0)
    # dynamics hold: explicit Euler of the pendulum (g, l, m, damping, dt)
    g, l, ms, d, dt = dopt.PENDULUM
    th, om, u = tau[..., 0], tau[..., 1], tau[..., 2]
    om_next = om + dt * (-g / l * torch.sin(th) + u / (ms * l * l) - d * om)
    close(tau[:, 1:, 0], th[:, :-1] + dt * om[:, :-1], 1e-9, "theta dynamics")
    close(tau[:, 1:, 1], om_next[:, :-1], 1e-9, "omega dynamics")
    close(tau[:, 0, :2], x0, 0, "x0")
    for b in range(B):  # batch independence
        close(dopt.pendulum_mpc(C[b:b + 1], c[b:b + 1], x0[b:b + 1])[0], tau[b], 1e-9, "element %d" % b)


@test
def mpc_gradients_vs_finite_differences():
    """The iLQR backward leaves the dynamics' curvature out (as mpc.pytorch), so the gradients are
    those of the LQR at the fixed point: compared with central differences on a mild swing."""
    B, T = 1, 15
    C, c = pendulum_cost(B, T, goal=(0.3, 0.0, 0.0))
    x0 = torch.tensor([[0.1, 0.0]], dtype=D)
    Cq, cq = C.clone().requires_grad_(), c.clone().requires_grad_()
    w = torch.randn(B, T, 3, dtype=D, generator=torch.Generator().manual_seed(3))
    loss = (dopt.pendulum_mpc(Cq, cq, x0, tol=1e-11) * w).sum()
    gc, = torch.autograd.grad(loss, cq)
    fd = torch.zeros_like(c)
    h = 1e-6
    for t in range(T):
        for i in range(3):
            e = torch.zeros_like(c)
            e[0, t, i] = h
            fd[0, t, i] = ((dopt.pendulum_mpc(C, c + e, x0, tol=1e-11) * w).sum() - (dopt.pendulum_mpc(C, c - e, x0, tol=1e-11) * w).sum()) / (2 * h)
    rel = ((gc - fd).norm() / fd.norm()).item()
    print("     mpc dL/dc vs central differences: relative error %.2e (dynamics curvature left out)" % rel)
    assert rel < 0.05, rel


# ---- QP ------------------------------------------------------------------------------------------------

@test
def qp_kkt_and_equality_reference():
    Q, p, A, b, G, h, lo, up = qp_problem()
    x = dopt.qp(Q, p, A, b, G, h, lo, up)
    close(torch.einsum("bij,bj->bi", A, x), b, 1e-9, "A x = b")
    assert (torch.einsum("bij,bj->bi", G, x) <= h + 1e-9).all() and (x >= lo - 1e-9).all() and (x <= up + 1e-9).all()
    # equality-only QP against a direct KKT solve
    Q, p, A, b = Q[:, :, :], p, A, b
    x = dopt.qp(Q, p, A, b)
    B, n = p.shape
    K = torch.cat((torch.cat((Q, A.transpose(-1, -2)), -1), torch.cat((A, torch.zeros(B, 1, 1, dtype=D)), -1)), -2)
    ref = torch.linalg.solve(K, torch.cat((-p, b), -1).unsqueeze(-1)).squeeze(-1)[:, :n]
    close(x, ref, 1e-10, "x vs KKT solve")


@test
def qp_gradcheck():
    args = [a.requires_grad_() for a in qp_problem(B=2, n=4, meq=1, mineq=2, seed=11)]
    x = dopt.qp(*[a.detach() for a in args])
    gradcheck(lambda *a: dopt.qp(*a), args)
    assert x.shape == (2, 4)


@test
def qp_infeasible_raises_with_status_string():
    Q = torch.eye(2, dtype=D).expand(1, 2, 2).clone()
    p = torch.zeros(1, 2, dtype=D)
    G = torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]], dtype=D)
    h = torch.tensor([[-1.0, -1.0]], dtype=D)  # x <= -1 and x >= 1
    try:
        dopt.qp(Q, p, G=G, h=h)
    except dopt.DoptError as e:
        assert e.status_string == dopt.status_string(e.status) and e.status_string in str(e), str(e)
        assert e.element_status is not None and e.element_status[0] != 0
        return
    raise AssertionError("no DoptError for an infeasible QP")


# ---- DEQ ----------------------------------------------------------------------------------------------

@test
def deq_matches_fixed_point_iteration():
    W, U, bias, x = deq_problem()
    z = dopt.deq_tanh(W, U, bias, x, tol=1e-13)
    ref = torch.zeros_like(z)
    for _ in range(400):
        ref = torch.tanh(ref @ W.T + x @ U.T + bias)
    close(z, ref, 1e-11, "z*")


@test
def deq_gradcheck():
    args = [a.requires_grad_() for a in deq_problem(n=4, p=2, B=3, seed=12)]
    gradcheck(lambda *a: dopt.deq_tanh(*a, tol=1e-13), args)


# ---- least squares ----------------------------------------------------------------------------------

@test
def curve_fit_first_order_conditions():
    t, y = curve_problem()
    mc = dopt.curve_fit(t, y)
    m, c0 = mc[:, :1].clone().requires_grad_(), mc[:, 1:].clone().requires_grad_()
    S = 0.5 * ((y - torch.exp(m * t + c0)) ** 2).sum()
    gm, gc = torch.autograd.grad(S, (m, c0))
    assert gm.abs().max() < 1e-9 and gc.abs().max() < 1e-9, (gm, gc)


@test
def curve_fit_gradcheck():
    t, y = curve_problem(B=2, N=8)
    # the exact-Hessian adjoint uses Hessian-vector products by central differences: ~1e-4 relative
    gradcheck(lambda t_, y_: dopt.curve_fit(t_, y_, exact=True), (t.requires_grad_(), y.requires_grad_()),
              atol=1e-5, rtol=1e-3)


@test
def pose_graph_optimal_and_gradcheck():
    meas, edges, x0 = pgo_problem()
    poses = dopt.pose_graph(meas, edges, x0)
    close(poses[:, 0], x0[:, 0], 1e-15, "pose 0 held")
    gradcheck(lambda mm: dopt.pose_graph(mm, edges, x0, exact=True), (meas.clone().requires_grad_(),),
              atol=1e-5, rtol=1e-3)


@test
def nlls_bad_edge_raises():
    meas, edges, x0 = pgo_problem()
    bad = edges.clone()
    bad[0, 1] = 99
    try:
        dopt.pose_graph(meas, bad, x0)
    except dopt.DoptError as e:
        assert "invalid argument" in str(e) and e.index == 0, str(e)
        return
    raise AssertionError("no DoptError for an out-of-range edge")


# ---- float32 ------------------------------------------------------------------------------------------

@test
def float32_agrees_with_float64():
    C, c, F, f, x0 = lqr_problem()
    a = dopt.lqr(*[v.float() for v in (C, c, F, f, x0)])
    close(a.double(), dopt.lqr(C, c, F, f, x0), 1e-4, "lqr float32")
    Q, p, A, b, G, h, lo, up = qp_problem()
    x32 = dopt.qp(*[v.float() for v in (Q, p, A, b, G, h, lo, up)])
    close(x32.double(), dopt.qp(Q, p, A, b, G, h, lo, up), 2e-3, "qp float32")
    W, U, bias, x = deq_problem()
    close(dopt.deq_tanh(W.float(), U.float(), bias.float(), x.float(), tol=1e-6).double(), dopt.deq_tanh(W, U, bias, x, tol=1e-12),
          1e-4, "deq float32")
    t, y = curve_problem()
    close(dopt.curve_fit(t.float(), y.float()).double(), dopt.curve_fit(t, y), 1e-3, "curve float32")
    # float32 gradients exist and match float64 loosely
    Cq = C.float().requires_grad_()
    dopt.lqr(Cq, c.float(), F.float(), f.float(), x0.float()).sum().backward()
    C64 = C.clone().requires_grad_()
    dopt.lqr(C64, c, F, f, x0).sum().backward()
    close(Cq.grad.double(), C64.grad, 1e-3, "lqr float32 gradient")


@test
def mixed_dtypes_raise_type_error():
    C, c, F, f, x0 = lqr_problem()
    try:
        dopt.lqr(C, c.float(), F, f, x0)
    except TypeError:
        return
    raise AssertionError("mixed dtypes accepted")


if __name__ == "__main__":
    print("torch %s, libdopt at %s" % (torch.__version__, dopt.lib()._name))
    only = sys.argv[1:]
    for t in TESTS:
        if not only or t.__name__ in only:
            run(t)
    print("%d passed, %d failed, %d skipped" % (RESULTS["passed"], RESULTS["failed"], RESULTS["skipped"]))
    sys.exit(1 if RESULTS["failed"] else 0)
