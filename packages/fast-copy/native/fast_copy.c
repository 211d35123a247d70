/*
 * The copy engine of @flow/fast-copy (the shape is src/native/binding.ts): moves bytes one way
 * between two non-blocking descriptors it is lent, with libuv readiness polling on the Node
 * event loop, and calls JavaScript once, at the end.
 *
 * Per direction at most one buffer is in flight: the source is read only while nothing read is
 * waiting to be written, and while a write would block the engine watches the destination for
 * writability and not the source for readability. A slow receiver thus stops the reads, and the
 * kernel's socket buffers push back on the sender.
 *
 * The engine never closes the descriptors it is lent. It watches duplicates of them (dup), so
 * that its poll handles never share an fd number with the owner's libuv handle in the same loop
 * (libuv allows one active watcher per fd), and every copy has its own pair: two copies between
 * the same sockets (the two directions of a proxy) never watch the same fd/file description pair.
 * uv_poll_stop removes a duplicate from epoll before it is closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define NAPI_OR_NULL(call)              \
  do {                                  \
    if ((call) != napi_ok) return NULL; \
  } while (0)

/*
 * Reads per readiness event before yielding to the loop, so that other copies and JS get a turn:
 * at most ROUNDS_PER_WAKEUP, and no more once BYTES_PER_WAKEUP were read (with big buffers the
 * byte bound keeps the loop's pause about 1 ms, as 16 reads of 64 KiB did).
 */
#define ROUNDS_PER_WAKEUP 16
#define BYTES_PER_WAKEUP (1024 * 1024)
#define MIN_BUFFER 1024
#define MAX_BUFFER (16 * 1024 * 1024)

enum state { RUNNING, FINISHED };

typedef struct {
  uv_poll_t src_poll;
  uv_poll_t dst_poll;
  uv_timer_t idle_timer;
  napi_env env;
  int src, dst;            /* our duplicates of the lent descriptors */
  int pipe_r, pipe_w;      /* splice mode: the kernel buffer in between; -1 otherwise */
  int src_socket, dst_socket;
  char* buf;               /* read/write mode: buf[off, len) is read and not yet written */
  size_t cap, off, len;
  size_t in_pipe;          /* splice mode: bytes in the pipe, read and not yet written */
  double bytes, reads, writes;
  uint64_t idle_ms, last_progress;
  int src_watching, dst_watching;
  int src_hangup_watching; /* while waiting on the destination: the source is watched for a hang-up */
  int src_hung_up;         /* the source's peer hung up cleanly: its bytes are still to be read */
  enum state state;
  int open_handles;        /* uv handles not yet closed (3 after start) */
  int unwrapped;           /* the JS handle object let go of this struct */
  int js_dropped;
  napi_ref self;           /* strong while running: the handle object outlives the copy */
  napi_ref callback;
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup;
} copy_t;

/* ---------------------------------------------------------------- arguments */

static napi_value throw_range(napi_env env, const char* message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

static int get_integer(napi_env env, napi_value value, double min, double max, const char* name, double* out) {
  napi_valuetype type;
  char message[96];
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type != napi_number) {
    snprintf(message, sizeof message, "%s must be a number", name);
    napi_throw_type_error(env, NULL, message);
    return 0;
  }
  napi_get_value_double(env, value, out);
  if (!(*out >= min && *out <= max) || (double)(int64_t)*out != *out) {
    snprintf(message, sizeof message, "%s must be an integer from %.0f to %.0f", name, min, max);
    throw_range(env, message);
    return 0;
  }
  return 1;
}

