/*
 * server.c — request/reply on top of send, selective receive and monitors, like OTP's
 * gen_server: lvm_call (with a timeout, and an error when the server dies), lvm_cast,
 * lvm_reply, and lvm_serve, a loop that hands each message to a handler with its state.
 * Wire format and rules: lvm.h section 3b.
 *
 * Why a monitor: without one, a call to a server that dies would wait for the whole
 * timeout, or forever. The monitor's reference doubles as the call's unique reference:
 * the VM never hands out the same one twice, so the reply tag made from it cannot match
 * any other call's reply, earlier or later.
 *
 * A limit of the VM shapes lvm_call: receive filters by tag only, and every DOWN message
 * has the tag LVM_TAG_DOWN, so waiting for our monitor's DOWN may take another monitor's
 * off the queue. Those are kept aside and sent back to ourselves when the call is over:
 * they are not lost, but they move to the end of the mailbox and their sender becomes
 * this process (their payload, which names the dead process, is unchanged).
 */
#include <stdlib.h>
#include <string.h>

#include "lvm.h"

/* ---- Sending a framed message: a header of i64 words, then the caller's bytes ---------- */

static int32_t send_framed(lvm_pid to, int64_t msgtag, const int64_t *hdr, int32_t nhdr,
                           const void *bytes, int32_t len)
{
    uint8_t small[256];
    size_t total = (size_t)nhdr * 8 + (size_t)(len > 0 ? len : 0);
    if (total > INT32_MAX)
        return LVM_CALL_TOO_BIG;
    uint8_t *buf = total <= sizeof small ? small : malloc(total);
    if (!buf)
        return LVM_CALL_TOO_BIG;
    memcpy(buf, hdr, (size_t)nhdr * 8);        /* Wasm memory is little-endian, as the wire */
    if (len > 0)
        memcpy(buf + nhdr * 8, bytes, (size_t)len);
    int32_t r = lvm_send(to, msgtag, buf, (int32_t)total);
    if (buf != small)
        free(buf);
    return r == 0 ? 0 : LVM_CALL_TOO_BIG;
}

int32_t lvm_cast(lvm_pid pid, int64_t tag, const void *req, int32_t len)
{
    return send_framed(pid, LVM_TAG_CAST, &tag, 1, req, len);
}

int32_t lvm_reply_to(lvm_pid from, int64_t ref, const void *reply, int32_t len)
{
    return lvm_send(from, LVM_REPLY_TAG(ref), reply, len) == 0 ? 0 : LVM_CALL_TOO_BIG;
}

/* ---- Other monitors' DOWN messages that a call took off the queue ------------------------ */

typedef struct Stash {
    lvm_down_info *v;
    int32_t n, cap;
} Stash;

static void stash_push(Stash *s, lvm_down_info d)
{
    if (s->n == s->cap) {
        int32_t cap = s->cap ? 2 * s->cap : 4;
        lvm_down_info *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v)
            lvm_exit_flush(LVM_EXIT_OUT_OF_MEMORY);   /* would lose a DOWN: better stop */
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = d;
}

/* Send the stashed DOWNs back to ourselves, in the order they came, with their layout. */
static void stash_return(Stash *s)
{
    lvm_pid self = s->n ? lvm_self() : 0;
    for (int32_t i = 0; i < s->n; i++) {
        uint8_t b[20];
        memcpy(b, &s->v[i].ref, 8);
        memcpy(b + 8, &s->v[i].pid, 8);
        memcpy(b + 16, &s->v[i].reason, 4);
        lvm_send(self, LVM_TAG_DOWN, b, sizeof b);
    }
    free(s->v);
}

/* Wait for the DOWN of monitor `ref` (within timeout_ms, -1: forever), stashing others.
 * 1 if it came. */
