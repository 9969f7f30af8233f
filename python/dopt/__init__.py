"""dopt: PyTorch layers over libdopt.so (the dopt C library built by `make lib`).

    import torch, dopt
    tau = dopt.lqr(C, c, F, f, x0)          # differentiable LQR, batch on dim 0
    x = dopt.qp(Q, p, G=G, h=h)             # QP layer
    z = dopt.deq_tanh(W, U, b, x)           # DEQ fixed point
    mc = dopt.curve_fit(t, y)               # least squares, implicit backward
Errors raise dopt.DoptError carrying dopt's status string.
"""
from ._lib import DoptError, lib, status_string
from .layers import (lqr, pendulum_mpc, qp, deq_tanh, curve_fit, pose_graph, LQRFunction,
                     PendulumMPCFunction, QPFunction, DEQTanhFunction, CurveFitFunction,
                     PoseGraphFunction, PENDULUM)

__version__ = "0.1.0"
__all__ = ["DoptError", "lib", "status_string", "lqr", "pendulum_mpc", "qp", "deq_tanh", "curve_fit",
           "pose_graph", "LQRFunction", "PendulumMPCFunction", "QPFunction", "DEQTanhFunction",
           "CurveFitFunction", "PoseGraphFunction", "PENDULUM"]
