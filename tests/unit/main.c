/*
 * main.c — runs the unit test suites listed in suites.h (Check framework).
 *
 *   build/unit-tests              run every suite
 *   build/unit-tests loader       run only the named suites (the name given to suite_create)
 *   CK_FORK=no build/unit-tests   no fork per test, to debug under gdb
 *
 * Exits non-zero if any test failed. Read next: suites.h, then test_loader.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

#define DECLARE_SUITE(fn) Suite *fn(void);
UNIT_SUITES(DECLARE_SUITE)
#undef DECLARE_SUITE

int main(int argc, char **argv)
{
    SRunner *runner = NULL;
#define ADD_SUITE(fn)                                   \
    do {                                                \
        Suite *s = fn();                                \
        if (!runner)                                    \
            runner = srunner_create(s);                 \
        else                                            \
            srunner_add_suite(runner, s);               \
    } while (0);
    UNIT_SUITES(ADD_SUITE)
#undef ADD_SUITE
    if (argc > 1) {
        int failed = 0;
        for (int i = 1; i < argc; i++) {
            srunner_run(runner, argv[i], NULL, CK_NORMAL);
            failed += srunner_ntests_failed(runner);
        }
        srunner_free(runner);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
    }
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
