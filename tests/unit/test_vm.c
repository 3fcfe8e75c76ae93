/*
 * test_vm.c — unit tests for vm/: the parts of the interpreter the spec suite cannot
 * reach. Resumable slices (same result at any budget, resumed on another thread),
 * reduction counting, call-stack exhaustion as a trap, backtraces with names, host
 * functions (results, traps, blocking and restarting, reading guest memory), memory
 * growth past the initial reservation, memories reused zeroed, instances sharing one
 * compiled module, multi-value results across yields, and checking an entry call's
 * arguments.
 *
 * Each module is written out byte by byte, one line per section or function body, under
 * a comment giving the .wat it encodes (the bytes are what wat2wasm makes of that text;
 * no .wasm file is checked in). Read vm/vm.h first: every test goes through it only.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"
#include "vm/vm.h"

#define HEADER 0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00

/* ---- the modules ------------------------------------------------------------------- */

/* (module
 *   (func $id (param i32) (result i32) (local.get 0))
 *   (func (export "sumsq") (param $n i32) (result i64)       ;; sum of i*i for i < n
 *     (local $i i32) (local $s i64)
 *     (block $done
 *       (loop $top
 *         (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
 *         (local.set $s (i64.add (local.get $s)
 *                                (i64.mul (i64.extend_i32_u (local.get $i))
 *                                         (i64.extend_i32_u (local.get $i)))))
 *         (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *         (br $top)))                                         ;; n back-edges
 *     (local.get $s))
 *   (func $fib (export "fib") (param i32) (result i32)
 *     (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
 *       (then (local.get 0))
 *       (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
 *                      (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
 *   (func (export "calls") (param $n i32) (result i32)        ;; n back-edges, n calls
 *     (local $i i32) (local $s i32)
 *     (block $done
 *       (loop $top
 *         (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
 *         (local.set $s (i32.add (local.get $s) (call $id (local.get $i))))
 *         (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *         (br $top)))
 *     (local.get $s))
 *   (func (export "spin") (local $k i32)                      ;; one back-edge per turn
 *     (loop (local.set $k (i32.add (local.get $k) (i32.const 1))) (br 0)))
 *   (func $depth (export "depth") (param i32) (result i32)    ;; recursion n deep
 *     (if (result i32) (i32.eqz (local.get 0))
 *       (then (i32.const 0))
 *       (else (i32.add (call $depth (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
 *   (func $forever (export "forever") (param i32) (result i32)
 *     (i32.add (call $forever (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
 *   (func $mk (param $n i32) (result i32 i64 f64)             ;; s = sum of i < n
 *     (local $i i32) (local $s i32)
 *     (block $done
 *       (loop $top
 *         (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
 *         (local.set $s (i32.add (local.get $s) (local.get $i)))
 *         (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *         (br $top)))
 *     (local.get $s)
 *     (i64.mul (i64.extend_i32_u (local.get $s)) (i64.const 1000000007))
 *     (f64.div (f64.convert_i32_u (local.get $s)) (f64.const 4)))
 *   (func (export "three") (param i32) (result i32 i64 f64) (call $mk (local.get 0)))
 *   (func (export "many") (result i32 i32 i32 i32 i32 i32 i32 i32 i32
 *                                 i32 i32 i32 i32 i32 i32 i32 i32)      ;; 17 results
 *     (i32.const 1) (i32.const 2) ... (i32.const 17))
 *   (func (export "spin_empty") (loop (br 0)))                ;; a loop that is only a branch
 *   (func (export "spin_while") (param i32 i32)
 *     (loop (br_if 0 (i32.lt_u (local.get 0) (local.get 1))))))
 */
static const uint8_t loops_wasm[] = {
    HEADER,
    0x01, 0x2E, 0x06, 0x60, 0x01, 0x7F, 0x01, 0x7F, 0x60, 0x01, 0x7F, 0x01,      /* type section */
    0x7E, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7F, 0x03, 0x7F, 0x7E, 0x7C, 0x60,
    0x00, 0x11, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F,
    0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x60, 0x02, 0x7F, 0x7F, 0x00,
    0x03, 0x0D, 0x0C, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x03, 0x03,      /* function section */
    0x04, 0x02, 0x05,
    0x07, 0x59, 0x0A, 0x05, 0x73, 0x75, 0x6D, 0x73, 0x71, 0x00, 0x01, 0x03,      /* export section */
    0x66, 0x69, 0x62, 0x00, 0x02, 0x05, 0x63, 0x61, 0x6C, 0x6C, 0x73, 0x00,
    0x03, 0x04, 0x73, 0x70, 0x69, 0x6E, 0x00, 0x04, 0x05, 0x64, 0x65, 0x70,
    0x74, 0x68, 0x00, 0x05, 0x07, 0x66, 0x6F, 0x72, 0x65, 0x76, 0x65, 0x72,
    0x00, 0x06, 0x05, 0x74, 0x68, 0x72, 0x65, 0x65, 0x00, 0x08, 0x04, 0x6D,
    0x61, 0x6E, 0x79, 0x00, 0x09, 0x0A, 0x73, 0x70, 0x69, 0x6E, 0x5F, 0x65,
    0x6D, 0x70, 0x74, 0x79, 0x00, 0x0A, 0x0A, 0x73, 0x70, 0x69, 0x6E, 0x5F,
    0x77, 0x68, 0x69, 0x6C, 0x65, 0x00, 0x0B,
    0x0A, 0xA4, 0x02, 0x0C,                                                      /* code section, 12 bodies */
    0x04, 0x00, 0x20, 0x00, 0x0B,                                                /* body 0: $id */
    0x2A, 0x02, 0x01, 0x7F, 0x01, 0x7E, 0x02, 0x40, 0x03, 0x40, 0x20, 0x01,      /* body 1: sumsq */
    0x20, 0x00, 0x4F, 0x0D, 0x01, 0x20, 0x02, 0x20, 0x01, 0xAD, 0x20, 0x01,
    0xAD, 0x7E, 0x7C, 0x21, 0x02, 0x20, 0x01, 0x41, 0x01, 0x6A, 0x21, 0x01,
    0x0C, 0x00, 0x0B, 0x0B, 0x20, 0x02, 0x0B,
    0x1C, 0x00, 0x20, 0x00, 0x41, 0x02, 0x49, 0x04, 0x7F, 0x20, 0x00, 0x05,      /* body 2: fib */
    0x20, 0x00, 0x41, 0x01, 0x6B, 0x10, 0x02, 0x20, 0x00, 0x41, 0x02, 0x6B,
    0x10, 0x02, 0x6A, 0x0B, 0x0B,
    0x25, 0x01, 0x02, 0x7F, 0x02, 0x40, 0x03, 0x40, 0x20, 0x01, 0x20, 0x00,      /* body 3: calls */
    0x4F, 0x0D, 0x01, 0x20, 0x02, 0x20, 0x01, 0x10, 0x00, 0x6A, 0x21, 0x02,
    0x20, 0x01, 0x41, 0x01, 0x6A, 0x21, 0x01, 0x0C, 0x00, 0x0B, 0x0B, 0x20,
    0x02, 0x0B,
    0x10, 0x01, 0x01, 0x7F, 0x03, 0x40, 0x20, 0x00, 0x41, 0x01, 0x6A, 0x21,      /* body 4: spin */
    0x00, 0x0C, 0x00, 0x0B, 0x0B,
    0x15, 0x00, 0x20, 0x00, 0x45, 0x04, 0x7F, 0x41, 0x00, 0x05, 0x20, 0x00,      /* body 5: depth */
    0x41, 0x01, 0x6B, 0x10, 0x05, 0x41, 0x01, 0x6A, 0x0B, 0x0B,
    0x0C, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6A, 0x10, 0x06, 0x41, 0x01, 0x6A,      /* body 6: forever */
    0x0B,
    0x3A, 0x01, 0x02, 0x7F, 0x02, 0x40, 0x03, 0x40, 0x20, 0x01, 0x20, 0x00,      /* body 7: $mk */
    0x4F, 0x0D, 0x01, 0x20, 0x02, 0x20, 0x01, 0x6A, 0x21, 0x02, 0x20, 0x01,
    0x41, 0x01, 0x6A, 0x21, 0x01, 0x0C, 0x00, 0x0B, 0x0B, 0x20, 0x02, 0x20,
    0x02, 0xAD, 0x42, 0x87, 0x94, 0xEB, 0xDC, 0x03, 0x7E, 0x20, 0x02, 0xB8,
    0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x40, 0xA3, 0x0B,
    0x06, 0x00, 0x20, 0x00, 0x10, 0x07, 0x0B,                                    /* body 8: three */
    0x24, 0x00, 0x41, 0x01, 0x41, 0x02, 0x41, 0x03, 0x41, 0x04, 0x41, 0x05,      /* body 9: many */
    0x41, 0x06, 0x41, 0x07, 0x41, 0x08, 0x41, 0x09, 0x41, 0x0A, 0x41, 0x0B,
    0x41, 0x0C, 0x41, 0x0D, 0x41, 0x0E, 0x41, 0x0F, 0x41, 0x10, 0x41, 0x11,
    0x0B,
    0x07, 0x00, 0x03, 0x40, 0x0C, 0x00, 0x0B, 0x0B,                              /* body 10: spin_empty */
    0x0C, 0x00, 0x03, 0x40, 0x20, 0x00, 0x20, 0x01, 0x49, 0x0D, 0x00, 0x0B,      /* body 11: spin_while */
    0x0B,
};

