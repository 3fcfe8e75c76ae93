;; docs/adding-an-opcode.md: an operation with a constant operand, with and without a
;; superinstruction for it.
(module
  (func (export "inc") (param i32) (result i32)
    (i32.add (local.get 0) (i32.const 1)))
  (func (export "rotl3") (param i32) (result i32)
    (i32.rotl (local.get 0) (i32.const 3))))
