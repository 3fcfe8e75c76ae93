;; Loads and stores: constant addresses fold into the offset and read the zero slot;
;; an address `x + K` fuses with the access (the _ADD superinstructions); bulk memory.
(module
  (memory 1 2)
  (data "hello")
  (global $g (mut i32) (i32.const 7))
  (func (export "peek") (param i32) (result i32)
    (i32.load offset=4 (i32.add (local.get 0) (i32.const 8))))
  (func (export "poke") (param i32 i64)
    (i64.store (local.get 0) (local.get 1))
    (i32.store8 offset=1 (i32.const 16) (global.get $g))
    (f32.store (i32.const 32) (f32.const 1.5)))
  (func (export "bulk") (param i32 i32)
    (memory.fill (local.get 0) (i32.const 0) (local.get 1))
    (memory.copy (local.get 1) (local.get 0) (i32.const 4))
    (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 5))
    (data.drop 0)
    (global.set $g (memory.grow (memory.size)))))
