/* dopt_mpc.h — model predictive control: LQR, differentiable LQR, box-constrained LQR, iLQR/SQP MPC,
 * augmented-Lagrangian MPC, a dense differentiable QP, CEM and DCEM with LML.
 *
 * STATUS: planned.  This header holds the module's place in the layout and its conventions; it
 * declares no functions yet, so nothing here can be mistaken for a working solver.  It follows
 * dopt.h's rules: the same status codes, hooks, workspace convention (size query, then caller
 * memory) and float/double generation (see "FLOAT AND DOUBLE" in dopt.h); batches of problems of
 * one structure are the unit of work; every forward solve has a backward pass that reuses its
 * factorizations.
 */
#ifndef DOPT_MPC_H
#define DOPT_MPC_H
#include "dopt.h"
#endif /* DOPT_MPC_H */
