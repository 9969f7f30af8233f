/* dopt_mpc.h — model predictive control: LQR, differentiable LQR, box-constrained LQR, iLQR/SQP MPC,
 * augmented-Lagrangian MPC, a dense differentiable QP, CEM and DCEM with LML.   (C99, header-only)
 *
 * WHAT THIS IS
 *   Optimal-control and sampling-based planners whose solutions can be differentiated, so they sit
 *   as layers in learning pipelines.  It follows dopt.h's API CONVENTION (names, create/destroy,
 *   workspace size query then caller memory, ptrdiff_t batch sizes and strides, per-element
 *   status, options whose zero means "default") and its float/double generation ("FLOAT AND
 *   DOUBLE" in dopt.h).  Batches of problems of one structure are the unit of work; every forward
 *   solve has a backward pass that reuses its factorizations.
 *
 *   The module has independent parts, each documented in its own section below:
 *     LQR AND iLQR     dopt_mpc_lqr_*, dopt_mpc_ilqr_*   (Riccati forward, adjoint-LQR backward,
 *                      box-constrained controls, nonlinear MPC)
 *     DENSE QP         dopt_mpc_qp_*   (batched dense QP with the OptNet backward pass)
 *     CEM AND LML      dopt_mpc_cem_*, dopt_mpc_dcem_*, dopt_mpc_lml_*
 *
 * HOW TO USE
 *   #define DOPT_IMPLEMENTATION in one C file before including dopt.h and dopt_mpc.h.
 *
 * ---- LQR AND iLQR -------------------------------------------------------------------------------
 * ---- end LQR AND iLQR ---------------------------------------------------------------------------
 *
 * ---- DENSE QP ----------------------------------------------------------------------------------
 * ---- end DENSE QP ------------------------------------------------------------------------------
 *
 * ---- CEM AND LML --------------------------------------------------------------------------------
 * ---- end CEM AND LML ----------------------------------------------------------------------------
 *
 * LICENSE: MIT, see dopt.h.
 */
#if !defined(DOPT__DRIVE)
#ifndef DOPT_MPC_H
#define DOPT_MPC_H
#include "dopt.h"

#ifdef __cplusplus
extern "C" {
#endif
/* ==== LQR AND iLQR: precision-independent declarations ==== */
/* ==== end LQR AND iLQR: precision-independent declarations ==== */

/* ==== DENSE QP: precision-independent declarations ==== */
/* ==== end DENSE QP: precision-independent declarations ==== */

/* ==== CEM AND LML: precision-independent declarations ==== */
/* ==== end CEM AND LML: precision-independent declarations ==== */
#ifdef __cplusplus
}
#endif

#define DOPT_MPC__PASS_DECL
#define DOPT__DRIVE "dopt_mpc.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_MPC__PASS_DECL
#endif /* DOPT_MPC_H */

#if defined(DOPT_IMPLEMENTATION) && !defined(DOPT_MPC_IMPLEMENTED)
#define DOPT_MPC_IMPLEMENTED
#include <string.h>
#include <math.h>
/* ==== LQR AND iLQR: precision-independent implementation ==== */
/* ==== end LQR AND iLQR: precision-independent implementation ==== */

/* ==== DENSE QP: precision-independent implementation ==== */
/* ==== end DENSE QP: precision-independent implementation ==== */

/* ==== CEM AND LML: precision-independent implementation ==== */
/* ==== end CEM AND LML: precision-independent implementation ==== */
#define DOPT_MPC__PASS_IMPL
#define DOPT__DRIVE "dopt_mpc.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_MPC__PASS_IMPL
#endif /* DOPT_IMPLEMENTATION */
#endif /* !DOPT__DRIVE */

/* =============================================================================================== */
/* Generic declarations (one pass per precision).                                                 */
/* =============================================================================================== */
#if defined(DOPT_MPC__PASS_DECL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif
/* ==== LQR AND iLQR: declarations ==== */
/* ==== end LQR AND iLQR: declarations ==== */

/* ==== DENSE QP: declarations ==== */
/* ==== end DENSE QP: declarations ==== */

/* ==== CEM AND LML: declarations ==== */
/* ==== end CEM AND LML: declarations ==== */
#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_DECL */

/* =============================================================================================== */
/* Generic implementation (one pass per precision).                                               */
/* =============================================================================================== */
#if defined(DOPT_MPC__PASS_IMPL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif
/* ==== LQR AND iLQR: implementation ==== */
/* ==== end LQR AND iLQR: implementation ==== */

/* ==== DENSE QP: implementation ==== */
/* ==== end DENSE QP: implementation ==== */

/* ==== CEM AND LML: implementation ==== */
/* ==== end CEM AND LML: implementation ==== */
#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_IMPL */