static napi_value int_result(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

/* ---------------------------------------------------------------- lifetime */

static void free_if_unused(copy_t* c) {
  if (c->open_handles == 0 && c->unwrapped) free(c);
}

static void close_fd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void on_handle_closed(uv_handle_t* handle) {
  copy_t* c = handle->data;
  if (--c->open_handles > 0) return;
  /* Closed by release() already, except when start() failed half-way. */
  close_fd(&c->src);
  close_fd(&c->dst);
  close_fd(&c->pipe_r);
  close_fd(&c->pipe_w);
  if (c->cleanup != NULL) napi_remove_async_cleanup_hook(c->cleanup);
  c->cleanup = NULL;
  free_if_unused(c);
}

static void drop_js(copy_t* c) {
  if (c->js_dropped) return;
  c->js_dropped = 1;
  napi_async_destroy(c->env, c->async);
  napi_delete_reference(c->env, c->callback);
  napi_delete_reference(c->env, c->self);
}

/*
 * Stops every watcher, closes the handles and the engine's descriptors; the struct goes later.
 * The duplicates are closed here and not in the close callback: uv_close on a poll handle takes
 * the fd out of epoll synchronously and libuv never touches it again, and closing at once means
 * that an owner who closes its socket right after the copy really closes it (no duplicate of
 * ours keeps the connection open for another loop turn).
 */
static void release(copy_t* c) {
  c->state = FINISHED;
  uv_poll_stop(&c->src_poll);
  uv_poll_stop(&c->dst_poll);
  uv_timer_stop(&c->idle_timer);
  c->src_watching = c->dst_watching = 0;
  uv_close((uv_handle_t*)&c->src_poll, on_handle_closed);
  uv_close((uv_handle_t*)&c->dst_poll, on_handle_closed);
  uv_close((uv_handle_t*)&c->idle_timer, on_handle_closed);
  close_fd(&c->src);
  close_fd(&c->dst);
  close_fd(&c->pipe_r);
  close_fd(&c->pipe_w);
  free(c->buf);
  c->buf = NULL;
}

/* ---------------------------------------------------------------- the moves */

#define MOVE_AGAIN (-EAGAIN)

/* One read (or splice into the pipe): bytes, 0 at end of stream, or -errno. */
static ssize_t fill(copy_t* c) {
  ssize_t n;
  do {
    if (c->pipe_w >= 0) {
      n = splice(c->src, NULL, c->pipe_w, NULL, c->cap, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    } else {
      n = read(c->src, c->buf, c->cap);
    }
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EWOULDBLOCK ? MOVE_AGAIN : -errno;
  return n;
}

/* One write of what is pending (or splice out of the pipe): bytes or -errno. */
static ssize_t drain(copy_t* c) {
  ssize_t n;
  do {
    if (c->pipe_r >= 0) {
      n = splice(c->pipe_r, NULL, c->dst, NULL, c->in_pipe, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    } else if (c->dst_socket) {
      /* MSG_NOSIGNAL: a gone peer is EPIPE, never a SIGPIPE, whatever the embedder's handler. */
      n = send(c->dst, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
    } else {
      n = write(c->dst, c->buf + c->off, c->len - c->off);
    }
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EWOULDBLOCK ? MOVE_AGAIN : -errno;
  return n;
}

static size_t pending(const copy_t* c) {
  return c->pipe_r >= 0 ? c->in_pipe : c->len - c->off;
}

/*
 * What a read of 0 means. A TCP socket that got a FIN and then a RST reads 0 (end of stream)
 * although the connection was reset: the pending socket error says so. Returns 0 or an errno.
 */
static int error_behind_eof(copy_t* c) {
  if (!c->src_socket) return 0;
  int error = 0;
  socklen_t size = sizeof error;
  if (getsockopt(c->src, SOL_SOCKET, SO_ERROR, &error, &size) != 0) return 0;
  return error;
}

/* ---------------------------------------------------------------- the end */

static napi_value unwritten_buffer(napi_env env, copy_t* c) {
  napi_value buffer;
  void* data;
  size_t size = c->state == RUNNING ? pending(c) : 0;
  if (napi_create_buffer(env, size, &data, &buffer) != napi_ok) return NULL;
  if (size == 0) return buffer;
  if (c->pipe_r >= 0) {
    /* The pipe holds exactly in_pipe bytes and nobody else reads it: one read empties it. */
    size_t got = 0;
    while (got < size) {
      ssize_t n = read(c->pipe_r, (char*)data + got, size - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += (size_t)n;
    }
    if (got < size) {
      napi_value sliced;
      napi_create_buffer_copy(env, got, data, NULL, &sliced);
      return sliced;
    }
  } else {
    memcpy(data, c->buf + c->off, size);
  }
  return buffer;
}

static int set_property(napi_env env, napi_value object, const char* name, napi_value value) {
  return value != NULL && napi_set_named_property(env, object, name, value) == napi_ok;
}

static napi_value number(napi_env env, double n) {
  napi_value v;
  return napi_create_double(env, n, &v) == napi_ok ? v : NULL;
}

static napi_value string(napi_env env, const char* s) {
  napi_value v;
  if (s == NULL) {
    napi_get_null(env, &v);
    return v;
  }
  return napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) == napi_ok ? v : NULL;
}

/* { outcome, errno, syscall, side, bytes, reads, writes, unwritten }: taken before release. */
static napi_value result_object(napi_env env, copy_t* c, const char* outcome, int error, const char* syscall,
                                const char* side) {
  napi_value r;
  NAPI_OR_NULL(napi_create_object(env, &r));
  if (!set_property(env, r, "outcome", string(env, outcome)) || !set_property(env, r, "errno", number(env, error)) ||
      !set_property(env, r, "syscall", string(env, syscall)) || !set_property(env, r, "side", string(env, side)) ||
      !set_property(env, r, "bytes", number(env, c->bytes)) ||
      !set_property(env, r, "reads", number(env, c->reads)) || !set_property(env, r, "writes", number(env, c->writes)) ||
      !set_property(env, r, "unwritten", unwritten_buffer(env, c))) {
    return NULL;
  }
  return r;
}

/* The copy ended by itself: release everything, then tell JavaScript, once. */
static void finish(copy_t* c, const char* outcome, int error, const char* syscall, const char* side) {
  napi_env env = c->env;
  napi_handle_scope scope;
  napi_value argv[1], callback, self, ignored;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    release(c);
    drop_js(c);
    return;
  }
  argv[0] = result_object(env, c, outcome, error, syscall, side);
  release(c);
  if (argv[0] != NULL && napi_get_reference_value(env, c->callback, &callback) == napi_ok &&
      napi_get_reference_value(env, c->self, &self) == napi_ok) {
    napi_status called = napi_make_callback(env, c->async, self, callback, 1, argv, &ignored);
    if (called == napi_pending_exception) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }
  drop_js(c);
  napi_close_handle_scope(env, scope);
}

/* ---------------------------------------------------------------- the loop */

static void on_src(uv_poll_t* handle, int status, int events);
static void on_dst(uv_poll_t* handle, int status, int events);

/* Watch exactly one side: the source when nothing is pending, the destination otherwise. */
static void watch_source(copy_t* c) {
  if (c->dst_watching) uv_poll_stop(&c->dst_poll);
  c->dst_watching = 0;
  if (!c->src_watching) uv_poll_start(&c->src_poll, UV_READABLE, on_src);
  c->src_watching = 1;
  c->src_hangup_watching = 0;
}

/*
 * While the destination blocks, the source is not read, but a reset of its peer must still end
 * the copy at once (a receiver that never reads would otherwise keep both connections forever):
 * the same poll handle watches the source for a hang-up only (epoll always reports HUP and ERR;
 * UV_DISCONNECT adds RDHUP), and on_src reads SO_ERROR to tell a reset from a clean end.
 */
static void watch_destination(copy_t* c) {
  if (c->src_watching) uv_poll_stop(&c->src_poll);
  c->src_watching = 0;
  if (c->src_socket && !c->src_hung_up && !c->src_hangup_watching) {
    uv_poll_start(&c->src_poll, UV_DISCONNECT, on_src);
    c->src_hangup_watching = 1;
  }
  if (!c->dst_watching) uv_poll_start(&c->dst_poll, UV_WRITABLE, on_dst);
  c->dst_watching = 1;
}

static void progress(copy_t* c) {
  if (c->idle_ms) c->last_progress = uv_now(uv_handle_get_loop((uv_handle_t*)&c->idle_timer));
}

/* Moves what can be moved now, then waits for the side that blocks. */
static void pump(copy_t* c) {
  const char* read_call = c->pipe_w >= 0 ? "splice" : "read";
  const char* write_call = c->pipe_r >= 0 ? "splice" : "write";
  size_t moved = 0;
  for (int round = 0;; round++) {
    while (pending(c) > 0) {
      ssize_t n = drain(c);
      if (n == MOVE_AGAIN) {
        watch_destination(c);
        return;
      }
      if (n < 0) {
        finish(c, "error", (int)-n, write_call, "write");
        return;
      }
      if (n == 0) {
        /* A write of a non-empty range that moves nothing: treat as an error, never spin. */
        finish(c, "error", EIO, write_call, "write");
        return;
      }
      c->writes++;
      c->bytes += (double)n;
      if (c->pipe_r >= 0) {
        c->in_pipe -= (size_t)n;
      } else {
        c->off += (size_t)n;
        if (c->off == c->len) c->off = c->len = 0;
      }
      progress(c);
    }
    if (round >= ROUNDS_PER_WAKEUP || moved >= BYTES_PER_WAKEUP) {
      watch_source(c); /* level-triggered: the loop calls again at once if more is there */
      return;
    }
    ssize_t n = fill(c);
    if (n == MOVE_AGAIN) {
      watch_source(c);
      return;
    }
    if (n < 0) {
      finish(c, "error", (int)-n, read_call, "read");
      return;
    }
    if (n == 0) {
      int error = error_behind_eof(c);
      if (error) {
        finish(c, "error", error, read_call, "read");
      } else {
        finish(c, "eof", 0, NULL, NULL);
      }
      return;
    }
    c->reads++;
    moved += (size_t)n;
    if (c->pipe_w >= 0) {
      c->in_pipe = (size_t)n;
    } else {
      c->len = (size_t)n;
    }
    progress(c);
  }
}

/*
 * libuv reports POLLERR (a pending socket error) as UV_EBADF and stops the watcher. Then the
 * next read or write returns the real error, so pump: it re-arms the watcher if it blocks.
 */
static void on_src(uv_poll_t* handle, int status, int events) {
  (void)events;
  copy_t* c = handle->data;
  if (c->state != RUNNING) return;
  if (c->src_hangup_watching) {
    /*
     * A hang-up while the destination blocks. A reset (the socket's pending error) ends the copy
     * now; a clean end (FIN, a peer that shut down or closed with nothing unread) does not: its
     * bytes are still to be copied, so stop watching for it (it stays reported) and keep going.
     */
    int error = error_behind_eof(c);
    if (error) {
      finish(c, "error", error, c->pipe_w >= 0 ? "splice" : "read", "read");
      return;
    }
    if (status == 0) uv_poll_stop(&c->src_poll);
    c->src_hangup_watching = 0;
    c->src_hung_up = 1;
    return;
  }
  if (status < 0) c->src_watching = 0;
  pump(c);
}

static void on_dst(uv_poll_t* handle, int status, int events) {
  (void)events;
  copy_t* c = handle->data;
  if (c->state != RUNNING) return;
  if (status < 0) c->dst_watching = 0;
  pump(c);
}

static void on_idle_timer(uv_timer_t* timer) {
  copy_t* c = timer->data;
  if (c->state != RUNNING) return;
  uint64_t now = uv_now(uv_handle_get_loop((uv_handle_t*)timer));
  uint64_t since = now - c->last_progress;
  if (since >= c->idle_ms) {
    finish(c, "error", ETIMEDOUT, "idle", NULL);
  } else {
    uv_timer_start(&c->idle_timer, on_idle_timer, c->idle_ms - since, 0);
  }
}

/* ---------------------------------------------------------------- JS entry points */

/*
 * socketError(fd): the socket's pending error (SO_ERROR) as a positive errno, 0 when none, or
 * -errno when it cannot be read (EBADF, ENOTSOCK). Reading it clears it. Lets @flow/core tell a
 * Unix-domain peer's reset from its clean close without reading (and losing) queued bytes.
 */
static napi_value fast_copy_socket_error(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  double fd;
  NAPI_OR_NULL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "fd must be a number");
    return NULL;
  }
  if (!get_integer(env, argv[0], 0, INT_MAX, "fd", &fd)) return NULL;
  int error = 0;
  socklen_t size = sizeof error;
  if (getsockopt((int)fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) return int_result(env, -errno);
  return int_result(env, error);
}

static void on_env_teardown(napi_async_cleanup_hook_handle handle, void* arg) {
  copy_t* c = arg;
  c->cleanup = handle;
  if (c->state == RUNNING) {
    release(c);
  } else if (c->open_handles == 0) {
    napi_remove_async_cleanup_hook(handle);
    c->cleanup = NULL;
  }
}

static void finalize_copy(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  copy_t* c = data;
  /* Only at environment teardown can a running copy's handle object be collected. */
  if (c->state == RUNNING) release(c);
  c->unwrapped = 1;
  free_if_unused(c);
}

static int is_socket(int fd) {
  int type;
  socklen_t size = sizeof type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0;
}

/* A descriptor the engine can use: open and non-blocking (a blocking one would stall the loop). */
static int check_lent(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags == -1) return -errno;
  if (!(flags & O_NONBLOCK)) return -EINVAL;
  return 0;
}

/*
 * Creates the pipe of splice mode, sized for one buffer: 0, -errno, or 1 when the kernel will not
 * give the pipe that size. An unprivileged process gets EPERM above /proc/sys/fs/pipe-max-size and
 * once its user's pipes hold /proc/sys/fs/pipe-user-pages-soft pages (new pipes then get two
 * pages): splicing a few KiB per call would be far slower than reading and writing, so the caller
 * copies with read/write instead.
 */
static int open_pipe(copy_t* c) {
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return -errno;
  c->pipe_r = fds[0];
  c->pipe_w = fds[1];
  fcntl(c->pipe_w, F_SETPIPE_SZ, (int)c->cap);
  int size = fcntl(c->pipe_w, F_GETPIPE_SZ);
  if (size <= 0 || (size_t)size < c->cap) {
    close_fd(&c->pipe_r);
    close_fd(&c->pipe_w);
    return 1;
  }
  c->cap = (size_t)size;
  return 0;
}

/*
 * start(fromFd, toFd, bufferSize, idleMs, splice, onDone): a handle object, or -errno when a
 * descriptor is unusable (-EINVAL: blocking) or the engine's own resources cannot be had.
 */
static napi_value fast_copy_start(napi_env env, napi_callback_info info) {
  napi_value argv[6], handle, resource, name;
  size_t argc = 6;
  double from, to, buffer_size, idle_ms;
  bool use_splice;
  napi_valuetype type;
  uv_loop_t* loop;
  NAPI_OR_NULL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_integer(env, argv[0], 0, INT_MAX, "fromFd", &from) || !get_integer(env, argv[1], 0, INT_MAX, "toFd", &to) ||
      !get_integer(env, argv[2], MIN_BUFFER, MAX_BUFFER, "bufferSize", &buffer_size) ||
      !get_integer(env, argv[3], 0, 0x7fffffff, "idleMs", &idle_ms)) {
    return NULL;
  }
  if (napi_get_value_bool(env, argv[4], &use_splice) != napi_ok) {
    napi_throw_type_error(env, NULL, "splice must be a boolean");
    return NULL;
  }
  NAPI_OR_NULL(napi_typeof(env, argv[5], &type));
  if (type != napi_function) {
    napi_throw_type_error(env, NULL, "onDone must be a function");
    return NULL;
  }
  int rc = check_lent((int)from);
  if (rc == 0) rc = check_lent((int)to);
  if (rc != 0) return int_result(env, rc);

  NAPI_OR_NULL(napi_get_uv_event_loop(env, &loop));
  copy_t* c = calloc(1, sizeof *c);
  if (c == NULL) return int_result(env, -ENOMEM);
  c->env = env;
  c->src = c->dst = c->pipe_r = c->pipe_w = -1;
  c->cap = (size_t)buffer_size;
  c->idle_ms = (uint64_t)idle_ms;
  rc = 0;
  if ((c->src = fcntl((int)from, F_DUPFD_CLOEXEC, 0)) < 0 || (c->dst = fcntl((int)to, F_DUPFD_CLOEXEC, 0)) < 0) {
    rc = -errno;
  } else {
    if (use_splice) rc = open_pipe(c);
    if (rc == 1) rc = 0; /* no pipe of that size: read/write instead */
    if (rc == 0 && c->pipe_r < 0 && (c->buf = malloc(c->cap)) == NULL) rc = -ENOMEM;
  }
  if (rc == 0) {
    c->src_socket = is_socket(c->src);
    c->dst_socket = is_socket(c->dst);
    /* uv_poll_init fails only for descriptors epoll refuses (regular files): say so, not abort. */
    rc = uv_poll_init(loop, &c->src_poll, c->src);
    if (rc == 0) {
      rc = uv_poll_init(loop, &c->dst_poll, c->dst);
      if (rc != 0) {
        free(c->buf);
        c->buf = NULL;
        c->open_handles = 1;
        c->unwrapped = 1;
        c->src_poll.data = c;
        uv_close((uv_handle_t*)&c->src_poll, on_handle_closed);
        return int_result(env, rc);
      }
    }
  }
  if (rc != 0) {
    close_fd(&c->src);
    close_fd(&c->dst);
    close_fd(&c->pipe_r);
    close_fd(&c->pipe_w);
    free(c->buf);
    free(c);
    return int_result(env, rc);
  }
  uv_timer_init(loop, &c->idle_timer);
  c->src_poll.data = c->dst_poll.data = c->idle_timer.data = c;
  c->open_handles = 3;

  if (napi_create_object(env, &handle) != napi_ok || napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, "FastCopy", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, resource, name, &c->async) != napi_ok) {
    c->unwrapped = c->js_dropped = 1;
    release(c);
    return NULL;
  }
  napi_create_reference(env, argv[5], 1, &c->callback);
  napi_create_reference(env, handle, 1, &c->self);
  napi_add_async_cleanup_hook(env, on_env_teardown, c, &c->cleanup);
  if (napi_wrap(env, handle, c, finalize_copy, NULL, NULL) != napi_ok) {
    c->unwrapped = 1;
    release(c);
    drop_js(c);
    return NULL;
  }
  if (c->idle_ms) {
    progress(c);
    uv_timer_start(&c->idle_timer, on_idle_timer, c->idle_ms, 0);
  }
  watch_source(c);
  return handle;
}

/*
 * stop(handle): ends a running copy at once, without calling onDone, and returns
 * { outcome: 'stopped', ..., unwritten } (what was read and not yet written); undefined when the
 * copy had already ended.
 */
static napi_value fast_copy_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1], undefined;
  size_t argc = 1;
  void* data = NULL;
  NAPI_OR_NULL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_OR_NULL(napi_get_undefined(env, &undefined));
  if (napi_unwrap(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_value ignored;
    bool pending_exception;
    napi_is_exception_pending(env, &pending_exception);
    if (pending_exception) napi_get_and_clear_last_exception(env, &ignored);
    napi_throw_type_error(env, NULL, "handle must come from start");
    return NULL;
  }
  copy_t* c = data;
  if (c->state != RUNNING) return undefined;
  napi_value result = result_object(env, c, "stopped", 0, NULL, NULL);
  release(c);
  drop_js(c);
  return result;
}