static int await_down(int64_t ref, int64_t timeout_ms, Stash *stash)
{
    int64_t tag = LVM_TAG_DOWN;
    int64_t deadline = lvm_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = timeout_ms < 0 ? -1 : deadline - lvm_now_ms();
        if (lvm_receive(&tag, 1, left < 0 && timeout_ms >= 0 ? 0 : left) != 0)
            return 0;
        lvm_down_info d = lvm_msg_down_info();
        if (d.ref == ref)
            return 1;
        stash_push(stash, d);
    }
}

/* The call is over: drop the monitor. If the server ended meanwhile, its DOWN is in the
 * mailbox or on its way (demonitor finds nothing to remove): take it, so it does not stay
 * behind (Erlang's demonitor(Ref, [flush])). */
static void forget_monitor(int64_t ref, Stash *stash)
{
    if (!lvm_demonitor(ref))
        await_down(ref, -1, stash);
}

/* ---- Calls ----------------------------------------------------------------------------- */

int32_t lvm_call(lvm_pid pid, int64_t tag, const void *req, int32_t len, void *reply_buf,
                 int32_t cap, int64_t timeout_ms)
{
    int64_t ref = lvm_monitor(pid);
    int64_t hdr[2] = { tag, ref };
    Stash stash = { 0 };
    int32_t result;
    if (send_framed(pid, LVM_TAG_CALL, hdr, 2, req, len) != 0) {
        result = LVM_CALL_TOO_BIG;
        forget_monitor(ref, &stash);
        stash_return(&stash);
        return result;
    }
    int64_t tags[2] = { LVM_REPLY_TAG(ref), LVM_TAG_DOWN };
    int64_t deadline = lvm_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = timeout_ms < 0 ? -1 : deadline - lvm_now_ms();
        if (lvm_receive(tags, 2, left < 0 && timeout_ms >= 0 ? 0 : left) != 0) {
            result = LVM_CALL_TIMEOUT;
            forget_monitor(ref, &stash);
            break;
        }
        if (lvm_msg_tag() == tags[0]) {
            result = lvm_msg_size();
            lvm_msg_read(reply_buf, result < cap ? result : cap > 0 ? cap : 0, 0);
            forget_monitor(ref, &stash);
            break;
        }
        lvm_down_info d = lvm_msg_down_info();
        if (d.ref == ref) {
            result = LVM_CALL_DOWN;             /* the monitor is gone with its DOWN */
            break;
        }
        stash_push(&stash, d);
    }
    stash_return(&stash);
    return result;
}

/* ---- The server loop ---------------------------------------------------------------------- */

/* Decode the message just received into req; data points into buf (len bytes). */
static void decode(lvm_request *req, const uint8_t *buf, int32_t len)
{
    int64_t msgtag = lvm_msg_tag();
    *req = (lvm_request){ LVM_REQ_INFO, msgtag, lvm_msg_sender(), 0, buf, len };
    int32_t hdr = msgtag == LVM_TAG_CALL ? 16 : msgtag == LVM_TAG_CAST ? 8 : 0;
    if (!hdr || len < hdr)
        return;                                 /* not ours, or malformed: info */
    req->kind = msgtag == LVM_TAG_CALL ? LVM_REQ_CALL : LVM_REQ_CAST;
    memcpy(&req->tag, buf, 8);
    if (hdr == 16)
        memcpy(&req->ref, buf + 8, 8);
    req->data = buf + hdr;
    req->len = len - hdr;
}

int32_t lvm_serve(lvm_handler handler, void *state)
{
    uint8_t *buf = NULL;
    int32_t cap = 0, reason = LVM_SERVE_CONTINUE;
    while (reason == LVM_SERVE_CONTINUE) {
        lvm_receive(NULL, 0, -1);
        int32_t len = lvm_msg_size();
        if (len > cap) {
            uint8_t *b = realloc(buf, (size_t)len);
            if (!b) {
                reason = LVM_EXIT_OUT_OF_MEMORY;
                break;
            }
            buf = b;
            cap = len;
        }
        lvm_msg_read(buf, len, 0);
        lvm_request req;
        decode(&req, buf, len);
        reason = handler(state, &req);
    }
    free(buf);
    return reason;
}
