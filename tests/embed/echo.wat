;; Guest for the messaging tests (tests.c): echo answers every message with its tag + 1
;; and the same bytes, to the sender, until a message with tag 0, and returns how many
;; it answered; hello(pid) sends "host" with tag 5 to pid; hello_named() looks the host
;; up by the name "host" first.
(module
  (import "lvm" "receive" (func $receive (param i32 i32 i64) (result i32)))
  (import "lvm" "msg_tag" (func $msg_tag (result i64)))
  (import "lvm" "msg_sender" (func $msg_sender (result i64)))
  (import "lvm" "msg_read" (func $msg_read (param i32 i32 i32) (result i32)))
  (import "lvm" "send" (func $send (param i64 i64 i32 i32) (result i32)))
  (import "lvm" "whereis" (func $whereis (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "host")
  (func (export "echo") (result i32)
    (local $n i32) (local $len i32)
    (loop $next
      (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
      (if (i64.eqz (call $msg_tag)) (then (return (local.get $n))))
      (local.set $len (call $msg_read (i32.const 1024) (i32.const 4096) (i32.const 0)))
      (drop (call $send (call $msg_sender) (i64.add (call $msg_tag) (i64.const 1))
                        (i32.const 1024) (local.get $len)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $next))
    (local.get $n))
  (func $hi (param $to i64) (drop (call $send (local.get $to) (i64.const 5) (i32.const 16) (i32.const 4))))
  (func (export "hello") (param i64) (call $hi (local.get 0)))
  (func (export "hello_named") (call $hi (call $whereis (i32.const 16) (i32.const 4))))
)
