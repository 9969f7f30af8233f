/* tests/test_game_loop.c — examples/game_loop.c's promise, asserted: the 60 Hz cart-pole loop with
 * an MPC solve every frame makes no heap allocation inside the loop (counted by its allocator
 * hook), no frame fails, and the controller does its job (cart at the target, pole upright). */
#define GAME_LOOP_NO_MAIN
#include "examples/game_loop.c"
#include "tests/dopt_test.h"

static void test_game_loop_allocates_nothing(void)
{
    gl_stats s;
    DOPT_CHECK(gl_run(10 * GL_HZ, &s, NULL) == 0, "controller not created");
    DOPT_CHECK(s.allocations_in_loop == 0, "%ld heap allocations inside the loop", s.allocations_in_loop);
    DOPT_CHECK(s.allocations_total >= 1, "the allocator hook was not used (%ld)", s.allocations_total);
    DOPT_CHECK(s.failed_frames == 0, "%d frames failed", s.failed_frames);
    DOPT_CHECK(fabs(s.final_state[2]) < 0.05, "pole angle %g at the end", (double)s.final_state[2]);
    DOPT_CHECK(fabs(s.final_state[0] - 1) < 0.2, "cart at %g, target 1", (double)s.final_state[0]);
    DOPT_CHECK(s.median_ms >= 0 && s.max_ms >= s.median_ms, "timing statistics out of order");
}

static void suite(void) { DOPT_TEST_RUN(test_game_loop_allocates_nothing); }
DOPT_TEST_MAIN(suite)
