;; Guest for the C-callback tests (tests.c): each export calls one host function of
;; module "env", registered by the test with lvm_register_fn.
(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "fail" (func $fail (param i32)))
  (import "env" "wait" (func $wait (param i32) (result i64)))
  (import "env" "peek" (func $peek (param i32 i32) (result i32)))
  (import "env" "pair" (func $pair (param f32 f64) (result f64 f32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "abc")
  (func (export "add") (param i32 i32) (result i32) (call $add (local.get 0) (local.get 1)))
  (func (export "fail") (param i32) (call $fail (local.get 0)))
  (func (export "wait") (param i32) (result i64) (call $wait (local.get 0)))
  ;; peek: the host sums the bytes at [ptr, ptr+len) and upper-cases them in place
  (func (export "peek") (param i32 i32) (result i32) (call $peek (local.get 0) (local.get 1)))
  (func (export "upper") (result i32) (i32.load8_u (i32.const 100)))
  (func (export "pair") (param f32 f64) (result f64 f32) (call $pair (local.get 0) (local.get 1)))
  (func (export "spin") (loop $l (br $l)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
)
