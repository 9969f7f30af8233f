"""bench/theseus_pgo.py — Theseus' side of `make bench-theseus` (the paper's §5.1 pose-graph benchmark).

For each size N in argv[2:]: generate Theseus' synthetic 3-D pose graph (PoseGraphDataset.
generate_synthetic_3D, float64, dataset = batch = 16), build the objective of its
pose_graph_synthetic example (Welsch robust Between costs sharing one learnable log-radius, a prior
on pose 0), and time forward + IMPLICIT backward of a TheseusLayer around Levenberg-Marquardt
(10 iterations, step 0.75, fixed damping 1e-3, CHOLMOD sparse solver, tolerances off) with one
thread.  The outer loss is the squared pose error to the ground truth, sum over poses and batch.
Writes the generated problem and Theseus' results to <outdir>/theseus_<N>.txt for bench/theseus_dopt.c:
    N B E  log_radius  loss  dL/dlog_radius  seconds
    sqrt-information diagonal (6), prior weight (1)
    per element b, per pose: initial x y z qx qy qz qw ; ground truth (same layout)
    per edge: i j, then per element b: x y z qx qy qz qw
Usage: python theseus_pgo.py OUTDIR N1 [N2 ...]
"""
import sys
import time

import numpy as np
import torch
import theseus as th
from theseus.utils.examples.pose_graph.dataset import PoseGraphDataset

torch.set_num_threads(1)
DT = torch.float64
B = 16


def quat_xyzw(se3_tensor):
    """(b, 3, 4) [R | t] -> (b, 7) x y z qx qy qz qw."""
    q = th.SO3(tensor=se3_tensor[:, :, :3], strict_checks=False).to_quaternion()  # w x y z
    t = se3_tensor[:, :, 3]
    return torch.cat([t, q[:, 1:], q[:, :1]], dim=1)


def run(outdir, num_poses):
    torch.manual_seed(num_poses)
    np.random.seed(num_poses)
    ds, _ = PoseGraphDataset.generate_synthetic_3D(
        num_poses=num_poses, dataset_size=B, batch_size=B, dtype=DT)
    log_r0 = 1.0
    prior_w = 10.0

    def build():
        objective = th.Objective(dtype=DT)
        log_radius = th.Vector(tensor=torch.full((1, 1), log_r0, dtype=DT), name="log_loss_radius")
        poses = [th.SE3(tensor=p.tensor.clone(), name=p.name) for p in ds.poses]
        for e in ds.edges:
            cost = th.Between(poses[e.i], poses[e.j], e.relative_pose, e.weight,
                              name=f"between_{e.i}_{e.j}")
            objective.add(th.RobustCostFunction(cost, th.WelschLoss, log_radius,
                                                name=f"robust_{e.i}_{e.j}"))
        target = th.SE3(tensor=ds.poses[0].tensor.clone(), name="pose0_target")
        objective.add(th.Difference(poses[0], target, th.ScaleCostWeight(torch.tensor(prior_w, dtype=DT)),
                                    name="pose0_prior"))
        optimizer = th.LevenbergMarquardt(
            objective, linear_solver_cls=th.CholmodSparseSolver,
            linearization_cls=th.SparseLinearization, vectorize=True,
            max_iterations=10, step_size=0.75, abs_err_tolerance=0.0, rel_err_tolerance=0.0)
        return th.TheseusLayer(optimizer), poses

    layer, poses = build()
    gt = [g.tensor for g in ds.gt_poses]
    best, loss_v, grad_v = 1e30, None, None
    for rep in range(2):
        phi = torch.full((1, 1), log_r0, dtype=DT, requires_grad=True)
        inputs = {p.name: ds.poses[k].tensor.clone() for k, p in enumerate(poses)}
        inputs["log_loss_radius"] = phi
        t0 = time.process_time()
        sol, info = layer.forward(inputs, optimizer_kwargs={
            "backward_mode": "implicit", "damping": 1e-3, "verbose": False})
        loss = 0
        for k, p in enumerate(poses):
            err = th.SE3(tensor=gt[k]).local(th.SE3(tensor=sol[p.name]))
            loss = loss + (err ** 2).sum()
        loss.backward()
        t1 = time.process_time()
        best = min(best, t1 - t0)
        loss_v, grad_v = loss.item(), phi.grad.item()
    print(f"# theseus N={num_poses}: {best:.3f} s per batch of {B} (forward + implicit backward), "
          f"loss {loss_v:.9e}, dL/dlog_radius {grad_v:.9e}", flush=True)
    with open(f"{outdir}/theseus_{num_poses}.txt", "w") as f:
        f.write(f"{num_poses} {B} {len(ds.edges)} {log_r0!r} {loss_v!r} {grad_v!r} {best!r}\n")
        w = ds.edges[0].weight.diagonal.tensor.view(-1).tolist()
        f.write(" ".join(repr(v) for v in w) + f" {prior_w!r}\n")
        init = [quat_xyzw(p.tensor) for p in ds.poses]
        gts = [quat_xyzw(g.tensor) for g in ds.gt_poses]
        for b in range(B):
            for k in range(num_poses):
                f.write(" ".join(repr(v) for v in init[k][b].tolist()) + "\n")
            for k in range(num_poses):
                f.write(" ".join(repr(v) for v in gts[k][b].tolist()) + "\n")
        for e in ds.edges:
            m = quat_xyzw(e.relative_pose.tensor)
            f.write(f"{e.i} {e.j}\n")
            for b in range(B):
                f.write(" ".join(repr(v) for v in m[b].tolist()) + "\n")


if __name__ == "__main__":
    print(f"# theseus-ai {th.__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} thread), float64", flush=True)
    for n in sys.argv[2:]:
        run(sys.argv[1], int(n))
