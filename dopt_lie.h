/* dopt_lie.h — placeholder while the module is written; declares nothing yet. */
#ifndef DOPT_LIE_H
#define DOPT_LIE_H
#include "dopt.h"
#endif