/*
 * activity(handle): reads + writes so far, a count that grows whenever bytes moved (an idle timer
 * spanning several copies polls it); -1 once the copy has ended.
 */
static napi_value fast_copy_activity(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  void* data = NULL;
  NAPI_OR_NULL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_unwrap(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_value ignored;
    bool pending_exception;
    napi_is_exception_pending(env, &pending_exception);
    if (pending_exception) napi_get_and_clear_last_exception(env, &ignored);
    napi_throw_type_error(env, NULL, "handle must come from start");
    return NULL;
  }
  copy_t* c = data;
  return number(env, c->state == RUNNING ? c->reads + c->writes : -1);
}

NAPI_MODULE_INIT() {
  napi_value fn;
  NAPI_OR_NULL(napi_create_function(env, "activity", NAPI_AUTO_LENGTH, fast_copy_activity, NULL, &fn));
  NAPI_OR_NULL(napi_set_named_property(env, exports, "activity", fn));
  NAPI_OR_NULL(napi_create_function(env, "socketError", NAPI_AUTO_LENGTH, fast_copy_socket_error, NULL, &fn));
  NAPI_OR_NULL(napi_set_named_property(env, exports, "socketError", fn));
  NAPI_OR_NULL(napi_create_function(env, "start", NAPI_AUTO_LENGTH, fast_copy_start, NULL, &fn));
  NAPI_OR_NULL(napi_set_named_property(env, exports, "start", fn));
  NAPI_OR_NULL(napi_create_function(env, "stop", NAPI_AUTO_LENGTH, fast_copy_stop, NULL, &fn));
  NAPI_OR_NULL(napi_set_named_property(env, exports, "stop", fn));
  return exports;
}
