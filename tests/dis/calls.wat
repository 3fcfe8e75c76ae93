;; Calls: an import, a defined function, call_indirect through a table; multi-value.
(module
  (import "env" "log" (func $log (param i32)))
  (type $binop (func (param i32 i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $add $two)
  (func $add (type $binop) (i32.add (local.get 0) (local.get 1)))
  (func $two (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))
  (func (export "run") (param i32) (result i32)
    (call $log (local.get 0))
    (call_indirect (type $binop) (i32.const 3) (i32.const 4) (local.get 0))
    (call $two (i32.const 5) (i32.const 6))
    (drop)
    (i32.add)))