/* (module $m                                     ;; with a name section (wat2wasm --debug-names)
 *   (func $inner (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
 *   (func $outer (export "outer") (param i32) (result i32) (call $inner (local.get 0))))
 */
static const uint8_t trap_wasm[] = {
    HEADER,
    0x01, 0x06, 0x01, 0x60, 0x01, 0x7F, 0x01, 0x7F,                              /* type section */
    0x03, 0x03, 0x02, 0x00, 0x00,                                                /* function section */
    0x07, 0x09, 0x01, 0x05, 'o', 'u', 't', 'e', 'r', 0x00, 0x01,                 /* export section */
    0x0A, 0x10, 0x02,                                                            /* code section, 2 bodies */
    0x07, 0x00, 0x41, 0x01, 0x20, 0x00, 0x6D, 0x0B,                              /* body 0: $inner */
    0x06, 0x00, 0x20, 0x00, 0x10, 0x00, 0x0B,                                    /* body 1: $outer */
    0x00, 0x21, 0x04, 'n', 'a', 'm', 'e',                                        /* custom "name" */
    0x00, 0x02, 0x01, 'm',                                                       /*   module name */
    0x01, 0x0F, 0x02, 0x00, 0x05, 'i', 'n', 'n', 'e', 'r',                       /*   function names */
    0x01, 0x05, 'o', 'u', 't', 'e', 'r',
    0x02, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00,                                    /*   local names */
};
#define TRAP_DIV_OFFSET 0x29      /* the i32.div_s in $inner */
#define TRAP_CALL_OFFSET 0x2F     /* the call in $outer */

/* (module
 *   (import "env" "add" (func $add (param i32 i64) (result i64)))
 *   (import "env" "boom" (func $boom))
 *   (import "env" "wait" (func $wait (param i32) (result i32)))
 *   (import "env" "peek" (func $peek (param i32 i32) (result i32)))
 *   (memory 1)
 *   (data (i32.const 16) "hello")
 *   (func (export "call_add") (param i32 i64) (result i64) (call $add (local.get 0) (local.get 1)))
 *   (func (export "call_boom") (result i32) (call $boom) (i32.const 7))
 *   (func (export "call_wait") (param i32) (result i32)
 *     (i32.add (call $wait (local.get 0)) (i32.const 1)))
 *   (func (export "call_peek") (param i32 i32) (result i32) (call $peek (local.get 0) (local.get 1))))
 */
static const uint8_t host_wasm[] = {
    HEADER,
    0x01, 0x19, 0x05, 0x60, 0x02, 0x7F, 0x7E, 0x01, 0x7E, 0x60, 0x00, 0x00,      /* type section */
    0x60, 0x01, 0x7F, 0x01, 0x7F, 0x60, 0x02, 0x7F, 0x7F, 0x01, 0x7F, 0x60,
    0x00, 0x01, 0x7F,
    0x02, 0x2C, 0x04, 0x03, 0x65, 0x6E, 0x76, 0x03, 0x61, 0x64, 0x64, 0x00,      /* import section */
    0x00, 0x03, 0x65, 0x6E, 0x76, 0x04, 0x62, 0x6F, 0x6F, 0x6D, 0x00, 0x01,
    0x03, 0x65, 0x6E, 0x76, 0x04, 0x77, 0x61, 0x69, 0x74, 0x00, 0x02, 0x03,
    0x65, 0x6E, 0x76, 0x04, 0x70, 0x65, 0x65, 0x6B, 0x00, 0x03,
    0x03, 0x05, 0x04, 0x00, 0x04, 0x02, 0x03,                                    /* function section */
    0x05, 0x03, 0x01, 0x00, 0x01,                                                /* memory section */
    0x07, 0x30, 0x04, 0x08, 0x63, 0x61, 0x6C, 0x6C, 0x5F, 0x61, 0x64, 0x64,      /* export section */
    0x00, 0x04, 0x09, 0x63, 0x61, 0x6C, 0x6C, 0x5F, 0x62, 0x6F, 0x6F, 0x6D,
    0x00, 0x05, 0x09, 0x63, 0x61, 0x6C, 0x6C, 0x5F, 0x77, 0x61, 0x69, 0x74,
    0x00, 0x06, 0x09, 0x63, 0x61, 0x6C, 0x6C, 0x5F, 0x70, 0x65, 0x65, 0x6B,
    0x00, 0x07,
    0x0A, 0x24, 0x04,                                                            /* code section, 4 bodies */
    0x08, 0x00, 0x20, 0x00, 0x20, 0x01, 0x10, 0x00, 0x0B,                        /* body 0: call_add */
    0x06, 0x00, 0x10, 0x01, 0x41, 0x07, 0x0B,                                    /* body 1: call_boom */
    0x09, 0x00, 0x20, 0x00, 0x10, 0x02, 0x41, 0x01, 0x6A, 0x0B,                  /* body 2: call_wait */
    0x08, 0x00, 0x20, 0x00, 0x20, 0x01, 0x10, 0x03, 0x0B,                        /* body 3: call_peek */
    0x0B, 0x0B, 0x01, 0x00, 0x41, 0x10, 0x0B, 0x05, 'h', 'e', 'l', 'l',          /* data section */
    'o',
};
#define HOST_CALL_BOOM_IDX 5      /* funcidx of call_boom: 4 imports come first */

