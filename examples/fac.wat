;; fac.wat — the first example: `lvm --invoke fac fac.wasm 20` prints 2432902008176640000.
;; Recursive factorial over i64; the recursion runs on lvm's own frame stack, not C's.
(module
  (func $fac (export "fac") (param $n i64) (result i64)
    (if (result i64) (i64.le_u (local.get $n) (i64.const 1))
      (then (i64.const 1))
      (else (i64.mul (local.get $n)
                     (call $fac (i64.sub (local.get $n) (i64.const 1))))))))
