;; Guest for the libffi tests (tests.c): libm's cos and sqrtf as m.*, and the functions
;; of testlib.c as t.*, with every Wasm value type and buffers (pointer, length).
(module
  (import "m" "cos" (func $cos (param f64) (result f64)))
  (import "m" "sqrtf" (func $sqrtf (param f32) (result f32)))
  (import "t" "add_i32" (func $add_i32 (param i32 i32) (result i32)))
  (import "t" "mul_i64" (func $mul_i64 (param i64 i64) (result i64)))
  (import "t" "half_f32" (func $half_f32 (param f32) (result f32)))
  (import "t" "mix" (func $mix (param i32 i64 f32 f64) (result f64)))
  (import "t" "sum" (func $sum (param i32 i32) (result i64)))           ;; (buf)i64
  (import "t" "fill" (func $fill (param i32 i32 i32) (result i32)))     ;; (buf i32)i32
  (import "t" "tick" (func $tick))                                      ;; ()
  (memory (export "memory") 1)
  (data (i32.const 0) "\01\02\03\04\05")
  (func (export "cos") (param f64) (result f64) (call $cos (local.get 0)))
  (func (export "sqrtf") (param f32) (result f32) (call $sqrtf (local.get 0)))
  (func (export "add_i32") (param i32 i32) (result i32) (call $add_i32 (local.get 0) (local.get 1)))
  (func (export "mul_i64") (param i64 i64) (result i64) (call $mul_i64 (local.get 0) (local.get 1)))
  (func (export "half_f32") (param f32) (result f32) (call $half_f32 (local.get 0)))
  (func (export "mix") (param i32 i64 f32 f64) (result f64)
    (call $mix (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "sum") (param i32 i32) (result i64) (call $sum (local.get 0) (local.get 1)))
  ;; fill [ptr, ptr+len) with `byte` natively, then sum it natively
  (func (export "fill_sum") (param i32 i32 i32) (result i64)
    (drop (call $fill (local.get 0) (local.get 1) (local.get 2)))
    (call $sum (local.get 0) (local.get 1)))
  (func (export "tick") (call $tick) (call $tick))
)
