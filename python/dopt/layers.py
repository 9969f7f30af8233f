"""torch.autograd.Function layers over libdopt.so.

Every layer takes batched tensors (the batch on the leading dimension), float32 or float64 (the
dtype picks dopt's _f or _d functions; all inputs must share it), on the CPU.  Forward solves in C;
backward calls dopt's own backward pass (implicit differentiation / adjoint Riccati / OptNet),
never autograd through iterations.  A failed solve raises dopt.DoptError with dopt's status
string, the failing element and the per-element statuses.

  lqr(C, c, F, f, x0, u_lower=None, u_upper=None)        differentiable LQR (box-DDP with bounds)
  pendulum_mpc(C, c, x0, u_lower=None, u_upper=None)       nonlinear MPC (iLQR) on a pendulum
  qp(Q, p, A=None, b=None, G=None, h=None, l=None, u=None) dense QP layer (OptNet backward)
  deq_tanh(W, U, bias, x, tol=None)                        DEQ fixed point z = tanh(W z + U x + b)
  curve_fit(t, y, x0=None, exact=True)                     least squares y ~ exp(m t + c) -> (m, c)
  pose_graph(meas, edges, x0, exact=True)                  SE2 pose-graph optimization
"""
import ctypes
import torch

from ._lib import lib, check, Handle, ErrInfo, DeqOptions, DeqReport, QpDims, DoptError

_c_int_p = ctypes.POINTER(ctypes.c_int)


def _sfx(*ts):
    dt = None
    for t in ts:
        if t is None:
            continue
        if not isinstance(t, torch.Tensor):
            raise TypeError("dopt layers take torch tensors")
        if t.device.type != "cpu":
            raise ValueError("dopt layers run on the CPU (got a %s tensor)" % t.device.type)
        if dt is None:
            dt = t.dtype
        elif t.dtype != dt:
            raise TypeError("dopt layers need one dtype for all inputs (got %s and %s)" % (dt, t.dtype))
    if dt == torch.float64:
        return "d", ctypes.c_double
    if dt == torch.float32:
        return "f", ctypes.c_float
    raise TypeError("dopt layers take float32 or float64 tensors (got %s)" % dt)


def _p(t, R):
    """Pointer to a contiguous tensor's data (None -> NULL)."""
    if t is None:
        return None
    assert t.is_contiguous()
    return ctypes.cast(t.data_ptr(), ctypes.POINTER(R))


def _c(t):
    return None if t is None else t.detach().contiguous()


def _fn(name, s):
    return getattr(lib(), name + "_" + s)


def _status_array(B):
    return (ctypes.c_int * B)()


# ---- LQR -------------------------------------------------------------------------------------------

class LQRFunction(torch.autograd.Function):
    """tau = argmin sum_t 1/2 tau_t^T C_t tau_t + c_t^T tau_t  s.t. x_{t+1} = F_t tau_t + f_t,
    x_0 = x0, u_lower <= u_t <= u_upper.  Shapes (B batch, T steps, n states, m controls):
    C (B,T,n+m,n+m) symmetric, c (B,T,n+m), F (B,T-1,n,n+m), f (B,T-1,n), x0 (B,n),
    bounds (B,T,m) or None.  Returns tau (B,T,n+m).  Gradients for C, c, F, f, x0."""

    @staticmethod
    def forward(ctx, C, c, F, f, x0, u_lower, u_upper):
        s, R = _sfx(C, c, F, f, x0, u_lower, u_upper)
        B, T, nm = c.shape
        n = x0.shape[1]
        m = nm - n
        if C.shape != (B, T, nm, nm) or F.shape != (B, T - 1, n, nm) or x0.shape != (B, n) or m < 1 \
                or (f is not None and f.shape != (B, T - 1, n)):
            raise ValueError("lqr: shapes C (B,T,n+m,n+m), c (B,T,n+m), F (B,T-1,n,n+m), f (B,T-1,n), x0 (B,n)")
        ptr = ctypes.c_void_p()
        info = ErrInfo()
        check("dopt_mpc_lqr_create", _fn("dopt_mpc_lqr_create", s)(None, n, m, T, B, ctypes.byref(ptr),
                                                                   ctypes.byref(info)), info)
        h = Handle(ptr, _fn("dopt_mpc_lqr_destroy", s))
        Cc, cc, Fc, fc, xc = _c(C), _c(c), _c(F.transpose(-1, -2)), _c(f), _c(x0)
        lo, hi = _c(u_lower), _c(u_upper)
        tau = torch.empty(B, T, nm, dtype=C.dtype)
        st = _status_array(B)
        r = _fn("dopt_bridge_lqr_solve", s)(h.ptr, n, m, T, B, _p(Cc, R), _p(cc, R), _p(Fc, R), _p(fc, R),
                                            _p(xc, R), _p(lo, R), _p(hi, R), _p(tau, R), None, st,
                                            ctypes.byref(info))
        check("dopt_mpc_lqr_solve", r, info, list(st))
        ctx.h, ctx.keep, ctx.dims, ctx.has_f = h, (Cc, cc, Fc, fc, xc, lo, hi), (s, R, n, m, T, B), f is not None
        return tau

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dtau):
        s, R, n, m, T, B = ctx.dims
        nm = n + m
        dt = dtau.contiguous()
        dC = torch.zeros(B, T, nm, nm, dtype=dt.dtype)
        dc = torch.zeros(B, T, nm, dtype=dt.dtype)
        dF = torch.zeros(B, T - 1, nm, n, dtype=dt.dtype)
        df = torch.zeros(B, T - 1, n, dtype=dt.dtype) if ctx.has_f else None
        dx = torch.zeros(B, n, dtype=dt.dtype)
        st = _status_array(B)
        info = ErrInfo()
        r = _fn("dopt_bridge_lqr_backward", s)(ctx.h.ptr, n, m, T, B, _p(dt, R), _p(dC, R), _p(dc, R),
                                               _p(dF, R), _p(df, R), _p(dx, R), st, ctypes.byref(info))
        check("dopt_mpc_lqr_backward", r, info, list(st))
        return dC, dc, dF.transpose(-1, -2), df, dx, None, None


