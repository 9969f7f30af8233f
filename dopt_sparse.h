/* dopt_sparse.h — placeholder while the module is written; declares nothing yet. */
#ifndef DOPT_SPARSE_H
#define DOPT_SPARSE_H
#include "dopt.h"
#endif
