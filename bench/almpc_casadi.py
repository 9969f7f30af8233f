"""bench/almpc_casadi.py — the optimal-control problems of bench/almpc.c solved by CasADi's Opti stack
(multiple shooting, exact Hessians) with Ipopt and with fatrop, one thread.  Same problems, same
initial guesses (cold: the controls 0 and the states of their rollout; warm: the previous solution
shifted by one step, the last step repeated, from x_init = its x_1).  Prints one line per case:
  casadi <case> <solver> time_s=<best of reps, process CPU time of opti.solve> iters=<n> cost=<objective>
  viol=<max constraint violation>
and, batch 1, `<problem>_B1_rh`: a receding-horizon loop of 20 one-step shifts from the cold
solution (time_s the mean per step, iters the sum, cost the last step's, viol the worst).
The problems are defined once here and once in tests/almpc_problems.h; the costs printed by both
sides check that they agree.  Usage: almpc_casadi.py <reps> <batch64: 0/1> [dir with dopt's almpc_<problem>_tau.txt]"""
import sys, time, math
import casadi as ca

REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
DO64 = int(sys.argv[2]) if len(sys.argv) > 2 else 1
RH_STEPS = 20  # as bench/almpc_dopt.c

def car_problem(T):
    dt, gx, gy, ru = 0.1, 5.0, 5.0, 0.1
    obs = [(1.5, 1.2, 0.8), (3.0, 3.2, 0.8), (4.0, 1.8, 0.8)]
    def f(x, u):
        return ca.vertcat(x[0] + dt * x[3] * ca.cos(x[2]), x[1] + dt * x[3] * ca.sin(x[2]),
                          x[2] + dt * u[1], x[3] + dt * u[0])
    def cost(x, u):
        return (x[0] - gx) ** 2 + (x[1] - gy) ** 2 + ru * (u[0] ** 2 + u[1] ** 2)
    def ineq(x, u):
        return [r * r - (x[0] - ox) ** 2 - (x[1] - oy) ** 2 for ox, oy, r in obs]
    return dict(n=4, m=2, T=T, f=f, cost=cost, ineq=ineq, ulo=[-2.0, -1.0], uhi=[2.0, 1.0])

def cartpole_problem(T):
    g, mc, mp, l, dt = 9.81, 1.0, 0.1, 0.5, 0.05
    qp, qth, r, pmax = 1.0, 10.0, 0.01, 1.0
    M, ml = mc + mp, mp * l
    def f(x, u):
        s, c, w = ca.sin(x[2]), ca.cos(x[2]), x[3]
        temp = (u[0] + ml * w * w * s) / M
        den = l * (4.0 / 3 - mp * c * c / M)
        tha = (g * s - c * temp) / den
        xa = temp - ml * tha * c / M
        return ca.vertcat(x[0] + dt * x[1], x[1] + dt * xa, x[2] + dt * w, w + dt * tha)
    def cost(x, u):
        return qp * x[0] ** 2 + 0.1 * x[1] ** 2 + qth * x[2] ** 2 + 0.1 * x[3] ** 2 + r * u[0] ** 2
    def ineq(x, u):
        return [x[0] - pmax, -x[0] - pmax]
    return dict(n=4, m=1, T=T, f=f, cost=cost, ineq=ineq, ulo=[-10.0], uhi=[10.0])

def build(P, solver):
    """Variables and constraints stage by stage in the order fatrop's structure detection needs:
    x_0, u_0, x_1, u_1, ..., x_{T-1}; per stage the gap x_{k+1} = f(x_k, u_k) first, then the
    stage's path constraints.  u_{T-1} (in dopt's formulation it enters only its own cost term
    r |u|^2, so it is 0 at the optimum) is left out."""
    n, m, T = P["n"], P["m"], P["T"]
    opti = ca.Opti()
    xs, us = [], []
    for t in range(T):
        xs.append(opti.variable(n))
        if t < T - 1:
            us.append(opti.variable(m))
    x0 = opti.parameter(n)
    J = 0
    for t in range(T):
        if t < T - 1:
            opti.subject_to(xs[t + 1] == P["f"](xs[t], us[t]))
        if t == 0:
            opti.subject_to(xs[0] == x0)
        if t < T - 1:
            for i in range(m):
                opti.subject_to(opti.bounded(P["ulo"][i], us[t][i], P["uhi"][i]))
        for h in P["ineq"](xs[t], us[t] if t < T - 1 else ca.DM.zeros(m)):
            opti.subject_to(h <= 0)
        J += P["cost"](xs[t], us[t] if t < T - 1 else ca.DM.zeros(m))
    X = ca.horzcat(*xs)
    U = ca.horzcat(*us, ca.DM.zeros(m))
    opti.minimize(J)
    if solver == "ipopt":
        opti.solver("ipopt", {"print_time": False, "expand": True},
                    {"print_level": 0, "sb": "yes", "tol": 1e-8, "max_iter": 3000})
    else:
        opti.solver("fatrop", {"print_time": False, "expand": True, "structure_detection": "auto",
                               "debug": False, "fatrop": {"print_level": 0, "tol": 1e-8, "max_iter": 3000}})
    return opti, X, U, x0, J

def rollout(P, x0, U):
    n, T = P["n"], P["T"]
    X = [list(x0)]
    for t in range(T - 1):
        xn = P["f"](ca.DM(X[-1]), ca.DM([U[i][t] for i in range(P["m"])]))
        X.append([float(v) for v in xn.full().ravel()])
    return [[X[t][i] for t in range(T)] for i in range(n)]

