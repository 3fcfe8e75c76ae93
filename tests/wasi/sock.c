/* sock.c — sock_accept, sock_recv, sock_send, sock_shutdown on a socket preopened with
 * `lvm --tcplisten 127.0.0.1:PORT`. The driver's client (run.py, hook socket_client)
 * connects, sends "hello from client\n", reads until we shut down our side (we send
 * "pong: hello from client\n"), then sends "bye\n" and closes. Every wait is bounded:
 * poll_oneoff with a clock next to the socket. */
#include "common.h"

// test: serve
// lvm: --tcplisten 127.0.0.1:{port}
// setup: socket_client "hello from client" "pong: hello from client"
// expect: listener: ok
// expect: accepted
// expect: peeked: hello
// expect: received: hello from client
// expect: peer said: bye
// expect: serve: ok

// test: not_socket
// lvm: --tcplisten 127.0.0.1:{port} --dir {scratch}::/scratch
// setup: socket_client "x" ""
// expect: not_socket: ok

#define MS 1000000ull

/* The listening socket: the fd (from 3) whose filetype is SOCKET_STREAM. */
static int listener(void)
{
    for (int fd = 3; fd < 64; fd++) {
        __wasi_fdstat_t st;
        if (__wasi_fd_fdstat_get(fd, &st) != 0) continue;
        if (st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM) return fd;
    }
    FAIL("no preopened socket among fds 3..63");
}

