/* SPDX-License-Identifier: ISC */
/*
 * test_serve.c - what the daemon does to its own process before it loads any key
 * (serve.h serve_harden_process()): no core dumps, not dumpable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "serve.h"

static void test_hardened_process_is_not_dumpable_and_writes_no_core(void **state)
{
	struct rlimit rl;

	(void)state;
	assert_int_equal(serve_harden_process(), 0);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_int_equal(rl.rlim_cur, 0);
	assert_int_equal(rl.rlim_max, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hardened_process_is_not_dumpable_and_writes_no_core),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
