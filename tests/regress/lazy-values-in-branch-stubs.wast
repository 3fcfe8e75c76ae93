;; A br_table (or br_if) that returns from the function through several stubs: a constant
;; result must be written on every path, not only on the first stub's (vm/compile.c,
;; emit_return: lazy entries are written without being marked written).
(module
  (func (export "tbl") (param i32) (result i32 i64)
    (br_table 0 0 (i32.const 50) (i64.const 51) (local.get 0))
    (i32.const 51) (i64.const 52))
  (func (export "brif") (param i32) (result i32)
    (br_if 0 (i32.const 7) (local.get 0))
    (drop)
    (i32.const 8)))

(assert_return (invoke "tbl" (i32.const 0)) (i32.const 50) (i64.const 51))
(assert_return (invoke "tbl" (i32.const 1)) (i32.const 50) (i64.const 51))
(assert_return (invoke "tbl" (i32.const 9)) (i32.const 50) (i64.const 51))
(assert_return (invoke "brif" (i32.const 1)) (i32.const 7))
(assert_return (invoke "brif" (i32.const 0)) (i32.const 8))