/* Wait until fd is readable (or 20 s pass: a failure). */
static void wait_readable(int fd)
{
    __wasi_subscription_t in[2];
    memset(in, 0, sizeof in);
    in[0].userdata = 1;
    in[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    in[0].u.u.fd_read.file_descriptor = fd;
    in[1].userdata = 2;
    in[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    in[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    in[1].u.u.clock.timeout = 20000 * MS;
    __wasi_event_t out[2];
    __wasi_size_t n;
    CHECK_OK(__wasi_poll_oneoff(in, out, 2, &n));
    for (__wasi_size_t i = 0; i < n; i++)
        if (out[i].userdata == 1) {
            CHECK(out[i].error == 0, "poll on fd %d: error %d", fd, out[i].error);
            return;
        }
    FAIL("fd %d not readable after 20 s", fd);
}

static int accept_one(int lfd)
{
    for (int tries = 0; tries < 100; tries++) {
        __wasi_fd_t c;
        int e = __wasi_sock_accept(lfd, 0, &c);
        if (e == 0) return (int)c;
        CHECK_ERR(e, __WASI_ERRNO_AGAIN);   /* a non-blocking listener: wait for a client */
        wait_readable(lfd);
    }
    FAIL("sock_accept kept saying AGAIN");
}

/* sock_recv up to len bytes, waiting for at least one; 0 means the peer shut down. */
static size_t recv_some(int fd, char *buf, size_t len, int flags)
{
    for (int tries = 0; tries < 100; tries++) {
        __wasi_iovec_t iov = {(uint8_t *)buf, len};
        __wasi_size_t n = 0;
        __wasi_roflags_t ro = 0;
        int e = __wasi_sock_recv(fd, &iov, 1, flags, &n, &ro);
        if (e == 0) return n;
        CHECK_ERR(e, __WASI_ERRNO_AGAIN);
        wait_readable(fd);
    }
    FAIL("sock_recv kept saying AGAIN");
}

/* Read until a newline (included) or the peer's end. */
static size_t recv_line(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len - 1) {
        size_t n = recv_some(fd, buf + got, len - 1 - got, 0);
        if (n == 0) break;
        got += n;
        if (buf[got - 1] == '\n') break;
    }
    buf[got] = '\0';
    return got;
}

static void send_all(int fd, const char *s)
{
    size_t len = strlen(s), off = 0;
    while (off < len) {
        __wasi_ciovec_t iov = {(const uint8_t *)s + off, len - off};
        __wasi_size_t n = 0;
        int e = __wasi_sock_send(fd, &iov, 1, 0, &n);
        if (e == __WASI_ERRNO_AGAIN) continue;
        CHECK_OK(e);
        off += n;
    }
}

static void sec_serve(int argc, char **argv)
{
    int lfd = listener();
    __wasi_fdstat_t st;
    CHECK_OK(__wasi_fd_fdstat_get(lfd, &st));
    CHECK(st.fs_rights_base & __WASI_RIGHTS_SOCK_ACCEPT, "the listener lacks SOCK_ACCEPT");
    __wasi_prestat_t ps;
    CHECK_ERR(__wasi_fd_prestat_get(lfd, &ps), __WASI_ERRNO_BADF);
    printf("listener: ok\n");

    int c = accept_one(lfd);
    CHECK(c != lfd && c > 2, "sock_accept gave fd %d", c);
    CHECK_OK(__wasi_fd_fdstat_get(c, &st));
    CHECK(st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM, "accepted fd filetype %d",
          st.fs_filetype);
    printf("accepted\n");

    /* peek: the bytes stay for the next read */
    char buf[128];
    size_t n = 0;
    while (n < 5) {
        n = recv_some(c, buf, 5, __WASI_RIFLAGS_RECV_PEEK);
        CHECK(n > 0, "the peer closed early");
    }
    printf("peeked: %.5s\n", buf);
    n = recv_line(c, buf, sizeof buf);
    CHECK(n > 0 && buf[n - 1] == '\n', "no line from the client: '%s'", buf);
    buf[n - 1] = '\0';
    printf("received: %s\n", buf);

    char reply[160];
    snprintf(reply, sizeof reply, "pong: %s\n", buf);
    send_all(c, reply);
    CHECK_OK(__wasi_sock_shutdown(c, __WASI_SDFLAGS_WR));
    /* sending after shutting down the write side fails */
    __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
    __wasi_size_t sent;
    CHECK(__wasi_sock_send(c, &iov, 1, 0, &sent) != 0, "sock_send after shutdown(WR)");

    n = recv_line(c, buf, sizeof buf);
    CHECK(n > 0 && buf[n - 1] == '\n', "no second line: '%s'", buf);
    buf[n - 1] = '\0';
    printf("peer said: %s\n", buf);
    CHECK(recv_some(c, buf, sizeof buf, 0) == 0, "data after the peer's end");
    CHECK_OK(__wasi_fd_close(c));
    printf("serve: ok\n");
}

/* Socket calls on things that are not sockets; file calls on the listener. */
static void sec_not_socket(int argc, char **argv)
{
    int lfd = listener();
    int dir = preopen_fd("/scratch");
    __wasi_fd_t c;
    CHECK_ERR3(__wasi_sock_accept(dir, 0, &c), __WASI_ERRNO_NOTSOCK, __WASI_ERRNO_BADF,
               __WASI_ERRNO_NOTCAPABLE);
    CHECK_ERR3(__wasi_sock_accept(1, 0, &c), __WASI_ERRNO_NOTSOCK, __WASI_ERRNO_BADF,
               __WASI_ERRNO_NOTCAPABLE);
    CHECK_ERR(__wasi_sock_accept(999, 0, &c), __WASI_ERRNO_BADF);
    char buf[4];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_size_t n;
    __wasi_roflags_t ro;
    CHECK_ERR3(__wasi_sock_recv(dir, &iov, 1, 0, &n, &ro), __WASI_ERRNO_NOTSOCK,
               __WASI_ERRNO_BADF, __WASI_ERRNO_NOTCAPABLE);
    CHECK_ERR3(__wasi_sock_shutdown(dir, __WASI_SDFLAGS_RD), __WASI_ERRNO_NOTSOCK,
               __WASI_ERRNO_BADF, __WASI_ERRNO_NOTCAPABLE);
    /* a listener has no data to recv and no peer to shut down */
    CHECK(__wasi_sock_recv(lfd, &iov, 1, 0, &n, &ro) != 0, "sock_recv on the listener");
    /* and it is not a file */
    __wasi_filesize_t pos;
    CHECK(__wasi_fd_seek(lfd, 0, __WASI_WHENCE_SET, &pos) != 0, "fd_seek on the listener");
    /* the driver's client connects anyway: take it so it is not left hanging */
    int cfd = accept_one(lfd);
    CHECK_OK(__wasi_sock_shutdown(cfd, __WASI_SDFLAGS_WR | __WASI_SDFLAGS_RD));
    CHECK_OK(__wasi_fd_close(cfd));
    printf("not_socket: ok\n");
}

static const Section sections[] = {
    {"serve", sec_serve},
    {"not_socket", sec_not_socket},
};

int main(int argc, char **argv)
{
    return RUN_SECTIONS(sections, argc, argv);
}