/* (module
 *   (memory 1)                                                ;; no maximum
 *   (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
 *   (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
 *   (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
 *   (func (export "grow_to") (param $n i32) (result i32)       ;; one page at a time
 *     (local $k i32)
 *     (block $done
 *       (loop $top
 *         (br_if $done (i32.ge_u (memory.size) (local.get $n)))
 *         (drop (memory.grow (i32.const 1)))
 *         (local.set $k (i32.add (local.get $k) (i32.const 1)))
 *         (br $top)))
 *     (local.get $k)))
 */
static const uint8_t grow_wasm[] = {
    HEADER,
    0x01, 0x0B, 0x02, 0x60, 0x01, 0x7F, 0x01, 0x7F, 0x60, 0x02, 0x7F, 0x7F,      /* type section */
    0x00,
    0x03, 0x05, 0x04, 0x00, 0x00, 0x01, 0x00,                                    /* function section */
    0x05, 0x03, 0x01, 0x00, 0x01,                                                /* memory section */
    0x07, 0x21, 0x04, 0x04, 0x67, 0x72, 0x6F, 0x77, 0x00, 0x00, 0x04, 0x6C,      /* export section */
    0x6F, 0x61, 0x64, 0x00, 0x01, 0x05, 0x73, 0x74, 0x6F, 0x72, 0x65, 0x00,
    0x02, 0x07, 0x67, 0x72, 0x6F, 0x77, 0x5F, 0x74, 0x6F, 0x00, 0x03,
    0x0A, 0x3C, 0x04,                                                            /* code section, 4 bodies */
    0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0B,                                    /* body 0: grow */
    0x07, 0x00, 0x20, 0x00, 0x28, 0x02, 0x00, 0x0B,                              /* body 1: load */
    0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0x36, 0x02, 0x00, 0x0B,                  /* body 2: store */
    0x21, 0x01, 0x01, 0x7F, 0x02, 0x40, 0x03, 0x40, 0x3F, 0x00, 0x20, 0x00,      /* body 3: grow_to */
    0x4F, 0x0D, 0x01, 0x41, 0x01, 0x40, 0x00, 0x1A, 0x20, 0x01, 0x41, 0x01,
    0x6A, 0x21, 0x01, 0x0C, 0x00, 0x0B, 0x0B, 0x20, 0x01, 0x0B,
};

/* (module
 *   (memory 1 4)
 *   (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
 */
static const uint8_t growmax_wasm[] = {
    HEADER,
    0x01, 0x06, 0x01, 0x60, 0x01, 0x7F, 0x01, 0x7F,                              /* type section */
    0x03, 0x02, 0x01, 0x00,                                                      /* function section */
    0x05, 0x04, 0x01, 0x01, 0x01, 0x04,                                          /* memory section */
    0x07, 0x08, 0x01, 0x04, 'g', 'r', 'o', 'w', 0x00, 0x00,                      /* export section */
    0x0A, 0x08, 0x01,                                                            /* code section, 1 body */
    0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0B,                                    /* body 0: grow */
};

/* (module
 *   (memory 1)
 *   (global $g (export "g") (mut i32) (i32.const 0))
 *   (func (export "set") (param i32)
 *     (global.set $g (local.get 0))
 *     (i32.store (i32.const 8) (local.get 0)))
 *   (func (export "get_global") (result i32) (global.get $g))
 *   (func (export "get_mem") (result i32) (i32.load (i32.const 8))))
 */
static const uint8_t shared_wasm[] = {
    HEADER,
    0x01, 0x09, 0x02, 0x60, 0x01, 0x7F, 0x00, 0x60, 0x00, 0x01, 0x7F,            /* type section */
    0x03, 0x04, 0x03, 0x00, 0x01, 0x01,                                          /* function section */
    0x05, 0x03, 0x01, 0x00, 0x01,                                                /* memory section */
    0x06, 0x06, 0x01, 0x7F, 0x01, 0x41, 0x00, 0x0B,                              /* global section */
    0x07, 0x22, 0x04, 0x01, 0x67, 0x03, 0x00, 0x03, 0x73, 0x65, 0x74, 0x00,      /* export section */
    0x00, 0x0A, 0x67, 0x65, 0x74, 0x5F, 0x67, 0x6C, 0x6F, 0x62, 0x61, 0x6C,
    0x00, 0x01, 0x07, 0x67, 0x65, 0x74, 0x5F, 0x6D, 0x65, 0x6D, 0x00, 0x02,
    0x0A, 0x1C, 0x03,                                                            /* code section, 3 bodies */
    0x0D, 0x00, 0x20, 0x00, 0x24, 0x00, 0x41, 0x08, 0x20, 0x00, 0x36, 0x02,      /* body 0: set */
    0x00, 0x0B,
    0x04, 0x00, 0x23, 0x00, 0x0B,                                                /* body 1: get_global */
    0x07, 0x00, 0x41, 0x08, 0x28, 0x02, 0x00, 0x0B,                              /* body 2: get_mem */
};

/* ---- helpers -------------------------------------------------------------------------- */

/* Load (bypassing the cache) and instantiate; the instance keeps the only reference. */
static Instance *instantiate(const uint8_t *bytes, size_t size, const Extern *imports, Exec *exec)
{
    LoadError lerr;
    Module *m = loader_load_uncached(bytes, size, &lerr);
    ck_assert_msg(m != NULL, "load: %s", lerr.message);
    VmError verr;
    Instance *inst = vm_instantiate(m, imports, exec, &verr);
    ck_assert_msg(inst != NULL, "instantiate: %s", verr.message);
    loader_release(m);
    return inst;
}

static Function *export_func(Instance *inst, const char *name)
{
    Extern ext;
    ck_assert_msg(vm_instance_export(inst, name, &ext), "no export '%s'", name);
    ck_assert_int_eq(ext.kind, EXTERN_FUNC);
    return ext.u.func;
}

/* Start f(args) and call vm_run(exec, budget) until it stops yielding. *yields counts
 * the RUN_YIELDs. Returns the final status. */
static RunStatus run_sliced(Exec *e, Function *f, const Value *args, uint32_t nargs,
                            int64_t budget, uint64_t *yields)
{
    ck_assert(vm_exec_call(e, f, args, nargs));
    RunStatus st;
    *yields = 0;
    while ((st = vm_run(e, budget)) == RUN_YIELD)
        (*yields)++;
    return st;
}

/* The single result of the last call, which must have returned. */
static Value result1(const Exec *e)
{
    uint32_t n;
    const Value *r = vm_exec_results(e, &n);
    ck_assert_uint_eq(n, 1);
    return r[0];
}

/* The call must have trapped with this kind and message. */
static void expect_trap(const Exec *e, RunStatus st, TrapKind kind, const char *msg)
{
    ck_assert_int_eq(st, RUN_TRAP);
    const Trap *t = vm_exec_trap(e);
    ck_assert_int_eq(t->kind, kind);
    ck_assert_str_eq(t->message, msg);
}

/* ---- 1. resumption gives the same result ------------------------------------------- */

/* At any budget, a run that yields and is resumed computes the same value and spends the
 * same reductions as one unlimited run; it yields exactly once per `budget` reductions
 * (TAKE_BRANCH and CALL yield on `--budget <= 0`, so a run of R reductions with budget
 * b yields floor(R / b) times). */