def lqr(C, c, F, f, x0, u_lower=None, u_upper=None):
    """Differentiable LQR (see LQRFunction); C is symmetrized first."""
    Cs = 0.5 * (C + C.transpose(-1, -2))
    return LQRFunction.apply(Cs, c, F, f, x0, u_lower, u_upper)


# ---- nonlinear MPC: iLQR on the pendulum ----------------------------------------------------------

class PendulumMPCFunction(torch.autograd.Function):
    """iLQR on the damped pendulum x = [theta, omega], u = [torque] (dopt_mpc_pendulum_dynamics) with
    stage cost 1/2 tau^T C_t tau + c_t^T tau, tau = [theta, omega, u].  C (B,T,3,3) symmetric,
    c (B,T,3), x0 (B,2), bounds (B,T) or None; params (g, l, m, damping, dt).  Returns tau (B,T,3).
    Backward: the LQR of the final approximation (Amos et al. 2018; the dynamics' curvature left
    out, as mpc.pytorch), gradients for C, c, x0."""

    @staticmethod
    def forward(ctx, C, c, x0, u_lower, u_upper, params, tol, max_iter):
        s, R = _sfx(C, c, x0, u_lower, u_upper)
        B, T, _ = c.shape
        if C.shape != (B, T, 3, 3) or c.shape != (B, T, 3) or x0.shape != (B, 2):
            raise ValueError("pendulum_mpc: shapes C (B,T,3,3), c (B,T,3), x0 (B,2)")
        ptr = ctypes.c_void_p()
        info = ErrInfo()
        check("dopt_mpc_ilqr_create", _fn("dopt_mpc_ilqr_create", s)(None, 2, 1, T, B, ctypes.byref(ptr),
                                                                     ctypes.byref(info)), info)
        h = Handle(ptr, _fn("dopt_mpc_ilqr_destroy", s))
        Cc, cc, xc, lo, hi = _c(C), _c(c), _c(x0), _c(u_lower), _c(u_upper)
        pr = torch.tensor(params, dtype=C.dtype)
        tau = torch.zeros(B, T, 3, dtype=C.dtype)
        st = _status_array(B)
        r = _fn("dopt_bridge_pendulum_mpc_solve", s)(h.ptr, _p(pr, R), T, B, _p(Cc, R), _p(cc, R), _p(xc, R),
                                                     _p(lo, R), _p(hi, R), 0, tol, max_iter, _p(tau, R), st,
                                                     ctypes.byref(info))
        check("dopt_mpc_ilqr_solve", r, info, list(st))
        ctx.h, ctx.keep, ctx.dims = h, (Cc, cc, xc, lo, hi, pr), (s, R, T, B)
        return tau

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dtau):
        s, R, T, B = ctx.dims
        dt = dtau.contiguous()
        dC = torch.zeros(B, T, 3, 3, dtype=dt.dtype)
        dc = torch.zeros(B, T, 3, dtype=dt.dtype)
        dx = torch.zeros(B, 2, dtype=dt.dtype)
        info = ErrInfo()
        r = _fn("dopt_bridge_pendulum_mpc_backward", s)(ctx.h.ptr, T, B, _p(dt, R), _p(dC, R), _p(dc, R),
                                                        _p(dx, R), ctypes.byref(info))
        check("dopt_mpc_ilqr_backward", r, info)
        return dC, dc, dx, None, None, None, None, None


