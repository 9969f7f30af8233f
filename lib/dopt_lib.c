/* lib/dopt_lib.c — the one translation unit of libdopt.so (`make lib`): every module's
 * implementation, float and double.  Built with -fvisibility=hidden -DDOPT_SHARED, so the
 * library exports the public dopt_* functions and nothing else.  Programs that link it include
 * the headers without DOPT_IMPLEMENTATION (pkg-config --cflags adds -DDOPT_SHARED). */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_lie.h"
#include "dopt_sparse.h"
#include "dopt_mpc.h"
#include "dopt_deq.h"
/* flat entry points for language bindings (python/dopt): dopt_bridge_* */
#include "lib/dopt_bridge.c"
