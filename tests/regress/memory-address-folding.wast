;; Loads and stores whose address is a constant (read through the frame's zero slot) or
;; `x + K` (fused with the add): the add wraps at 32 bits, the memarg offset does not.
(module
  (memory 1)
  (func (export "st_abs") (param i32) (i32.store offset=8 (i32.const 16) (local.get 0)))
  (func (export "ld_abs") (result i32) (i32.load (i32.const 24)))
  (func (export "ld_add") (param i32) (result i32)
    (i32.load offset=4 (i32.add (local.get 0) (i32.const 20))))
  (func (export "ld_wrap") (param i32) (result i32)
    (i32.load8_u (i32.add (local.get 0) (i32.const -1))))
  (func (export "ld_far") (result i32) (i32.load offset=0xFFFFFFFF (i32.const 1)))
  (func (export "st_zero") (i64.store (i32.const 24) (i64.const 0))))

(invoke "st_abs" (i32.const 0x11223344))
(assert_return (invoke "ld_abs") (i32.const 0x11223344))
(assert_return (invoke "ld_add" (i32.const 0)) (i32.const 0x11223344))
(assert_return (invoke "ld_wrap" (i32.const 25)) (i32.const 0x44))
(assert_trap (invoke "ld_wrap" (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "ld_far") "out of bounds memory access")
(invoke "st_zero")
(assert_return (invoke "ld_abs") (i32.const 0))