PENDULUM = (9.81, 1.0, 1.0, 0.1, 0.05)  # g, l, m, damping, dt


def pendulum_mpc(C, c, x0, u_lower=None, u_upper=None, params=PENDULUM, tol=0.0, max_iter=0):
    """Nonlinear MPC layer on the pendulum (see PendulumMPCFunction); C is symmetrized first.
    tol, max_iter: dopt_mpc_ilqr_options (0: dopt's defaults, tol 1e-8 in double, 1e-4 in float,
    100 iterations); an element that does not converge raises DoptError."""
    Cs = 0.5 * (C + C.transpose(-1, -2))
    return PendulumMPCFunction.apply(Cs, c, x0, u_lower, u_upper, tuple(float(v) for v in params), float(tol),
                                     int(max_iter))


# ---- dense QP -------------------------------------------------------------------------------------

class QPFunction(torch.autograd.Function):
    """x = argmin 1/2 x^T Q x + p^T x  s.t. A x = b, G x <= h, l <= x <= u (each part optional).
    Q (B,n,n) symmetric PSD, p (B,n), A (B,meq,n), b (B,meq), G (B,mineq,n), h (B,mineq), l, u (B,n)
    (l, u: both or neither; +-inf allowed).  Returns x (B,n); gradients for every input (OptNet)."""

    @staticmethod
    def forward(ctx, Q, p, A, b, G, h, l, u):
        s, R = _sfx(Q, p, A, b, G, h, l, u)
        B, n = p.shape
        meq = 0 if A is None else A.shape[1]
        mineq = 0 if G is None else G.shape[1]
        box = 1 if (l is not None or u is not None) else 0
        if box:
            inf = torch.full((B, n), float("inf"), dtype=p.dtype)
            l = -inf if l is None else l
            u = inf if u is None else u
        if Q.shape != (B, n, n) or (A is not None and (b is None or A.shape != (B, meq, n) or b.shape != (B, meq))) \
                or (G is not None and (h is None or G.shape != (B, mineq, n) or h.shape != (B, mineq))):
            raise ValueError("qp: shapes Q (B,n,n), p (B,n), A (B,meq,n), b (B,meq), G (B,mineq,n), h (B,mineq)")
        dims = QpDims(n, meq, mineq, box, 0)
        ptr = ctypes.c_void_p()
        info = ErrInfo()
        check("dopt_mpc_qp_create", _fn("dopt_mpc_qp_create", s)(None, ctypes.byref(dims), B, ctypes.byref(ptr),
                                                                 ctypes.byref(info)), info)
        hd = Handle(ptr, _fn("dopt_mpc_qp_destroy", s))
        data = (_c(Q), _c(p), _c(None if A is None else A.transpose(-1, -2)), _c(b),
                _c(None if G is None else G.transpose(-1, -2)), _c(h), _c(l), _c(u))
        x = torch.zeros(B, n, dtype=p.dtype)
        res, st = _status_array(B), _status_array(B)
        r = _fn("dopt_bridge_qp_solve", s)(hd.ptr, n, meq, mineq, box, B, *[_p(t, R) for t in data], _p(x, R),
                                           res, st, ctypes.byref(info))
        check("dopt_mpc_qp_solve", r, info, list(st))
        ctx.h, ctx.data, ctx.dims = hd, data, (s, R, n, meq, mineq, box, B)
        ctx.given = tuple(t is not None for t in (A, b, G, h)) + (box == 1, box == 1)
        return x

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gx):
        s, R, n, meq, mineq, box, B = ctx.dims
        g = gx.contiguous()
        z = lambda *sh: torch.zeros(*sh, dtype=g.dtype)
        grads = [z(B, n, n), z(B, n), z(B, n, meq) if meq else None, z(B, meq) if meq else None,
                 z(B, n, mineq) if mineq else None, z(B, mineq) if mineq else None,
                 z(B, n) if box else None, z(B, n) if box else None]
        st = _status_array(B)
        info = ErrInfo()
        r = _fn("dopt_bridge_qp_backward", s)(ctx.h.ptr, n, meq, mineq, box, B, *[_p(t, R) for t in ctx.data],
                                              _p(g, R), *[_p(t, R) for t in grads], st, ctypes.byref(info))
        check("dopt_mpc_qp_backward", r, info, list(st))
        dQ, dp, dA, db, dG, dh, dl, du = grads
        dA = None if dA is None else dA.transpose(-1, -2)
        dG = None if dG is None else dG.transpose(-1, -2)
        # infinite bounds carry no gradient; bounds the caller did not give get none
        return dQ, dp, dA, db, dG, dh, dl if ctx.given[4] else None, du if ctx.given[5] else None


