/* almpc_problems.h — the constrained optimal-control problems shared by tests/test_almpc.c,
 * bench/almpc.c and examples/car_obstacles.c (one definition of each problem).
 * Include after dopt_mpc.h, inside a precision pass (DOPT_REAL / DOPT_FN defined) or with
 * ALMPC_REAL / ALMPC_FN defined by hand.
 *
 * CAR: kinematic car x = [px, py, heading, speed], u = [acceleration, heading rate], explicit
 *   Euler with dt: px' = v cos th, py' = v sin th, th' = w, v' = a.  Stage cost
 *   (px - gx)^2 + (py - gy)^2 + r_u (a^2 + w^2); inequalities: one per obstacle,
 *   rad^2 - (px - ox)^2 - (py - oy)^2 <= 0.  Control limits |a| <= 2, |w| <= 1 as a box.
 * CARTPOLE: dopt_mpc_cartpole_dynamics (theta = 0 upright), swing-up from hanging (theta = pi):
 *   stage cost q_p p^2 + q_th (theta)^2 + 0.1 (v^2 + omega^2) + r u^2 with theta measured from upright,
 *   state limits |p| <= p_max as two inequalities, |u| <= u_max as a box. */
#ifndef ALMPC_REAL
#define ALMPC_REAL DOPT_REAL
#define ALMPC_FN(x) DOPT_FN(x)
#define ALMPC__SET
#endif

#define ALMPC_MAX_OBS 8
#if (defined(__GNUC__) || defined(__clang__)) && !defined(ALMPC_UNUSED)
#define ALMPC_UNUSED __attribute__((unused))
#elif !defined(ALMPC_UNUSED)
#define ALMPC_UNUSED
#endif
typedef struct ALMPC_FN(almpc_car) {
    ALMPC_REAL dt, gx, gy, r_u;
    int n_obs;
    ALMPC_REAL ox[ALMPC_MAX_OBS], oy[ALMPC_MAX_OBS], rad[ALMPC_MAX_OBS];
} ALMPC_FN(almpc_car);

ALMPC_UNUSED static dopt_status ALMPC_FN(almpc_car_dyn)(void *user, ptrdiff_t b, int t, const ALMPC_REAL *x, const ALMPC_REAL *u,
                                           ALMPC_REAL *xn, ALMPC_REAL *F)
{
    const ALMPC_FN(almpc_car) *c = (const ALMPC_FN(almpc_car) *)user;
    ALMPC_REAL dt = c->dt, ct = (ALMPC_REAL)cos(x[2]), st = (ALMPC_REAL)sin(x[2]);
    int i;
    (void)b; (void)t;
    xn[0] = x[0] + dt * x[3] * ct;
    xn[1] = x[1] + dt * x[3] * st;
    xn[2] = x[2] + dt * u[1];
    xn[3] = x[3] + dt * u[0];
    if (F) {
        for (i = 0; i < 24; ++i) F[i] = 0;
        for (i = 0; i < 4; ++i) F[i + 4 * i] = 1;
        F[0 + 4 * 2] = -dt * x[3] * st;  F[0 + 4 * 3] = dt * ct;
        F[1 + 4 * 2] = dt * x[3] * ct;   F[1 + 4 * 3] = dt * st;
        F[3 + 4 * 4] = dt;               F[2 + 4 * 5] = dt;
    }
    return DOPT_OK;
}

ALMPC_UNUSED static dopt_status ALMPC_FN(almpc_car_cost)(void *user, ptrdiff_t b, int t, const ALMPC_REAL *z, ALMPC_REAL *l,
                                            ALMPC_REAL *g, ALMPC_REAL *H)
{
    const ALMPC_FN(almpc_car) *c = (const ALMPC_FN(almpc_car) *)user;
    ALMPC_REAL ex = z[0] - c->gx, ey = z[1] - c->gy;
    int i;
    (void)b; (void)t;
    *l = ex * ex + ey * ey + c->r_u * (z[4] * z[4] + z[5] * z[5]);
    if (g) {
        for (i = 0; i < 6; ++i) g[i] = 0;
        for (i = 0; i < 36; ++i) H[i] = 0;
        g[0] = 2 * ex; g[1] = 2 * ey; g[4] = 2 * c->r_u * z[4]; g[5] = 2 * c->r_u * z[5];
        H[0] = 2; H[7] = 2; H[28] = 2 * c->r_u; H[35] = 2 * c->r_u;
    }
    return DOPT_OK;
}

ALMPC_UNUSED static dopt_status ALMPC_FN(almpc_car_obs)(void *user, ptrdiff_t b, int t, const ALMPC_REAL *z, ALMPC_REAL *h,
                                           ALMPC_REAL *J)
{
    const ALMPC_FN(almpc_car) *c = (const ALMPC_FN(almpc_car) *)user;
    const int k = c->n_obs;
    int i, j;
    (void)b; (void)t;
    for (i = 0; i < k; ++i) {
        ALMPC_REAL dx = z[0] - c->ox[i], dy = z[1] - c->oy[i];
        h[i] = c->rad[i] * c->rad[i] - dx * dx - dy * dy;
        if (J) {
            for (j = 0; j < 6; ++j) J[i + j * k] = 0;
            J[i + 0 * k] = -2 * dx;
            J[i + 1 * k] = -2 * dy;
        }
    }
    return DOPT_OK;
}

