"""Imitation learning through the MPC layer inside a torch model (the task of examples/learn_mpc.c,
Amos et al. 2018, section 5): recover the unknown cost weights of a pendulum controller from its
trajectories.

The expert is iLQR on the pendulum with stage cost 1/2 sum_i w_i (tau_i - goal_i)^2, tau = [theta,
omega, u], goal = [1, 0, 0], w* = (4, 0.5, 1).  The learner is an nn.Module whose parameters are
log w_0, log w_1 (u's weight held at 1: only ratios matter); its forward builds C = diag(w),
c = -w * goal and calls dopt.pendulum_mpc, so torch's autograd carries dL/dC, dL/dc from dopt's
backward to the parameters.  Adam descends the imitation loss ||tau(w) - tau_expert||^2 over a
batch of 4 starting states.  Prints the loss every 10 epochs; exits 1 unless it fell >= 100x.
    make lib && python python/examples/train_mpc.py [--float32] [--epochs N]"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch  # noqa: E402
import dopt  # noqa: E402

T = 30
GOAL = (1.0, 0.0, 0.0)


class PendulumController(torch.nn.Module):
    """A model whose forward pass is the MPC layer: x0 (B,2) -> planned trajectory (B,T,3)."""

    def __init__(self, w0, w1, dtype):
        super().__init__()
        self.log_w = torch.nn.Parameter(torch.tensor([math.log(w0), math.log(w1)], dtype=dtype))
        self.register_buffer("goal", torch.tensor(GOAL, dtype=dtype))

    def weights(self):
        return torch.cat((self.log_w.exp(), torch.ones(1, dtype=self.log_w.dtype)))

    def forward(self, x0):
        B = x0.shape[0]
        w = self.weights()
        C = torch.diag_embed(w).expand(B, T, 3, 3)
        c = (-w * self.goal).expand(B, T, 3)
        return dopt.pendulum_mpc(C, c, x0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--float32", action="store_true")
    args = ap.parse_args()
    dtype = torch.float32 if args.float32 else torch.float64
    torch.set_num_threads(1)
    x0 = torch.tensor([[0, 0], [-0.5, 1], [2, 0], [1.5, -2]], dtype=dtype)
    with torch.no_grad():
        expert = PendulumController(4.0, 0.5, dtype)(x0)
    model = PendulumController(0.5, 2.0, dtype)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=40, gamma=0.5)
    first = None
    for epoch in range(args.epochs + 1):
        opt.zero_grad()
        loss = ((model(x0) - expert) ** 2).sum()
        if first is None:
            first = loss.item()
        if epoch % 10 == 0:
            w = model.weights().detach()
            print("epoch %3d  imitation loss %.3e  w = (%.4f, %.4f, 1)" % (epoch, loss.item(), w[0], w[1]))
        if epoch == args.epochs:
            break
        loss.backward()
        opt.step()
        sched.step()
    w = model.weights().detach()
    ratio = first / max(loss.item(), 1e-300)
    print("loss fell %.1e-fold; recovered w = (%.4f, %.4f, 1), true (4, 0.5, 1)" % (ratio, w[0], w[1]))
    return 0 if ratio >= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