def qp(Q, p, A=None, b=None, G=None, h=None, l=None, u=None):
    """Dense QP layer (see QPFunction); Q is symmetrized first."""
    Qs = 0.5 * (Q + Q.transpose(-1, -2))
    return QPFunction.apply(Qs, p, A, b, G, h, l, u)


# ---- DEQ: the tanh layer ---------------------------------------------------------------------------

class DEQTanhFunction(torch.autograd.Function):
    """z* = tanh(W z* + U x + bias) by Anderson acceleration; backward by the implicit function
    theorem (the adjoint fixed point u = J^T u + g, solved by the same solver).  W (n,n), U (n,p),
    bias (n,) shared by the batch; x (B,p).  Returns z* (B,n); gradients for W, U, bias, x."""

    @staticmethod
    def forward(ctx, W, U, bias, x, tol, max_iters):
        s, R = _sfx(W, U, bias, x)
        B, p = x.shape
        n = W.shape[0]
        if W.shape != (n, n) or U.shape != (n, p) or bias.shape != (n,):
            raise ValueError("deq_tanh: shapes W (n,n), U (n,p), bias (n,), x (B,p)")
        o = DeqOptions()
        o.max_iters = max_iters
        o.abs_tol = tol if tol is not None else 0.0
        o.rel_tol = tol if tol is not None else 0.0
        info = ErrInfo()
        sp, lp = ctypes.c_void_p(), ctypes.c_void_p()
        check("dopt_deq_solver_create", _fn("dopt_deq_solver_create", s)(None, n, B, ctypes.byref(o), ctypes.byref(sp),
                                                                         ctypes.byref(info)), info)
        hs = Handle(sp, _fn("dopt_deq_solver_destroy", s))
        check("dopt_deq_tanh_create", _fn("dopt_deq_tanh_create", s)(None, n, p, B, ctypes.byref(lp),
                                                                     ctypes.byref(info)), info)
        hl = Handle(lp, _fn("dopt_deq_tanh_destroy", s))
        Wc, Uc, bc, xc = _c(W.t()), _c(U.t()), _c(bias), _c(x)  # column-major W, U
        check("dopt_deq_tanh_set", _fn("dopt_deq_tanh_set", s)(hl.ptr, _p(Wc, R), _p(Uc, R), _p(bc, R), _p(xc, R), p,
                                                               ctypes.byref(info)), info)
        z = torch.zeros(B, n, dtype=x.dtype)
        reps = (DeqReport * B)()
        mapfn = ctypes.cast(_fn("dopt_deq_tanh_map", s), ctypes.c_void_p)
        r = _fn("dopt_deq_solve", s)(hs.ptr, mapfn, hl.ptr, _p(z, R), n, reps, None, 0, ctypes.byref(info))
        check("dopt_deq_solve", r, info, [rp.status for rp in reps])
        ctx.hs, ctx.hl, ctx.keep, ctx.dims, ctx.z = hs, hl, (Wc, Uc, bc, xc), (s, R, n, p, B), z
        return z.clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gz):
        s, R, n, p, B = ctx.dims
        g = gz.contiguous()
        dW = torch.zeros(n, n, dtype=g.dtype)
        dU = torch.zeros(p, n, dtype=g.dtype)  # column-major n x p
        db = torch.zeros(n, dtype=g.dtype)
        dx = torch.zeros(B, p, dtype=g.dtype)
        reps = (DeqReport * B)()
        info = ErrInfo()
        r = _fn("dopt_deq_tanh_backward", s)(ctx.hl.ptr, ctx.hs.ptr, None, _p(ctx.z, R), n, _p(g, R), n,
                                             _p(dW, R), _p(dU, R), _p(db, R), _p(dx, R), p, reps, ctypes.byref(info))
        check("dopt_deq_tanh_backward", r, info, [rp.status for rp in reps])
        return dW.t(), dU.t(), db, dx, None, None