/* The car: goal (5, 5), three obstacles of radius 0.8, dt 0.1, r_u 0.1. */
ALMPC_UNUSED static void ALMPC_FN(almpc_car_default)(ALMPC_FN(almpc_car) *c)
{
    memset(c, 0, sizeof *c);
    c->dt = (ALMPC_REAL)0.1; c->gx = 5; c->gy = 5; c->r_u = (ALMPC_REAL)0.1;
    c->n_obs = 3;
    c->ox[0] = (ALMPC_REAL)1.5; c->oy[0] = (ALMPC_REAL)1.2; c->rad[0] = (ALMPC_REAL)0.8;
    c->ox[1] = 3; c->oy[1] = (ALMPC_REAL)3.2; c->rad[1] = (ALMPC_REAL)0.8;
    c->ox[2] = 4; c->oy[2] = (ALMPC_REAL)1.8; c->rad[2] = (ALMPC_REAL)0.8;
}

ALMPC_UNUSED static void ALMPC_FN(almpc_car_problem)(ALMPC_FN(almpc_car) *c, const ALMPC_REAL *lo, const ALMPC_REAL *hi,
                                        ALMPC_FN(dopt_mpc_al_problem) *p)
{
    memset(p, 0, sizeof *p);
    p->n_state = 4; p->n_ctrl = 2; p->n_ineq = c->n_obs; p->n_eq = 0;
    p->dynamics = ALMPC_FN(almpc_car_dyn); p->dynamics_jacobian = 1;
    p->cost = ALMPC_FN(almpc_car_cost); p->cost_derivatives = 1;
    p->ineq = c->n_obs ? ALMPC_FN(almpc_car_obs) : NULL; p->constraint_jacobians = 1;
    p->user = c;
    p->u_lower.p = lo; p->u_upper.p = hi;   /* shared by every step and element */
}

/* Cart-pole swing-up with a track limit. */
typedef struct ALMPC_FN(almpc_cartpole) {
    ALMPC_FN(dopt_mpc_cartpole) sys;
    ALMPC_REAL q_p, q_th, r, p_max;
} ALMPC_FN(almpc_cartpole);

ALMPC_UNUSED static dopt_status ALMPC_FN(almpc_cp_dyn)(void *user, ptrdiff_t b, int t, const ALMPC_REAL *x, const ALMPC_REAL *u,
                                          ALMPC_REAL *xn, ALMPC_REAL *F)
{
    return ALMPC_FN(dopt_mpc_cartpole_dynamics)(&((ALMPC_FN(almpc_cartpole) *)user)->sys, b, t, x, u, xn, F);
}

ALMPC_UNUSED static dopt_status ALMPC_FN(almpc_cp_cost)(void *user, ptrdiff_t b, int t, const ALMPC_REAL *z, ALMPC_REAL *l,
                                           ALMPC_REAL *g, ALMPC_REAL *H)
{
    const ALMPC_FN(almpc_cartpole) *c = (const ALMPC_FN(almpc_cartpole) *)user;
    ALMPC_REAL w[5];
    int i;
    (void)b; (void)t;
    w[0] = c->q_p; w[1] = (ALMPC_REAL)0.1; w[2] = c->q_th; w[3] = (ALMPC_REAL)0.1; w[4] = c->r;
    *l = 0;
    for (i = 0; i < 5; ++i) *l += w[i] * z[i] * z[i];
    if (g) {
        for (i = 0; i < 25; ++i) H[i] = 0;
        for (i = 0; i < 5; ++i) { g[i] = 2 * w[i] * z[i]; H[i * 6] = 2 * w[i]; }
    }
    return DOPT_OK;
}

ALMPC_UNUSED static dopt_status ALMPC_FN(almpc_cp_limits)(void *user, ptrdiff_t b, int t, const ALMPC_REAL *z, ALMPC_REAL *h,
                                             ALMPC_REAL *J)
{
    const ALMPC_FN(almpc_cartpole) *c = (const ALMPC_FN(almpc_cartpole) *)user;
    int j;
    (void)b; (void)t;
    h[0] = z[0] - c->p_max;
    h[1] = -z[0] - c->p_max;
    if (J) {
        for (j = 0; j < 10; ++j) J[j] = 0;
        J[0] = 1; J[1] = -1;
    }
    return DOPT_OK;
}

ALMPC_UNUSED static void ALMPC_FN(almpc_cartpole_default)(ALMPC_FN(almpc_cartpole) *c)
{
    memset(c, 0, sizeof *c);
    c->sys.g = (ALMPC_REAL)9.81; c->sys.m_cart = 1; c->sys.m_pole = (ALMPC_REAL)0.1; c->sys.l = (ALMPC_REAL)0.5;
    c->sys.dt = (ALMPC_REAL)0.05;
    c->q_p = 1; c->q_th = 10; c->r = (ALMPC_REAL)0.01; c->p_max = (ALMPC_REAL)1.0;
}

ALMPC_UNUSED static void ALMPC_FN(almpc_cartpole_problem)(ALMPC_FN(almpc_cartpole) *c, const ALMPC_REAL *lo, const ALMPC_REAL *hi,
                                             ALMPC_FN(dopt_mpc_al_problem) *p)
{
    memset(p, 0, sizeof *p);
    p->n_state = 4; p->n_ctrl = 1; p->n_ineq = 2; p->n_eq = 0;
    p->dynamics = ALMPC_FN(almpc_cp_dyn); p->dynamics_jacobian = 1;
    p->cost = ALMPC_FN(almpc_cp_cost); p->cost_derivatives = 1;
    p->ineq = ALMPC_FN(almpc_cp_limits); p->constraint_jacobians = 1;
    p->user = c;
    p->u_lower.p = lo; p->u_upper.p = hi;
}
#ifdef ALMPC__SET
#undef ALMPC_REAL
#undef ALMPC_FN
#undef ALMPC__SET
#endif
