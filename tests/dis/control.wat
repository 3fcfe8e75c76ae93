;; Loops, compare-and-branch superinstructions, br_table, unreachable code, select.
(module
  (func $sum (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func $classify (export "classify") (param i32) (result i32)
    (block $c (block $b (block $a
      (br_table $a $b $c (local.get 0)))
      (return (i32.const 10)))
      (return (i32.const 20)))
    (i32.const 30))
  (func $pick (export "pick") (param i32 f64 f64) (result f64)
    (select (local.get 1) (local.get 2) (local.get 0)))
  (func $dead (export "dead") (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then (return (i32.const 1))))
    (unreachable)
    (i32.const 2)
    (drop)
    (i32.const 3))
  (func $floats (export "floats") (param f64) (result i32)
    (if (result i32) (f64.lt (local.get 0) (f64.const 0.5))
      (then (i32.const -1))
      (else (i32.trunc_f64_s (f64.mul (local.get 0) (f64.const 2.25)))))))
