;; Compare-and-branch superinstructions on f64 (vm/compile.c, other_branch_variant): with
;; a NaN operand every comparison but `ne` is false, so `if (a < b)` must take the else
;; arm for NaN — the fused form may not branch on the negated comparison (a >= b).
(module
  (func (export "lt_if") (param f64 f64) (result i32)
    (if (result i32) (f64.lt (local.get 0) (local.get 1)) (then (i32.const 1)) (else (i32.const 0))))
  (func (export "ge_k_if") (param f64) (result i32)
    (if (result i32) (f64.ge (local.get 0) (f64.const 4)) (then (i32.const 1)) (else (i32.const 0))))
  (func (export "le_k_br") (param f64) (result i32)
    (block (br_if 0 (f64.le (local.get 0) (f64.const 2))) (return (i32.const 0))) (i32.const 1))
  (func (export "ne_if") (param f64 f64) (result i32)
    (if (result i32) (f64.ne (local.get 0) (local.get 1)) (then (i32.const 1)) (else (i32.const 0))))
  (func (export "bits_if") (param i32) (result i32)
    (if (result i32) (i32.and (local.get 0) (i32.const 4)) (then (i32.const 1)) (else (i32.const 0)))))

(assert_return (invoke "lt_if" (f64.const 1) (f64.const 2)) (i32.const 1))
(assert_return (invoke "lt_if" (f64.const 2) (f64.const 1)) (i32.const 0))
(assert_return (invoke "lt_if" (f64.const nan) (f64.const 1)) (i32.const 0))
(assert_return (invoke "lt_if" (f64.const 1) (f64.const nan)) (i32.const 0))
(assert_return (invoke "ge_k_if" (f64.const 5)) (i32.const 1))
(assert_return (invoke "ge_k_if" (f64.const 3)) (i32.const 0))
(assert_return (invoke "ge_k_if" (f64.const nan)) (i32.const 0))
(assert_return (invoke "le_k_br" (f64.const 1)) (i32.const 1))
(assert_return (invoke "le_k_br" (f64.const 3)) (i32.const 0))
(assert_return (invoke "le_k_br" (f64.const nan)) (i32.const 0))
(assert_return (invoke "ne_if" (f64.const nan) (f64.const nan)) (i32.const 1))
(assert_return (invoke "ne_if" (f64.const 1) (f64.const 1)) (i32.const 0))
(assert_return (invoke "bits_if" (i32.const 5)) (i32.const 1))
(assert_return (invoke "bits_if" (i32.const 3)) (i32.const 0))
