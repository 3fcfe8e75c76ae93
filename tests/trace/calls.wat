;; A module for the `lvm --trace` tests (tests/tools/run.py): a call, a loop, a trap.
(module
  (func $square (param i32) (result i32)
    local.get 0
    local.get 0
    i32.mul)
  (func $sumsq (export "sumsq") (param i32 i32) (result i32)
    local.get 0
    call $square
    local.get 1
    call $square
    i32.add)
  (func $countdown (export "countdown") (param i32) (result i64)
    (local i64)
    (loop $again
      local.get 1
      local.get 0
      i64.extend_i32_u
      i64.add
      local.set 1
      local.get 0
      i32.const 1
      i32.sub
      local.tee 0
      br_if $again)
    local.get 1)
  (func $div (export "div") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.div_s))