static void check_budgets(Function *f, Value arg, Value expect, uint64_t reductions)
{
    static const int64_t budgets[] = { -1, 1, 7, 1000 };
    for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
        int64_t b = budgets[i];
        Exec *e = vm_exec_new(NULL);
        uint64_t yields;
        ck_assert_int_eq(run_sliced(e, f, &arg, 1, b, &yields), RUN_DONE);
        ck_assert_msg(result1(e) == expect, "budget %lld: got %llu, expected %llu",
                      (long long)b, (unsigned long long)result1(e), (unsigned long long)expect);
        ck_assert_uint_eq(vm_exec_reductions(e), reductions);
        ck_assert_uint_eq(yields, b < 0 ? 0 : reductions / (uint64_t)b);
        vm_exec_free(e);
    }
}

START_TEST(resume_loop_same_result)
{
    Instance *inst = instantiate(loops_wasm, sizeof loops_wasm, NULL, NULL);
    uint64_t expect = 0;
    for (uint64_t i = 0; i < 100000; i++)
        expect += i * i;
    ck_assert(expect == 333328333350000ull);
    check_budgets(export_func(inst, "sumsq"), 100000, expect, 100000);   /* one per back-edge */
    vm_instance_free(inst);
}
END_TEST

START_TEST(resume_calls_same_result)
{
    Instance *inst = instantiate(loops_wasm, sizeof loops_wasm, NULL, NULL);
    /* fib(20) is 2*fib(21) - 1 = 21891 invocations: the entry plus 21890 calls, one
     * reduction each (the entry call costs none). */
    check_budgets(export_func(inst, "fib"), 20, 6765, 21890);
    vm_instance_free(inst);
}
END_TEST

