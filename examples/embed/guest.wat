;; guest.wat — the guest of examples/embed/host.c (docs/embedding.md).
;;
;; run(host) serves the host: for each message {tag 1, f64 x} it answers {tag 2, f64 cos x}
;; to the sender, computed by the host's env.cos (libm's, bound through libffi), and logs
;; through env.log (a C callback of the host). A message with tag 0 ends it; it returns
;; how many it answered.
(module
  (import "lvm" "receive" (func $receive (param i32 i32 i64) (result i32)))
  (import "lvm" "msg_tag" (func $msg_tag (result i64)))
  (import "lvm" "msg_sender" (func $msg_sender (result i64)))
  (import "lvm" "msg_read" (func $msg_read (param i32 i32 i32) (result i32)))
  (import "lvm" "send" (func $send (param i64 i64 i32 i32) (result i32)))
  (import "env" "cos" (func $cos (param f64) (result f64)))
  (import "env" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "computing a cosine")
  (func (export "run") (param $host i64) (result i32)
    (local $n i32)
    (loop $serve
      (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))   ;; any tag, no timeout
      (if (i64.eqz (call $msg_tag)) (then (return (local.get $n))))
      (drop (call $msg_read (i32.const 0) (i32.const 8) (i32.const 0)))     ;; x at address 0
      (call $log (i32.const 64) (i32.const 18))
      (f64.store (i32.const 8) (call $cos (f64.load (i32.const 0))))      ;; cos x at 8
      (drop (call $send (local.get $host) (i64.const 2) (i32.const 8) (i32.const 8)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $serve))
    (local.get $n))
)
