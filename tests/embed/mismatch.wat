;; Imports m.cos with the wrong type: instantiation must refuse it (tests.c).
(module
  (import "m" "cos" (func $cos (param i32) (result i32)))
  (func (export "run") (result i32) (call $cos (i32.const 1))))
