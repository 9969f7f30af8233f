"""ctypes bindings over libdopt.so (built by `make lib`).

The library is looked up, in order, at $DOPT_LIB, next to this file (a `pip install ./python`
copies build/libdopt.so here), at ../../build/libdopt.so relative to this file (a source tree
after `make lib`), then by the system loader (`make install` prefixes on the library path).
Every call that returns a dopt_status goes through `check`, which raises DoptError.
"""
import ctypes
import ctypes.util
import os

c_int, c_long, c_double, c_float, c_void_p = ctypes.c_int, ctypes.c_long, ctypes.c_double, ctypes.c_float, ctypes.c_void_p
c_ptrdiff = ctypes.c_ssize_t
P = ctypes.POINTER


class ErrInfo(ctypes.Structure):
    """dopt_errinfo: status, index, line, message[160]."""
    _fields_ = [("status", c_int), ("index", c_long), ("line", c_long), ("message", ctypes.c_char * 160)]


class DeqOptions(ctypes.Structure):
    """dopt_deq_options (zero: defaults)."""
    _fields_ = [("method", c_int), ("max_iters", c_int), ("abs_tol", c_double), ("rel_tol", c_double),
                ("memory", c_int), ("mixing", c_double), ("damping", c_double), ("lambda_", c_double),
                ("restart", c_int)]


class DeqReport(ctypes.Structure):
    """dopt_deq_report."""
    _fields_ = [("status", c_int), ("iterations", c_int), ("residual", c_double),
                ("rel_residual", c_double), ("restarts", c_int)]


class QpDims(ctypes.Structure):
    """dopt_mpc_qp_dims."""
    _fields_ = [("n", c_int), ("meq", c_int), ("mineq", c_int), ("box", c_int), ("double_inside", c_int)]


class DoptError(RuntimeError):
    """A dopt call failed: .status (int), .status_string (dopt_status_string), .index (the failing
    element / column / edge or -1), .message (the errinfo message), .element_status (per-element
    statuses where the call has them, else None)."""

    def __init__(self, function, status, status_string, index=-1, message="", element_status=None):
        self.function, self.status, self.status_string = function, status, status_string
        self.index, self.message, self.element_status = index, message, element_status
        text = "%s: %s" % (function, status_string)
        if message:
            text += " (%s)" % message
        if index is not None and index >= 0:
            text += " [index %d]" % index
        super().__init__(text)


def _candidates():
    env = os.environ.get("DOPT_LIB")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "libdopt.so")
    yield os.path.normpath(os.path.join(here, "..", "..", "build", "libdopt.so"))
    found = ctypes.util.find_library("dopt")
    if found:
        yield found


_LIB = None


def lib():
    """The loaded libdopt.so with argtypes set (loaded once)."""
    global _LIB
    if _LIB is not None:
        return _LIB
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            L = ctypes.CDLL(path)
            break
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    else:
        raise ImportError("libdopt.so not found; run `make lib` in the dopt tree or set DOPT_LIB. Tried: "
                          + ", ".join(tried))
    _declare(L)
    _LIB = L
    return L


def _declare(L):
    L.dopt_status_string.restype = ctypes.c_char_p
    L.dopt_status_string.argtypes = [c_int]
    for s, R in (("f", c_float), ("d", c_double)):
        RP = P(R)
        ip = P(c_int)
        vp = c_void_p

        def d(name, args, res=c_int):
            fn = getattr(L, name + "_" + s)
            fn.argtypes, fn.restype = args, res
        # LQR
        d("dopt_mpc_lqr_create", [vp, c_int, c_int, c_int, c_ptrdiff, P(vp), P(ErrInfo)])
        d("dopt_mpc_lqr_destroy", [vp], None)
        d("dopt_bridge_lqr_solve", [vp, c_int, c_int, c_int, c_ptrdiff] + [RP] * 9 + [ip, P(ErrInfo)])
        d("dopt_bridge_lqr_backward", [vp, c_int, c_int, c_int, c_ptrdiff] + [RP] * 6 + [ip, P(ErrInfo)])
        # iLQR pendulum MPC
        d("dopt_mpc_ilqr_create", [vp, c_int, c_int, c_int, c_ptrdiff, P(vp), P(ErrInfo)])
        d("dopt_mpc_ilqr_destroy", [vp], None)
        d("dopt_bridge_pendulum_mpc_solve", [vp, RP, c_int, c_ptrdiff] + [RP] * 5 + [c_int, R, c_int, RP, ip, P(ErrInfo)])
        d("dopt_bridge_pendulum_mpc_backward", [vp, c_int, c_ptrdiff] + [RP] * 4 + [P(ErrInfo)])
        # QP
        d("dopt_mpc_qp_create", [vp, P(QpDims), c_ptrdiff, P(vp), P(ErrInfo)])
        d("dopt_mpc_qp_destroy", [vp], None)
        d("dopt_bridge_qp_solve", [vp, c_int, c_int, c_int, c_int, c_ptrdiff] + [RP] * 9 + [ip, ip, P(ErrInfo)])
        d("dopt_bridge_qp_backward", [vp, c_int, c_int, c_int, c_int, c_ptrdiff] + [RP] * 17 + [ip, P(ErrInfo)])
        # DEQ tanh layer
        d("dopt_deq_solver_create", [vp, c_int, c_ptrdiff, P(DeqOptions), P(vp), P(ErrInfo)])
        d("dopt_deq_solver_destroy", [vp], None)
        d("dopt_deq_tanh_create", [vp, c_int, c_int, c_ptrdiff, P(vp), P(ErrInfo)])
        d("dopt_deq_tanh_destroy", [vp], None)
        d("dopt_deq_tanh_set", [vp, RP, RP, RP, RP, c_ptrdiff, P(ErrInfo)])
        d("dopt_deq_solve", [vp, vp, vp, RP, c_ptrdiff, P(DeqReport), RP, c_int, P(ErrInfo)])
        d("dopt_deq_tanh_backward", [vp, vp, vp, RP, c_ptrdiff, RP, c_ptrdiff, RP, RP, RP, RP, c_ptrdiff,
                                     P(DeqReport), P(ErrInfo)])
        # least squares
        d("dopt_bridge_nlls_create", [c_int, c_int, c_int, c_int, ip, c_int, P(vp), P(ErrInfo)])
        d("dopt_bridge_nlls_destroy", [vp], None)
        d("dopt_bridge_nlls_solve", [vp, RP, RP, c_int, RP, ip, P(ErrInfo)])
        d("dopt_bridge_nlls_backward", [vp, RP, RP, ip, P(ErrInfo)])


def status_string(status):
    return lib().dopt_status_string(int(status)).decode()


def check(function, status, info=None, element_status=None):
    """Raise DoptError for a non-zero dopt_status."""
    if status == 0:
        return
    msg = info.message.decode(errors="replace") if info is not None else ""
    index = info.index if info is not None else -1
    raise DoptError(function, int(status), status_string(status), index, msg, element_status)


class Handle:
    """Owns a dopt object pointer and destroys it with `destroy` when collected."""
    __slots__ = ("ptr", "destroy", "extra")

    def __init__(self, ptr, destroy, extra=None):
        self.ptr, self.destroy, self.extra = ptr, destroy, extra

    def __del__(self):
        if self.ptr:
            self.destroy(self.ptr)
            self.ptr = None