def deq_tanh(W, U, bias, x, tol=None, max_iters=0):
    """DEQ fixed point of the tanh layer (see DEQTanhFunction); tol sets both the absolute and the
    relative residual tolerances (None: dopt's defaults)."""
    return DEQTanhFunction.apply(W, U, bias, x, tol, max_iters)


# ---- least squares -----------------------------------------------------------------------------------

_CURVE_EXP, _PGO_SE2 = 0, 1


def _nlls_forward(ctx, kind, data, x0, edges, size, nterms, exact, max_iters):
    s, R = _sfx(data, x0)
    B = data.shape[0]
    ptr = ctypes.c_void_p()
    info = ErrInfo()
    ed = None
    if edges is not None:
        ed = (ctypes.c_int * (2 * nterms))(*[int(v) for v in edges.reshape(-1).tolist()])
    check("dopt_nlls_create", _fn("dopt_bridge_nlls_create", s)(kind, B, size, nterms, ed, 1 if exact else 0,
                                                                ctypes.byref(ptr), ctypes.byref(info)), info)
    h = Handle(ptr, _fn("dopt_bridge_nlls_destroy", s))
    dc, xc = _c(data), _c(x0)
    x = torch.empty_like(xc)
    st = _status_array(B)
    r = _fn("dopt_bridge_nlls_solve", s)(h.ptr, _p(dc, R), _p(xc, R), max_iters, _p(x, R), st, ctypes.byref(info))
    check("dopt_nlls_solve", r, info, list(st))
    ctx.h, ctx.dims, ctx.shape = h, (s, R, B), data.shape
    return x


def _nlls_backward(ctx, gx):
    s, R, B = ctx.dims
    g = gx.contiguous()
    dd = torch.zeros(ctx.shape, dtype=g.dtype)
    st = _status_array(B)
    info = ErrInfo()
    r = _fn("dopt_bridge_nlls_backward", s)(ctx.h.ptr, _p(g, R), _p(dd, R), st, ctypes.byref(info))
    check("dopt_nlls_diff_backward", r, info, list(st))
    return dd


class CurveFitFunction(torch.autograd.Function):
    """(m, c) = argmin sum_i 1/2 (y_i - exp(m t_i + c))^2 by Levenberg-Marquardt from x0; backward
    IMPLICIT (dopt_nlls_diff_backward; exact: the exact Hessian instead of Gauss-Newton's).
    t, y (B,N), x0 (B,2).  Returns (B,2); gradients for t and y."""

    @staticmethod
    def forward(ctx, t, y, x0, exact, max_iters):
        if t.shape != y.shape or t.dim() != 2 or x0.shape != (t.shape[0], 2):
            raise ValueError("curve_fit: shapes t, y (B,N), x0 (B,2)")
        data = torch.stack((t, y), dim=-1)
        return _nlls_forward(ctx, _CURVE_EXP, data, x0, None, t.shape[1], t.shape[1], exact, max_iters)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gx):
        dd = _nlls_backward(ctx, gx)
        return dd[..., 0], dd[..., 1], None, None, None


def curve_fit(t, y, x0=None, exact=True, max_iters=0):
    """Least-squares fit of y = exp(m t + c) per batch element (see CurveFitFunction)."""
    if x0 is None:
        x0 = torch.zeros(t.shape[0], 2, dtype=t.dtype)
    return CurveFitFunction.apply(t, y, x0, exact, max_iters)


class PoseGraphFunction(torch.autograd.Function):
    """SE2 pose-graph optimization: poses = argmin sum_edges 1/2 |Log(meas_k^-1 X_i^-1 X_j)|^2 from x0,
    pose 0 held at x0's.  meas (B,E,3) [x y theta] of pose j in pose i's frame, edges (E,2) ints,
    x0 (B,N,3) [x y theta].  Returns poses (B,N,3); gradients for meas (IMPLICIT)."""

    @staticmethod
    def forward(ctx, meas, edges, x0, exact, max_iters):
        B, E, three = meas.shape
        if three != 3 or edges.shape != (E, 2) or x0.dim() != 3 or x0.shape[0] != B or x0.shape[2] != 3:
            raise ValueError("pose_graph: shapes meas (B,E,3), edges (E,2), x0 (B,N,3)")
        return _nlls_forward(ctx, _PGO_SE2, meas, x0, edges, x0.shape[1], E, exact, max_iters)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gx):
        return _nlls_backward(ctx, gx), None, None, None, None


def pose_graph(meas, edges, x0, exact=True, max_iters=0):
    """SE2 pose-graph layer (see PoseGraphFunction)."""
    return PoseGraphFunction.apply(meas, edges, x0, exact, max_iters)