def violation(P, Xv, Uv):
    v = 0.0
    for t in range(P["T"]):
        x = [Xv[i][t] for i in range(P["n"])]
        u = [Uv[i][t] for i in range(P["m"])]
        for h in P["ineq"](ca.DM(x), ca.DM(u)):
            v = max(v, float(h))
        if t < P["T"] - 1:
            xn = P["f"](ca.DM(x), ca.DM(u)).full().ravel()
            v = max(v, max(abs(xn[i] - Xv[i][t + 1]) for i in range(P["n"])))
    return v

def solve(opti, X, U, x0p, J, x0, Xg, Ug):
    opti.set_value(x0p, ca.DM(x0))
    opti.set_initial(X, ca.DM(Xg))
    opti.set_initial(U[:, :-1], ca.DM(Ug)[:, :-1])
    t0 = time.process_time()
    try:
        sol = opti.solve()
        ok = True
    except RuntimeError:
        sol = opti.debug
        ok = False
    dt = time.process_time() - t0
    st = sol.stats()
    Xv = sol.value(X).tolist()
    Uv = sol.value(U).tolist()
    if not isinstance(Uv[0], list): Uv = [Uv]
    return dt, st.get("iter_count", -1), float(sol.value(J)), Xv, Uv, ok

def starts(name, B):
    """B initial states (the first is the nominal one), as bench/almpc.c makes them."""
    out = []
    for b in range(B):
        s = 0.1 * math.sin(1.7 * b + 0.3) if b else 0.0
        c = 0.1 * math.cos(2.3 * b + 0.1) if b else 0.0
        out.append([s, c, 0.0, 0.0] if name == "car" else [s, 0.0, math.pi + c, 0.0])
    return out

def from_dopt(name, P, path):
    """Ipopt started at dopt's cold solution (element 0): if it stays there with dopt's cost, dopt's
    solution is a local optimum of the same problem (a check of the problem's two definitions)."""
    try:
        vals = [float(v) for v in open(path)]
    except OSError:
        return
    n, m, T = P["n"], P["m"], P["T"]
    N = n + m
    Xg = [[vals[t * N + i] for t in range(T)] for i in range(n)]
    Ug = [[vals[t * N + n + i] for t in range(T)] for i in range(m)]
    opti, X, U, x0p, J = build(P, "ipopt")
    dt, it, cost, Xv, Uv, ok = solve(opti, X, U, x0p, J, [Xg[i][0] for i in range(n)], Xg, Ug)
    print(f"casadi {name}_B1_from_dopt ipopt time_s={dt:.6e} iters={it} cost={cost:.9g} viol={violation(P, Xv, Uv):.2e} ok={int(ok)}")

def main():
    print("# casadi", ca.__version__, "Opti stack, multiple shooting, exact Hessians, expand=True, one thread")
    for name, P in (("car", car_problem(50)), ("cartpole", cartpole_problem(100))):
        if len(sys.argv) > 3:
            from_dopt(name, P, f"{sys.argv[3]}/almpc_{name}_tau.txt")
        for solver in ("ipopt", "fatrop"):
            opti, X, U, x0p, J = build(P, solver)
            for B in ((1, 64) if DO64 and solver == "fatrop" else (1,)):  # B 64: the fastest only
                X0 = starts(name, B)
                best_c, best_w = 1e30, 1e30
                for rep in range(REPS if B == 1 else 1):
                    tc = tw = 0.0
                    its_c = its_w = 0
                    for b in range(B):
                        Ug = [[0.0] * P["T"] for _ in range(P["m"])]
                        Xg = rollout(P, X0[b], Ug)
                        dt, it, cost, Xv, Uv, ok = solve(opti, X, U, x0p, J, X0[b], Xg, Ug)
                        tc += dt; its_c += it
                        if b == 0: cost_c, viol_c, ok_c = cost, violation(P, Xv, Uv), ok
                        # one receding-horizon step: x_init <- x_1, shifted guess
                        x1 = [Xv[i][1] for i in range(P["n"])]
                        Xs = [row[1:] + row[-1:] for row in Xv]
                        Us = [row[1:] + row[-1:] for row in Uv]
                        dt, it, cost, Xv2, Uv2, ok = solve(opti, X, U, x0p, J, x1, Xs, Us)
                        tw += dt; its_w += it
                        if b == 0: cost_w, viol_w, ok_w = cost, violation(P, Xv2, Uv2), ok
                    best_c, best_w = min(best_c, tc), min(best_w, tw)
                if B == 1:  # receding horizon: RH_STEPS one-step shifts from the cold solution
                    Ug = [[0.0] * P["T"] for _ in range(P["m"])]
                    dt, it, cost, Xv, Uv, ok = solve(opti, X, U, x0p, J, X0[0], rollout(P, X0[0], Ug), Ug)
                    tot, its, worst, okn = 0.0, 0, 0.0, 0
                    for k in range(RH_STEPS):
                        x1 = [Xv[i][1] for i in range(P["n"])]
                        Xs = [row[1:] + row[-1:] for row in Xv]
                        Us = [row[1:] + row[-1:] for row in Uv]
                        dt, it, cost, Xv, Uv, ok = solve(opti, X, U, x0p, J, x1, Xs, Us)
                        tot += dt; its += it; okn += int(ok)
                        worst = max(worst, violation(P, Xv, Uv))
                    print(f"casadi {name}_B1_rh {solver} time_s={tot / RH_STEPS:.6e} iters={its} cost={cost:.9g} viol={worst:.2e} ok={okn}")
                print(f"casadi {name}_B{B}_cold {solver} time_s={best_c:.6e} iters={its_c} cost={cost_c:.9g} viol={viol_c:.2e} ok={int(ok_c)}")
                print(f"casadi {name}_B{B}_warm {solver} time_s={best_w:.6e} iters={its_w} cost={cost_w:.9g} viol={viol_w:.2e} ok={int(ok_w)}")
                sys.stdout.flush()

main()