START_TEST(resume_while_stacks_grow)
{
    /* depth(5000) outgrows the initial value stack (1024 slots) and frame array (64)
     * while yielding at every call: growth and resumption interleave. */
    Instance *inst = instantiate(loops_wasm, sizeof loops_wasm, NULL, NULL);
    Exec *e = vm_exec_new(NULL);
    uint64_t yields;
    Value arg = 5000;
    ck_assert_int_eq(run_sliced(e, export_func(inst, "depth"), &arg, 1, 1, &yields), RUN_DONE);
    ck_assert_uint_eq(result1(e), 5000);
    ck_assert_uint_eq(yields, 5000);
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

START_TEST(new_call_abandons_a_suspended_one)
{
    Instance *inst = instantiate(loops_wasm, sizeof loops_wasm, NULL, NULL);
    Exec *e = vm_exec_new(NULL);
    ck_assert(vm_exec_call(e, export_func(inst, "spin"), NULL, 0));
    ck_assert_int_eq(vm_run(e, 10), RUN_YIELD);
    Value arg = 10;
    ck_assert(vm_exec_call(e, export_func(inst, "fib"), &arg, 1));
    ck_assert_int_eq(vm_run(e, -1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 55);
    ck_assert_int_eq(vm_run(e, -1), RUN_DONE);          /* a finished call stays finished */
    ck_assert_uint_eq(result1(e), 55);
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

/* ---- 2. resumption on another thread ------------------------------------------------ */

typedef struct Slices {
    Exec *exec;
    int64_t budget;
    int runs;              /* at most this many vm_run calls (0: until not YIELD) */
    RunStatus last;
    int done_runs;
} Slices;

static void *run_slices(void *arg)
{
    Slices *s = arg;
    s->done_runs = 0;
    do {
        s->last = vm_run(s->exec, s->budget);
        s->done_runs++;
    } while (s->last == RUN_YIELD && (s->runs == 0 || s->done_runs < s->runs));
    return NULL;
}

static void run_on_new_thread(Slices *s)
{
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, run_slices, s), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
}

START_TEST(resume_on_other_threads)
{
    Instance *inst = instantiate(loops_wasm, sizeof loops_wasm, NULL, NULL);
    Function *fib = export_func(inst, "fib");
    Exec *e = vm_exec_new(NULL);
    Value arg = 20;
    ck_assert(vm_exec_call(e, fib, &arg, 1));
    Slices s = { e, 100, 1, RUN_DONE, 0 };
    run_slices(&s);                                    /* main thread, one slice */
    ck_assert_int_eq(s.last, RUN_YIELD);
    for (int round = 0; round < 6; round++) {          /* a new thread, then main, ... */
        s.runs = 10;
        run_on_new_thread(&s);
        ck_assert_int_eq(s.last, RUN_YIELD);
        ck_assert_int_eq(s.done_runs, 10);
        s.runs = 3;
        run_slices(&s);
        ck_assert_int_eq(s.last, RUN_YIELD);
    }
    s.runs = 0;                                        /* finish on yet another thread */
    run_on_new_thread(&s);
    ck_assert_int_eq(s.last, RUN_DONE);
    ck_assert_uint_eq(result1(e), 6765);
    ck_assert_uint_eq(vm_exec_reductions(e), 21890);  /* 219 slices of 100 */
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

/* Two instances of one cached module, each with its own Exec, run at the same time on two
 * threads with budget 3: the shared compiled code is read-only. */
typedef struct Parallel {
    Instance *inst;
    Value result;
    RunStatus status;
} Parallel;

static void *run_fib_sliced(void *arg)
{
    Parallel *p = arg;
    Exec *e = vm_exec_new(NULL);
    Extern ext;
    Value n = 22;
    p->status = RUN_TRAP;
    if (e && vm_instance_export(p->inst, "fib", &ext) && vm_exec_call(e, ext.u.func, &n, 1)) {
        while ((p->status = vm_run(e, 3)) == RUN_YIELD)
            ;
        uint32_t nr;
        if (p->status == RUN_DONE)
            p->result = vm_exec_results(e, &nr)[0];
    }
    vm_exec_free(e);
    return NULL;
}

START_TEST(instances_run_in_parallel)
{
    LoadError err;
    Module *m = loader_load(loops_wasm, sizeof loops_wasm, &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    VmError verr;
    Parallel p[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        p[i].inst = vm_instantiate(m, NULL, NULL, &verr);
        ck_assert_msg(p[i].inst != NULL, "%s", verr.message);
    }
    loader_release(m);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, run_fib_sliced, &p[i]), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(p[i].status, RUN_DONE);
        ck_assert_uint_eq(p[i].result, 17711);
        vm_instance_free(p[i].inst);
    }
}
END_TEST

/* ---- 3. reductions are counted ---------------------------------------------------------- */

START_TEST(reductions_back_edges_and_calls)
{
    Instance *inst = instantiate(loops_wasm, sizeof loops_wasm, NULL, NULL);
    Exec *e = vm_exec_new(NULL);
    Value n = 1000;
    uint64_t before = vm_exec_reductions(e);
    ck_assert_int_eq(vm_invoke(e, export_func(inst, "calls"), &n, 1, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 999 * 1000 / 2);
    /* N = 1000 back-edges, M = 1000 calls of $id: one reduction each, nothing else. */
    uint64_t used = vm_exec_reductions(e) - before;
    ck_assert_uint_ge(used, 2000);
    ck_assert_uint_eq(used, 2000);
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

START_TEST(budget_is_respected)
{
    Instance *inst = instantiate(loops_wasm, sizeof loops_wasm, NULL, NULL);
    Exec *e = vm_exec_new(NULL);
    ck_assert(vm_exec_call(e, export_func(inst, "spin"), NULL, 0));
    for (int i = 1; i <= 5; i++) {                     /* spin never ends by itself */
        ck_assert_int_eq(vm_run(e, 50), RUN_YIELD);
        ck_assert_uint_eq(vm_exec_reductions(e), 50u * (uint64_t)i);
    }
    ck_assert_int_eq(vm_run(e, 1), RUN_YIELD);
    ck_assert_uint_eq(vm_exec_reductions(e), 251);
    ck_assert_int_eq(vm_run(e, 123456), RUN_YIELD);
    ck_assert_uint_eq(vm_exec_reductions(e), 251 + 123456);
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

/* A loop whose body is nothing but its branch — `(loop (br 0))`, `while (x < y) {}` —
 * compiles to a branch of offset 0. It must still cost a reduction and yield (it once
 * did not: TAKE_BRANCH counted only negative offsets). */
START_TEST(empty_loop_yields)
{
    Instance *inst = instantiate(loops_wasm, sizeof loops_wasm, NULL, NULL);
    Exec *e = vm_exec_new(NULL);
    ck_assert(vm_exec_call(e, export_func(inst, "spin_empty"), NULL, 0));
    ck_assert_int_eq(vm_run(e, 50), RUN_YIELD);
    ck_assert_uint_eq(vm_exec_reductions(e), 50);
    Value args[2] = { 1, 2 };                            /* 1 < 2 forever */
    ck_assert(vm_exec_call(e, export_func(inst, "spin_while"), args, 2));
    ck_assert_int_eq(vm_run(e, 50), RUN_YIELD);
    ck_assert_uint_eq(vm_exec_reductions(e), 100);
    args[0] = 3;                                         /* 3 < 2: no turn at all */
    ck_assert(vm_exec_call(e, export_func(inst, "spin_while"), args, 2));
    ck_assert_int_eq(vm_run(e, 50), RUN_DONE);
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

/* ---- 4. call-stack exhaustion is a trap ---------------------------------------------- */

START_TEST(unbounded_recursion_traps)
{
    Instance *inst = instantiate(loops_wasm, sizeof loops_wasm, NULL, NULL);
    Exec *e = vm_exec_new(NULL);
    Value arg = 0;
    RunStatus st = vm_invoke(e, export_func(inst, "forever"), &arg, 1, NULL, -1);
    expect_trap(e, st, TRAP_STACK_EXHAUSTED, "call stack exhausted");
    const Trap *t = vm_exec_trap(e);
    ck_assert_uint_eq(t->nframes, VM_MAX_BACKTRACE);   /* the backtrace is cut, not overrun */
    for (uint32_t i = 0; i < t->nframes; i++)
        ck_assert_uint_eq(t->frames[i].funcidx, 6);     /* all of them "forever" */
    ck_assert_int_eq(vm_run(e, -1), RUN_TRAP);          /* a trapped call stays trapped */

    /* the same Exec runs the next call normally, also in slices */
    Value n = 15;
    ck_assert_int_eq(vm_invoke(e, export_func(inst, "fib"), &n, 1, NULL, 5), RUN_DONE);
    ck_assert_uint_eq(result1(e), 610);
    st = vm_invoke(e, export_func(inst, "forever"), &arg, 1, NULL, 1000);
    expect_trap(e, st, TRAP_STACK_EXHAUSTED, "call stack exhausted");
    ck_assert_int_eq(vm_invoke(e, export_func(inst, "fib"), &n, 1, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 610);
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

START_TEST(limits_bound_recursion)
{
    Instance *inst = instantiate(loops_wasm, sizeof loops_wasm, NULL, NULL);
    Function *depth = export_func(inst, "depth");

    ExecLimits few_frames = { .stack_slots = 4096, .max_frames = 100 };
    Exec *e = vm_exec_new(&few_frames);
    Value n = 50;
    ck_assert_int_eq(vm_invoke(e, depth, &n, 1, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 50);
    n = 200;
    expect_trap(e, vm_invoke(e, depth, &n, 1, NULL, -1), TRAP_STACK_EXHAUSTED,
                "call stack exhausted");
    n = 50;
    ck_assert_int_eq(vm_invoke(e, depth, &n, 1, NULL, 1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 50);
    vm_exec_free(e);

    /* the value stack's limit traps the same way */
    ExecLimits few_slots = { .stack_slots = 64, .max_frames = 0 /* default */ };
    e = vm_exec_new(&few_slots);
    n = 3;
    ck_assert_int_eq(vm_invoke(e, depth, &n, 1, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 3);
    n = 1000;
    expect_trap(e, vm_invoke(e, depth, &n, 1, NULL, -1), TRAP_STACK_EXHAUSTED,
                "call stack exhausted");
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

/* ---- 5. traps carry a backtrace with names ---------------------------------------------- */

static void check_div_trap(const Trap *t)
{
    ck_assert_int_eq(t->kind, TRAP_INT_DIV_ZERO);
    ck_assert_str_eq(t->message, "integer divide by zero");
    ck_assert_uint_eq(t->nframes, 2);
    ck_assert_str_eq(t->frames[0].func, "inner");
    ck_assert_str_eq(t->frames[1].func, "outer");
    ck_assert_str_eq(t->frames[0].module, "m");
    ck_assert_uint_eq(t->frames[0].funcidx, 0);
    ck_assert_uint_eq(t->frames[1].funcidx, 1);
    ck_assert_uint_eq(t->frames[0].offset, TRAP_DIV_OFFSET);
    ck_assert_uint_eq(t->frames[1].offset, TRAP_CALL_OFFSET);
}

START_TEST(trap_backtrace_has_names)
{
    Instance *inst = instantiate(trap_wasm, sizeof trap_wasm, NULL, NULL);
    Function *outer = export_func(inst, "outer");
    Exec *e = vm_exec_new(NULL);
    Value arg = 5;
    ck_assert_int_eq(vm_invoke(e, outer, &arg, 1, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 0);                  /* 1 / 5 */
    arg = 0;
    ck_assert_int_eq(vm_invoke(e, outer, &arg, 1, NULL, -1), RUN_TRAP);
    check_div_trap(vm_exec_trap(e));
    ck_assert_int_eq(vm_invoke(e, outer, &arg, 1, NULL, 1), RUN_TRAP);   /* after a yield too */
    check_div_trap(vm_exec_trap(e));

    /* The names are copied: the trap outlives its instance. */
    Trap copy = *vm_exec_trap(e);
    vm_exec_free(e);
    vm_instance_free(inst);
    check_div_trap(&copy);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    vm_trap_print(&copy, f);
    fclose(f);
    ck_assert_msg(strstr(text, "wasm trap: integer divide by zero") != NULL, "%s", text);
    char *in = strstr(text, "m!inner"), *out = strstr(text, "m!outer");
    ck_assert_msg(in && out && in < out, "innermost first:\n%s", text);
    free(text);
}
END_TEST

/* ---- 6. host functions ---------------------------------------------------------------- */

typedef struct HostLog {
    int calls;
    Value args[2];         /* as the last call saw them */
} HostLog;

/* add: (i32, i64) -> i64, the i32 taken as signed */
static HostStatus host_add(Exec *exec, void *env, Value *args)
{
    HostLog *log = env;
    log->calls++;
    log->args[0] = args[0];
    log->args[1] = args[1];
    args[0] = (Value)((int64_t)(int32_t)(uint32_t)args[0] + (int64_t)args[1]);
    return HOST_OK;
}

static HostStatus host_boom(Exec *exec, void *env, Value *args)
{
    HostLog *log = env;
    log->calls++;
    vm_exec_set_host_trap(exec, "boom");
    return HOST_TRAP;
}

/* wait: blocks on its first call, then returns 2 * its argument */
static HostStatus host_wait(Exec *exec, void *env, Value *args)
{
    HostLog *log = env;
    log->args[log->calls < 2 ? log->calls : 1] = args[0];
    if (log->calls++ == 0)
        return HOST_BLOCK;
    args[0] = (uint32_t)args[0] * 2;
    return HOST_OK;
}

/* peek(ptr, len): the sum of the caller's memory bytes [ptr, ptr + len), checked */
static HostStatus host_peek(Exec *exec, void *env, Value *args)
{
    HostLog *log = env;
    log->calls++;
    MemoryInst *mem = vm_exec_caller_memory(exec);
    uint64_t ptr = (uint32_t)args[0], len = (uint32_t)args[1];
    if (!mem || ptr + len > vm_memory_size(mem)) {
        vm_exec_set_host_trap(exec, "peek: out of bounds");
        return HOST_TRAP;
    }
    const uint8_t *data = vm_memory_data(mem);
    uint32_t sum = 0;
    for (uint64_t i = 0; i < len; i++)
        sum += data[ptr + i];
    args[0] = sum;
    return HOST_OK;
}

typedef struct HostFixture {
    HostLog log[4];
    Function *fn[4];
    Instance *inst;
    Exec *exec;
} HostFixture;

static void host_setup(HostFixture *h)
{
    static const ValType i32_i64[] = { VT_I32, VT_I64 }, i64[] = { VT_I64 };
    static const ValType i32[] = { VT_I32 }, i32_i32[] = { VT_I32, VT_I32 };
    memset(h, 0, sizeof *h);
    h->fn[0] = vm_host_function_new(i32_i64, 2, i64, 1, host_add, &h->log[0], "add");
    h->fn[1] = vm_host_function_new(NULL, 0, NULL, 0, host_boom, &h->log[1], "boom");
    h->fn[2] = vm_host_function_new(i32, 1, i32, 1, host_wait, &h->log[2], "wait");
    h->fn[3] = vm_host_function_new(i32_i32, 2, i32, 1, host_peek, &h->log[3], "peek");
    Extern imports[4];
    for (int i = 0; i < 4; i++) {
        ck_assert_ptr_nonnull(h->fn[i]);
        imports[i] = (Extern){ .kind = EXTERN_FUNC, .u.func = h->fn[i] };
    }
    h->exec = vm_exec_new(NULL);
    h->inst = instantiate(host_wasm, sizeof host_wasm, imports, h->exec);
}

static void host_teardown(HostFixture *h)
{
    vm_exec_free(h->exec);
    vm_instance_free(h->inst);
    for (int i = 0; i < 4; i++)
        vm_host_function_free(h->fn[i]);
}

START_TEST(host_function_args_and_results)
{
    HostFixture h;
    host_setup(&h);
    Value args[2] = { (uint32_t)-5, 1000000000000ull };
    uint64_t before = vm_exec_reductions(h.exec);
    ck_assert_int_eq(vm_invoke(h.exec, export_func(h.inst, "call_add"), args, 2, NULL, -1),
                     RUN_DONE);
    ck_assert_uint_eq(result1(h.exec), 999999999995ull);
    ck_assert_int_eq(h.log[0].calls, 1);
    ck_assert_uint_eq(h.log[0].args[0], 0xFFFFFFFBu);   /* an i32 arrives zero-extended */
    ck_assert_uint_eq(h.log[0].args[1], 1000000000000ull);
    ck_assert_uint_eq(vm_exec_reductions(h.exec) - before, 1);   /* a host call costs one */

    /* with budget 1 the run yields right after the host call, which is not made again */
    uint64_t yields;
    ck_assert_int_eq(run_sliced(h.exec, export_func(h.inst, "call_add"), args, 2, 1, &yields),
                     RUN_DONE);
    ck_assert_uint_eq(yields, 1);
    ck_assert_uint_eq(result1(h.exec), 999999999995ull);
    ck_assert_int_eq(h.log[0].calls, 2);

    /* a host function can be the entry itself */
    ck_assert_int_eq(vm_invoke(h.exec, h.fn[0], args, 2, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(h.exec), 999999999995ull);
    ck_assert_int_eq(h.log[0].calls, 3);
    host_teardown(&h);
}
END_TEST

START_TEST(host_function_traps)
{
    HostFixture h;
    host_setup(&h);
    RunStatus st = vm_invoke(h.exec, export_func(h.inst, "call_boom"), NULL, 0, NULL, -1);
    expect_trap(h.exec, st, TRAP_HOST, "boom");
    ck_assert_int_eq(h.log[1].calls, 1);
    const Trap *t = vm_exec_trap(h.exec);
    ck_assert_uint_ge(t->nframes, 1);
    ck_assert_uint_eq(t->frames[0].funcidx, HOST_CALL_BOOM_IDX);
    ck_assert_int_eq(vm_run(h.exec, -1), RUN_TRAP);     /* not called again */
    ck_assert_int_eq(h.log[1].calls, 1);
    host_teardown(&h);
}
END_TEST

START_TEST(host_function_blocks_and_restarts)
{
    HostFixture h;
    host_setup(&h);
    Value arg = 21;
    uint64_t before = vm_exec_reductions(h.exec);
    ck_assert(vm_exec_call(h.exec, export_func(h.inst, "call_wait"), &arg, 1));
    ck_assert_int_eq(vm_run(h.exec, -1), RUN_BLOCK);
    ck_assert_int_eq(h.log[2].calls, 1);
    ck_assert_int_eq(vm_run(h.exec, -1), RUN_DONE);    /* the call is made again */
    ck_assert_int_eq(h.log[2].calls, 2);
    ck_assert_uint_eq(h.log[2].args[0], 21);
    ck_assert_uint_eq(h.log[2].args[1], 21);            /* with the same argument */
    ck_assert_uint_eq(result1(h.exec), 43);
    ck_assert_uint_eq(vm_exec_reductions(h.exec) - before, 1);   /* the blocked try is free */
    ck_assert_int_eq(vm_run(h.exec, -1), RUN_DONE);
    ck_assert_int_eq(h.log[2].calls, 2);                /* and never a third time */

    /* blocked on one thread, woken on another */
    h.log[2].calls = 0;
    arg = 100;
    ck_assert(vm_exec_call(h.exec, export_func(h.inst, "call_wait"), &arg, 1));
    ck_assert_int_eq(vm_run(h.exec, 1), RUN_BLOCK);
    Slices s = { h.exec, 1, 0, RUN_BLOCK, 0 };
    run_on_new_thread(&s);
    ck_assert_int_eq(s.last, RUN_DONE);
    ck_assert_uint_eq(result1(h.exec), 201);
    ck_assert_int_eq(h.log[2].calls, 2);
    host_teardown(&h);
}
END_TEST

START_TEST(host_function_reads_guest_memory)
{
    HostFixture h;
    host_setup(&h);
    Function *peek = export_func(h.inst, "call_peek");
    Value args[2] = { 16, 5 };                          /* "hello" from the data segment */
    ck_assert_int_eq(vm_invoke(h.exec, peek, args, 2, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(h.exec), 'h' + 'e' + 'l' + 'l' + 'o');
    args[0] = 65536 - 2;                                /* straddles the end of memory */
    expect_trap(h.exec, vm_invoke(h.exec, peek, args, 2, NULL, -1), TRAP_HOST,
                "peek: out of bounds");
    args[0] = 0xFFFFFFFF;                               /* ptr + len wraps in 32 bits */
    expect_trap(h.exec, vm_invoke(h.exec, peek, args, 2, NULL, -1), TRAP_HOST,
                "peek: out of bounds");
    args[0] = 65536 - 2;
    args[1] = 2;                                        /* the last two bytes are fine */
    ck_assert_int_eq(vm_invoke(h.exec, peek, args, 2, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(h.exec), 0);
    ck_assert_int_eq(h.log[3].calls, 4);
    ck_assert_ptr_null(vm_exec_caller_memory(h.exec)); /* only during a host call */
    args[0] = 16;                                       /* and only with a Wasm caller */
    expect_trap(h.exec, vm_invoke(h.exec, h.fn[3], args, 2, NULL, -1), TRAP_HOST,
                "peek: out of bounds");
    ck_assert_int_eq(h.log[3].calls, 5);
    host_teardown(&h);
}
END_TEST

/* ---- 7. memory growth --------------------------------------------------------------------- */

#define PAGE 65536u

static Value call1(Exec *e, Instance *inst, const char *name, Value a)
{
    ck_assert_int_eq(vm_invoke(e, export_func(inst, name), &a, 1, NULL, -1), RUN_DONE);
    return result1(e);
}

static void store(Exec *e, Instance *inst, uint32_t addr, uint32_t v)
{
    Value args[2] = { addr, v };
    ck_assert_int_eq(vm_invoke(e, export_func(inst, "store"), args, 2, NULL, -1), RUN_DONE);
}

START_TEST(memory_grows_and_keeps_data)
{
    Instance *inst = instantiate(grow_wasm, sizeof grow_wasm, NULL, NULL);
    MemoryInst *mem = vm_instance_memory(inst);
    ck_assert_ptr_nonnull(mem);
    Exec *e = vm_exec_new(NULL);
    store(e, inst, 0, 0x11223344);
    store(e, inst, PAGE - 4, 0x55667788);              /* the last word of page 1 */

    /* one page at a time to 300 pages: far past the 1-page reservation, so it moves */
    ck_assert_uint_eq(call1(e, inst, "grow_to", 300), 299);
    ck_assert_uint_eq(vm_memory_size(mem), 300ull * PAGE);
    ck_assert_uint_eq(call1(e, inst, "grow", 0), 300);   /* grow by 0 gives the size */
    ck_assert_uint_eq(call1(e, inst, "load", 0), 0x11223344);
    ck_assert_uint_eq(call1(e, inst, "load", PAGE - 4), 0x55667788);
    ck_assert_uint_eq(call1(e, inst, "load", 150 * PAGE), 0);  /* new pages are zero */
    const uint8_t *data = vm_memory_data(mem);          /* the host sees the same bytes */
    ck_assert_uint_eq(data[0], 0x44);
    ck_assert_uint_eq(data[3], 0x11);

    uint32_t size = 300 * PAGE;
    store(e, inst, size - 4, 0xCAFEBABE);
    ck_assert_uint_eq(call1(e, inst, "load", size - 4), 0xCAFEBABE);
    Value a = size - 3;                                  /* one byte past the end */
    expect_trap(e, vm_invoke(e, export_func(inst, "load"), &a, 1, NULL, -1),
                TRAP_MEMORY_OOB, "out of bounds memory access");
    ck_assert_uint_eq(call1(e, inst, "grow", 65536), (uint32_t)-1);   /* past 4 GiB */
    ck_assert_uint_eq(vm_memory_size(mem), 300ull * PAGE);
    ck_assert_uint_eq(call1(e, inst, "load", 0), 0x11223344);
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

START_TEST(memory_grows_while_yielding)
{
    /* Yield at every back-edge of grow_to: each resumption must see the moved memory. */
    Instance *inst = instantiate(grow_wasm, sizeof grow_wasm, NULL, NULL);
    Exec *e = vm_exec_new(NULL);
    store(e, inst, 8, 77);
    uint64_t yields;
    Value n = 200;
    ck_assert_int_eq(run_sliced(e, export_func(inst, "grow_to"), &n, 1, 1, &yields), RUN_DONE);
    ck_assert_uint_eq(result1(e), 199);
    ck_assert_uint_eq(yields, 199);
    ck_assert_uint_eq(call1(e, inst, "load", 8), 77);
    store(e, inst, 200 * PAGE - 4, 78);
    ck_assert_uint_eq(call1(e, inst, "load", 200 * PAGE - 4), 78);
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

START_TEST(memory_grow_respects_maximum)
{
    Instance *inst = instantiate(growmax_wasm, sizeof growmax_wasm, NULL, NULL);
    Exec *e = vm_exec_new(NULL);
    ck_assert_uint_eq(call1(e, inst, "grow", 3), 1);
    ck_assert_uint_eq(call1(e, inst, "grow", 1), (uint32_t)-1);       /* max is 4 */
    ck_assert_uint_eq(call1(e, inst, "grow", 0), 4);
    ck_assert_uint_eq(vm_memory_size(vm_instance_memory(inst)), 4ull * PAGE);
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

/* Small memories live in slots of a slab, each zeroed where its last owner wrote and then
 * given to the next memory of its size. Enough of them are written all over here that the
 * freed slots hold more than the slab keeps resident, so it gives pages back too. */
START_TEST(memory_reused_reads_as_zero)
{
    enum { N = 1500 };
    MemoryInst **mems = malloc(N * sizeof *mems);
    ck_assert_ptr_nonnull(mems);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            mems[i] = vm_memory_new(1, 1, true);
            ck_assert_ptr_nonnull(mems[i]);
            ck_assert_uint_eq(vm_memory_size(mems[i]), PAGE);
            uint8_t *d = vm_memory_data(mems[i]);
            for (uint32_t at = 0; at < PAGE; at += 512)
                ck_assert_msg(d[at] == 0 && d[at + 511] == 0, "round %d memory %d byte %u",
                              round, i, at);
            memset(d, 0xA5, PAGE);
        }
        for (int i = round % 2; i < N; i += 2)      /* every other one first: the slots */
            vm_memory_free(mems[i]);                /* given back are not all adjacent */
        for (int i = 1 - round % 2; i < N; i += 2)
            vm_memory_free(mems[i]);
    }
    free(mems);
}
END_TEST

/* Memories made and freed on two threads at once: each must start zeroed. */
static void *churn_memories(void *arg)
{
    uint8_t mark = (uint8_t)(uintptr_t)arg;
    for (int i = 0; i < 3000; i++) {
        MemoryInst *m = vm_memory_new(2, 2, true);
        if (!m)
            return "no memory";
        uint8_t *d = vm_memory_data(m);
        if (d[0] || d[PAGE + 100] || d[2 * PAGE - 1])
            return "a new memory is not zero";
        d[0] = d[PAGE + 100] = d[2 * PAGE - 1] = mark;
        vm_memory_free(m);
    }
    return NULL;
}

START_TEST(memories_made_on_two_threads)
{
    pthread_t th[2];
    for (uintptr_t i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, churn_memories, (void *)(i + 1)), 0);
    for (int i = 0; i < 2; i++) {
        void *err;
        ck_assert_int_eq(pthread_join(th[i], &err), 0);
        ck_assert_msg(err == NULL, "%s", (const char *)err);
    }
}
END_TEST

/* ---- 8. many instances share one compiled module ---------------------------------------- */

START_TEST(instances_share_module_not_state)
{
    LoadError err;
    uint8_t copy[sizeof shared_wasm];
    memcpy(copy, shared_wasm, sizeof copy);
    Module *a = loader_load(shared_wasm, sizeof shared_wasm, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    Module *b = loader_load(copy, sizeof copy, &err);
    ck_assert_ptr_eq(a, b);

    Exec *e = vm_exec_new(NULL);
    VmError verr;
    Instance *i1 = vm_instantiate(a, NULL, e, &verr);
    ck_assert_msg(i1 != NULL, "%s", verr.message);
    void *code = a->compiled;                           /* compiled once, by the first */
    ck_assert_ptr_nonnull(code);
    Instance *i2 = vm_instantiate(b, NULL, e, &verr);
    ck_assert_msg(i2 != NULL, "%s", verr.message);
    ck_assert_ptr_eq(a->compiled, code);
    ck_assert_ptr_eq(vm_instance_module(i1), vm_instance_module(i2));
    ck_assert_ptr_ne(vm_instance_memory(i1), vm_instance_memory(i2));
    loader_release(a);
    loader_release(b);

    Value v = 7;
    ck_assert_int_eq(vm_invoke(e, export_func(i1, "set"), &v, 1, NULL, -1), RUN_DONE);
    ck_assert_int_eq(vm_invoke(e, export_func(i1, "get_global"), NULL, 0, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 7);
    ck_assert_int_eq(vm_invoke(e, export_func(i1, "get_mem"), NULL, 0, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 7);
    ck_assert_int_eq(vm_invoke(e, export_func(i2, "get_global"), NULL, 0, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 0);
    ck_assert_int_eq(vm_invoke(e, export_func(i2, "get_mem"), NULL, 0, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 0);

    Extern g1, g2;
    ck_assert(vm_instance_export(i1, "g", &g1) && vm_instance_export(i2, "g", &g2));
    ck_assert_int_eq(g1.kind, EXTERN_GLOBAL);
    ck_assert_ptr_ne(g1.u.global, g2.u.global);
    ck_assert_uint_eq(vm_global_get(g1.u.global), 7);
    ck_assert_uint_eq(vm_global_get(g2.u.global), 0);
    ck_assert_uint_eq(vm_memory_data(vm_instance_memory(i1))[8], 7);
    ck_assert_uint_eq(vm_memory_data(vm_instance_memory(i2))[8], 0);

    vm_instance_free(i1);                               /* the other keeps working */
    ck_assert_int_eq(vm_invoke(e, export_func(i2, "get_mem"), NULL, 0, NULL, -1), RUN_DONE);
    ck_assert_uint_eq(result1(e), 0);
    vm_instance_free(i2);
    vm_exec_free(e);
}
END_TEST

/* ---- 9. multi-value across resumption -------------------------------------------------- */

static void check_three(const Exec *e, uint32_t s)
{
    uint32_t n;
    const Value *r = vm_exec_results(e, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(r[0], s);
    ck_assert_uint_eq(r[1], (uint64_t)s * 1000000007ull);
    double d;
    memcpy(&d, &r[2], sizeof d);                        /* f64 results are raw bits */
    ck_assert_double_eq(d, s / 4.0);
}

START_TEST(multi_value_across_yields)
{
    Instance *inst = instantiate(loops_wasm, sizeof loops_wasm, NULL, NULL);
    Function *three = export_func(inst, "three");
    Exec *e = vm_exec_new(NULL);
    Value n = 1000;
    uint64_t yields;
    ck_assert_int_eq(run_sliced(e, three, &n, 1, -1, &yields), RUN_DONE);
    check_three(e, 999 * 1000 / 2);
    ck_assert_int_eq(run_sliced(e, three, &n, 1, 1, &yields), RUN_DONE);
    check_three(e, 999 * 1000 / 2);
    ck_assert_uint_eq(yields, 1 + 1000);                 /* the call to $mk, its back-edges */

    /* more results than Exec keeps inline (16) */
    Value out[17];
    ck_assert_int_eq(vm_invoke(e, export_func(inst, "many"), NULL, 0, out, 1), RUN_DONE);
    uint32_t nr;
    const Value *r = vm_exec_results(e, &nr);
    ck_assert_uint_eq(nr, 17);
    for (uint32_t i = 0; i < 17; i++) {
        ck_assert_uint_eq(out[i], i + 1);
        ck_assert_uint_eq(r[i], i + 1);
    }
    vm_exec_free(e);
    vm_instance_free(inst);
}
END_TEST

/* ---- 10. entry arguments are checked --------------------------------------------------- */

START_TEST(entry_arguments_are_checked)
{
    HostFixture h;
    host_setup(&h);
    Function *add = export_func(h.inst, "call_add");     /* (i32, i64) -> i64 */
    Value args[3] = { 1, 2, 3 };
    ck_assert(!vm_exec_call(h.exec, add, args, 0));
    ck_assert(!vm_exec_call(h.exec, add, args, 1));
    ck_assert(!vm_exec_call(h.exec, add, args, 3));
    ck_assert(!vm_exec_call(h.exec, h.fn[0], args, 1)); /* a host entry too */
    ck_assert_int_eq(h.log[0].calls, 0);
    ck_assert_int_eq(vm_invoke(h.exec, add, args, 1, NULL, -1), RUN_TRAP);
    ck_assert_int_eq(h.log[0].calls, 0);
    ck_assert(vm_exec_call(h.exec, add, args, 2));       /* the Exec is still usable */
    ck_assert_int_eq(vm_run(h.exec, -1), RUN_DONE);
    ck_assert_uint_eq(result1(h.exec), 3);
    host_teardown(&h);
}
END_TEST

Suite *vm_suite(void)
{
    Suite *s = suite_create("vm");
    TCase *t = tcase_create("resume");
    tcase_set_timeout(t, 60);                            /* budget 1 under sanitizers */
    tcase_add_test(t, resume_loop_same_result);
    tcase_add_test(t, resume_calls_same_result);
    tcase_add_test(t, resume_while_stacks_grow);
    tcase_add_test(t, new_call_abandons_a_suspended_one);
    tcase_add_test(t, resume_on_other_threads);
    tcase_add_test(t, instances_run_in_parallel);
    tcase_add_test(t, multi_value_across_yields);
    suite_add_tcase(s, t);

    t = tcase_create("reductions");
    tcase_add_test(t, reductions_back_edges_and_calls);
    tcase_add_test(t, budget_is_respected);
    tcase_add_test(t, empty_loop_yields);
    suite_add_tcase(s, t);

    t = tcase_create("traps");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, unbounded_recursion_traps);
    tcase_add_test(t, limits_bound_recursion);
    tcase_add_test(t, trap_backtrace_has_names);
    suite_add_tcase(s, t);

    t = tcase_create("host");
    tcase_add_test(t, host_function_args_and_results);
    tcase_add_test(t, host_function_traps);
    tcase_add_test(t, host_function_blocks_and_restarts);
    tcase_add_test(t, host_function_reads_guest_memory);
    tcase_add_test(t, entry_arguments_are_checked);
    suite_add_tcase(s, t);

    t = tcase_create("memory");
    tcase_add_test(t, memory_grows_and_keeps_data);
    tcase_add_test(t, memory_grows_while_yielding);
    tcase_add_test(t, memory_grow_respects_maximum);
    tcase_add_test(t, memory_reused_reads_as_zero);
    tcase_add_test(t, memories_made_on_two_threads);
    tcase_add_test(t, instances_share_module_not_state);
    suite_add_tcase(s, t);
    return s;
}
