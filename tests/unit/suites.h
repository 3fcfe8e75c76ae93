/*
 * suites.h — every Check suite of the unit tests, one line each.
 *
 * To add a suite: write `Suite *foo_suite(void)` in tests/unit/test_foo.c and add
 * X(foo_suite) below. main.c declares and runs whatever this list holds.
 */
#ifndef LVM_TESTS_UNIT_SUITES_H
#define LVM_TESTS_UNIT_SUITES_H

#define UNIT_SUITES(X) \
    X(loader_suite) \
    X(vm_suite) \
    X(lazy_suite)

#endif
