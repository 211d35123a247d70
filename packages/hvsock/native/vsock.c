/*
 * Linux AF_VSOCK for @flow/hvsock: thin, non-blocking system calls plus libuv readiness polling
 * on the main thread (the shape is src/native/binding.ts). Every function returns at once;
 * failures are negative errno numbers so that JavaScript can report the OS error exactly.
 * Only arguments of the wrong type or range throw (programmer errors).
 *
 * Fixes over upstream mirage/ocaml-hvsock lib/vsock_stubs.c: sockets are SOCK_NONBLOCK and
 * SOCK_CLOEXEC, svm_flags is set, CID 1 (VMADDR_CID_LOCAL) is allowed, the local CID is asked of
 * /dev/vsock (the same ioctl on a socket gives ENOTTY) and the connect timeout is applied.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/vm_sockets.h>
#include <node_api.h>
#include <uv.h>

/* Headers older than Linux 5.6 / 5.10 lack these; the values are ABI and cannot change. */
#ifndef VMADDR_CID_LOCAL
#define VMADDR_CID_LOCAL 1
#endif
#ifndef VMADDR_FLAG_TO_HOST
#define VMADDR_FLAG_TO_HOST 0x01
#define HVSOCK_NO_SVM_FLAGS 1
#endif
#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

/* Bail out of a napi_callback when a N-API call failed: its exception is already pending. */
#define NAPI_OR_NULL(call)          \
  do {                              \
    if ((call) != napi_ok) return NULL; \
  } while (0)

/* ---------------------------------------------------------------- argument helpers */

static napi_value throw_type(napi_env env, const char* message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static napi_value throw_range(napi_env env, const char* message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

/* An integer-valued Number in [min, max]; throws and returns 0 otherwise. */
static int get_integer(napi_env env, napi_value value, double min, double max, const char* name,
                       double* out) {
  napi_valuetype type;
  char message[96];
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type != napi_number) {
    snprintf(message, sizeof message, "%s must be a number", name);
    throw_type(env, message);
    return 0;
  }
  napi_get_value_double(env, value, out);
  /* In range first (NaN fails it), so that the cast to int64_t is defined. */
  if (!(*out >= min && *out <= max) || (double)(int64_t)*out != *out) {
    snprintf(message, sizeof message, "%s must be an integer from %.0f to %.0f", name, min, max);
    throw_range(env, message);
    return 0;
  }
  return 1;
}

static int get_fd(napi_env env, napi_value value, int* fd) {
  double d;
  if (!get_integer(env, value, 0, INT_MAX, "fd", &d)) return 0;
  *fd = (int)d;
  return 1;
}

static int get_u32(napi_env env, napi_value value, const char* name, uint32_t* out) {
  double d;
  if (!get_integer(env, value, 0, UINT32_MAX, name, &d)) return 0;
  *out = (uint32_t)d;
  return 1;
}

static int get_bool(napi_env env, napi_value value, const char* name, int* out) {
  bool b;
  if (napi_get_value_bool(env, value, &b) != napi_ok) {
    char message[64];
    snprintf(message, sizeof message, "%s must be a boolean", name);
    throw_type(env, message);
    return 0;
  }
  *out = b;
  return 1;
}

/* Reads exactly `want` arguments (missing ones are undefined and fail their own checks). */
static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok;
}

static napi_value int_result(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

static napi_value u32_result(napi_env env, uint32_t n) {
  napi_value v;
  napi_create_uint32(env, n, &v);
  return v;
}

static napi_value errno_result(napi_env env) { return int_result(env, -errno); }

/* [a, b] (or [a, b, c]) of u32 values: CIDs and ports are unsigned 32-bit (VMADDR_CID_ANY). */
static napi_value u32_tuple(napi_env env, const uint32_t* values, size_t count) {
  napi_value array;
  NAPI_OR_NULL(napi_create_array_with_length(env, count, &array));
  for (size_t i = 0; i < count; i++) {
    NAPI_OR_NULL(napi_set_element(env, array, (uint32_t)i, u32_result(env, values[i])));
  }
  return array;
}

static void fill_sockaddr(struct sockaddr_vm* addr, uint32_t cid, uint32_t port, uint8_t flags) {
  memset(addr, 0, sizeof *addr);
  addr->svm_family = AF_VSOCK;
  addr->svm_cid = cid;
  addr->svm_port = port;
#ifdef HVSOCK_NO_SVM_FLAGS
  /* Old headers call this byte svm_zero[0]; newer kernels read it as svm_flags. */
  ((unsigned char*)addr)[offsetof(struct sockaddr_vm, svm_cid) + sizeof addr->svm_cid] = flags;
#else
  addr->svm_flags = flags;
#endif
}

/* (fd, cid, port, flags) as taken by bind and connect. */
static int get_address_args(napi_env env, napi_callback_info info, int* fd, struct sockaddr_vm* addr) {
  napi_value argv[4];
  uint32_t cid, port, flags;
  if (!get_args(env, info, 4, argv)) return 0;
  if (!get_fd(env, argv[0], fd) || !get_u32(env, argv[1], "cid", &cid) ||
      !get_u32(env, argv[2], "port", &port) || !get_u32(env, argv[3], "flags", &flags)) {
    return 0;
  }
  if (flags > 0xff) {
    throw_range(env, "flags must fit in svm_flags (one byte)");
    return 0;
  }
  fill_sockaddr(addr, cid, port, (uint8_t)flags);
  return 1;
}

/* ---------------------------------------------------------------- sockets */

static napi_value vsock_socket(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd < 0 ? errno_result(env) : int_result(env, fd);
}

static napi_value vsock_bind(napi_env env, napi_callback_info info) {
  int fd;
  struct sockaddr_vm addr;
  if (!get_address_args(env, info, &fd, &addr)) return NULL;
  return bind(fd, (struct sockaddr*)&addr, sizeof addr) < 0 ? errno_result(env) : int_result(env, 0);
}

static napi_value vsock_connect(napi_env env, napi_callback_info info) {
  int fd;
  struct sockaddr_vm addr;
  if (!get_address_args(env, info, &fd, &addr)) return NULL;
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr) == 0) return int_result(env, 0);
  /* An interrupted connect goes on asynchronously (POSIX); retrying it would give EALREADY. */
  return int_result(env, errno == EINTR ? -EINPROGRESS : -errno);
}

static napi_value vsock_listen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  double backlog;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd) ||
      !get_integer(env, argv[1], 0, INT_MAX, "backlog", &backlog)) {
    return NULL;
  }
  return listen(fd, (int)backlog) < 0 ? errno_result(env) : int_result(env, 0);
}

static napi_value vsock_accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd, peer;
  struct sockaddr_vm addr;
  socklen_t len;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  do {
    len = sizeof addr;
    memset(&addr, 0, sizeof addr);
    peer = accept4(fd, (struct sockaddr*)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (peer < 0 && errno == EINTR);
  if (peer < 0) return errno_result(env);
  uint32_t values[3] = {(uint32_t)peer, addr.svm_cid, addr.svm_port};
  return u32_tuple(env, values, 3);
}

static napi_value vsock_socket_error(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd, error = 0;
  socklen_t len = sizeof error;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) return errno_result(env);
  return int_result(env, -error);
}

static napi_value name_of(napi_env env, napi_callback_info info, int peer) {
  napi_value argv[1];
  int fd;
  struct sockaddr_vm addr;
  socklen_t len = sizeof addr;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  memset(&addr, 0, sizeof addr);
  int rc = peer ? getpeername(fd, (struct sockaddr*)&addr, &len) : getsockname(fd, (struct sockaddr*)&addr, &len);
  if (rc < 0) return errno_result(env);
  uint32_t values[2] = {addr.svm_cid, addr.svm_port};
  return u32_tuple(env, values, 2);
}

static napi_value vsock_local_address(napi_env env, napi_callback_info info) { return name_of(env, info, 0); }
static napi_value vsock_remote_address(napi_env env, napi_callback_info info) { return name_of(env, info, 1); }

/* The bytes of a typed array (a Buffer is a Uint8Array). */
static int get_bytes(napi_env env, napi_value value, const char* name, void** data, size_t* length) {
  bool is_typed;
  napi_typedarray_type type;
  size_t count, width;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok) return 0;
  if (!is_typed) {
    char message[80];
    snprintf(message, sizeof message, "%s must be a Uint8Array or Buffer", name);
    throw_type(env, message);
    return 0;
  }
  if (napi_get_typedarray_info(env, value, &type, &count, data, NULL, NULL) != napi_ok) return 0;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: width = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: width = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: width = 8; break;
    default: width = 1; break;
  }
  *length = count * width;
  return 1;
}

static napi_value vsock_read(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  void* data;
  size_t length;
  ssize_t n;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd) ||
      !get_bytes(env, argv[1], "buffer", &data, &length)) {
    return NULL;
  }
  /* 0 means end of stream: an empty buffer would make every read look like EOF. */
  if (length == 0) return throw_range(env, "read needs a non-empty buffer");
  do n = read(fd, data, length); while (n < 0 && errno == EINTR);
  return n < 0 ? errno_result(env) : int_result(env, n);
}

static napi_value vsock_writev(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  bool is_array;
  uint32_t count;
  struct iovec iov[IOV_MAX];
  struct msghdr msg;
  ssize_t n;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  NAPI_OR_NULL(napi_is_array(env, argv[1], &is_array));
  if (!is_array) return throw_type(env, "buffers must be an array of Uint8Array");
  NAPI_OR_NULL(napi_get_array_length(env, argv[1], &count));
  /* One sendmsg takes at most IOV_MAX pieces; the caller goes on from the count returned. */
  if (count > IOV_MAX) count = IOV_MAX;
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    NAPI_OR_NULL(napi_get_element(env, argv[1], i, &element));
    if (!get_bytes(env, element, "each buffer", &iov[i].iov_base, &iov[i].iov_len)) return NULL;
  }
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  do n = sendmsg(fd, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  return n < 0 ? errno_result(env) : int_result(env, n);
}

static napi_value vsock_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  double how;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd) ||
      !get_integer(env, argv[1], SHUT_RD, SHUT_RDWR, "how", &how)) {
    return NULL;
  }
  return shutdown(fd, (int)how) < 0 ? errno_result(env) : int_result(env, 0);
}

static napi_value vsock_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  /* Linux releases the descriptor even when close reports EINTR: never retry (it could close a
     descriptor that another thread has just been given). */
  if (close(fd) < 0 && errno != EINTR) return errno_result(env);
  return int_result(env, 0);
}

static napi_value vsock_local_cid(napi_env env, napi_callback_info info) {
  (void)info;
  unsigned int cid = 0;
  int fd, rc;
  do fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC); while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_result(env);
  do rc = ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid); while (rc < 0 && errno == EINTR);
  int saved = errno;
  close(fd);
  return rc < 0 ? int_result(env, -saved) : u32_result(env, cid);
}

static napi_value vsock_set_buffer_size(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  double bytes;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd) ||
      !get_integer(env, argv[1], 0, 9007199254740991.0, "bytes", &bytes)) {
    return NULL;
  }
  /* The kernel takes this option as a u64 (net/vmw_vsock/af_vsock.c). */
  uint64_t value = (uint64_t)bytes;
  return setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &value, sizeof value) < 0
             ? errno_result(env) : int_result(env, 0);
}

static napi_value vsock_buffer_size(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  int fd;
  uint64_t value = 0;
  socklen_t len = sizeof value;
  if (!get_args(env, info, 1, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  if (getsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &value, &len) < 0) return errno_result(env);
  NAPI_OR_NULL(napi_create_double(env, (double)value, &result));
  return result;
}

static napi_value vsock_set_connect_timeout(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  double ms;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd) ||
      !get_integer(env, argv[1], 0, 9007199254740991.0, "ms", &ms)) {
    return NULL;
  }
  /* The header picks the option name matching this build's struct timeval (_OLD on 64-bit). */
  uint64_t total = (uint64_t)ms;
  struct timeval tv;
  tv.tv_sec = (time_t)(total / 1000);
  tv.tv_usec = (suseconds_t)(total % 1000 * 1000);
  return setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof tv) < 0
             ? errno_result(env) : int_result(env, 0);
}

/* ---------------------------------------------------------------- readiness polling */

/*
 * A uv_poll_t plus what it needs to call JavaScript. The JS handle object wraps it until
 * pollClose, which unwraps it and stops it for good; uv_close's callback frees it. Should the JS
 * object be collected first, or the environment (a worker thread) end, the same release happens.
 * The memory is freed once both libuv (uv_closed) and the JS object (unwrapped) let go of it.
 *
 * An async cleanup hook stays registered until uv_close's callback ran: a worker that ends
 * unloads this addon, and Node waits for that hook to finish before it does, so libuv never
 * calls into unloaded code.
 */
typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int events;               /* what JS asked to be told of (UV_READABLE | UV_WRITABLE) */
  int closing;              /* released: never call back again */
  int in_callback;          /* on_poll is calling JS right now */
  int js_dropped;           /* async context and references released */
  int uv_closed;
  int unwrapped;
  napi_ref callback;
  napi_ref resource;        /* `this` of the callback and the async_hooks resource */
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup;
} poll_handle;

static void free_if_unused(poll_handle* ph) {
  if (ph->uv_closed && ph->unwrapped) free(ph);
}

static void on_uv_closed(uv_handle_t* handle) {
  poll_handle* ph = handle->data;
  ph->uv_closed = 1;
  /* Unregisters the hook, or tells Node that the teardown it started is done. */
  if (ph->cleanup != NULL) napi_remove_async_cleanup_hook(ph->cleanup);
  ph->cleanup = NULL;
  free_if_unused(ph);
}

/* Ends the async resource (async_hooks "destroy") and lets the callback be collected. */
static void drop_js(poll_handle* ph) {
  if (ph->js_dropped) return;
  ph->js_dropped = 1;
  napi_async_destroy(ph->env, ph->async);
  napi_delete_reference(ph->env, ph->callback);
  napi_delete_reference(ph->env, ph->resource);
}

/* Stops the poll for good. `may_call_js` is false while the environment is being torn down. */
static void release_poll(poll_handle* ph, int may_call_js) {
  if (ph->closing) return;
  ph->closing = 1;
  uv_poll_stop(&ph->poll);
  /* Inside the callback, its async context is still in use: on_poll drops it afterwards. */
  if (may_call_js && !ph->in_callback) drop_js(ph);
  uv_close((uv_handle_t*)&ph->poll, on_uv_closed);
}

/* The environment ends with this poll still open (or its close still pending). */
static void on_env_teardown(napi_async_cleanup_hook_handle handle, void* arg) {
  poll_handle* ph = arg;
  ph->cleanup = handle;
  release_poll(ph, 0);
}

static void finalize_poll(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  poll_handle* ph = data;
  release_poll(ph, 1);
  ph->unwrapped = 1;
  free_if_unused(ph);
}

static void on_poll(uv_poll_t* handle, int status, int events) {
  poll_handle* ph = handle->data;
  napi_env env = ph->env;
  napi_handle_scope scope;
  napi_value argv[3], callback, resource, result;
  if (ph->closing) return;

  /*
   * libuv reports POLLERR (a socket error such as ECONNRESET is pending) as UV_EBADF and stops
   * the handle. The descriptor is fine then: tell JS it is ready for what it watches, so that its
   * read, write or socketError() returns the real error, and keep watching (level-triggered).
   */
  if (status == UV_EBADF && fcntl(ph->fd, F_GETFD) != -1) {
    status = 0;
    events = ph->events;
    if (ph->events) uv_poll_start(&ph->poll, ph->events, on_poll);
  }

  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_get_boolean(env, (events & UV_READABLE) != 0, &argv[1]);
  napi_get_boolean(env, (events & UV_WRITABLE) != 0, &argv[2]);
  napi_create_int32(env, status, &argv[0]);
  napi_get_reference_value(env, ph->callback, &callback);
  napi_get_reference_value(env, ph->resource, &resource);
  ph->in_callback = 1;
  /* napi_make_callback runs queued microtasks and process.nextTick callbacks afterwards. */
  napi_status called = napi_make_callback(env, ph->async, resource, callback, 3, argv, &result);
  ph->in_callback = 0;
  if (called == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  if (ph->closing) drop_js(ph);
  napi_close_handle_scope(env, scope);
}

static napi_value vsock_poll_open(napi_env env, napi_callback_info info) {
  napi_value argv[2], handle, resource, name;
  napi_valuetype type;
  int fd;
  uv_loop_t* loop;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd)) return NULL;
  NAPI_OR_NULL(napi_typeof(env, argv[1], &type));
  if (type != napi_function) return throw_type(env, "callback must be a function");
  NAPI_OR_NULL(napi_get_uv_event_loop(env, &loop));
  NAPI_OR_NULL(napi_create_object(env, &handle));
  NAPI_OR_NULL(napi_create_object(env, &resource));
  NAPI_OR_NULL(napi_create_string_utf8(env, "HvsockPoll", NAPI_AUTO_LENGTH, &name));

  poll_handle* ph = calloc(1, sizeof *ph);
  if (ph == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory for a poll handle");
    return NULL;
  }
  int rc = uv_poll_init(loop, &ph->poll, fd);
  if (rc != 0) {
    free(ph);
    char message[96];
    snprintf(message, sizeof message, "uv_poll_init failed on fd %d: %s", fd, uv_strerror(rc));
    napi_throw_error(env, uv_err_name(rc), message);
    return NULL;
  }
  ph->poll.data = ph;
  ph->env = env;
  ph->fd = fd;
  /* A separate resource object: the async context holds it strongly, the handle must stay collectable. */
  if (napi_async_init(env, resource, name, &ph->async) != napi_ok) {
    ph->js_dropped = ph->closing = ph->unwrapped = 1;
    uv_close((uv_handle_t*)&ph->poll, on_uv_closed);
    return NULL;
  }
  napi_create_reference(env, argv[1], 1, &ph->callback);
  napi_create_reference(env, resource, 1, &ph->resource);
  napi_add_async_cleanup_hook(env, on_env_teardown, ph, &ph->cleanup);
  if (napi_wrap(env, handle, ph, finalize_poll, NULL, NULL) != napi_ok) {
    ph->unwrapped = 1;
    release_poll(ph, 1);
    return NULL;
  }
  return handle;
}

/* The live poll behind a handle object, or NULL once it was closed (or was never one). */
static poll_handle* unwrap_poll(napi_env env, napi_value handle) {
  void* data = NULL;
  if (napi_unwrap(env, handle, &data) != napi_ok) {
    /* napi_unwrap throws on objects that wrap nothing: a closed handle is not an error here. */
    napi_value ignored;
    bool pending;
    napi_is_exception_pending(env, &pending);
    if (pending) napi_get_and_clear_last_exception(env, &ignored);
    return NULL;
  }
  return data;
}

static napi_value vsock_poll_watch(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  napi_valuetype type;
  int readable, writable;
  if (!get_args(env, info, 3, argv)) return NULL;
  NAPI_OR_NULL(napi_typeof(env, argv[0], &type));
  if (type != napi_object) return throw_type(env, "handle must come from pollOpen");
  if (!get_bool(env, argv[1], "readable", &readable) || !get_bool(env, argv[2], "writable", &writable)) return NULL;
  poll_handle* ph = unwrap_poll(env, argv[0]);
  if (ph == NULL || ph->closing) return int_result(env, -EBADF);
  int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  /* libuv aborts the process when epoll refuses a descriptor: one closed already is an error here. */
  if (events != 0 && fcntl(ph->fd, F_GETFD) == -1) return errno_result(env);
  ph->events = events;
  int rc = events ? uv_poll_start(&ph->poll, events, on_poll) : uv_poll_stop(&ph->poll);
  return int_result(env, rc);
}

static napi_value vsock_poll_close(napi_env env, napi_callback_info info) {
  napi_value argv[1], undefined;
  napi_valuetype type;
  void* data = NULL;
  if (!get_args(env, info, 1, argv)) return NULL;
  NAPI_OR_NULL(napi_typeof(env, argv[0], &type));
  if (type != napi_object) return throw_type(env, "handle must come from pollOpen");
  NAPI_OR_NULL(napi_get_undefined(env, &undefined));
  poll_handle* ph = unwrap_poll(env, argv[0]);
  if (ph == NULL) return undefined; /* closed already: idempotent */
  napi_remove_wrap(env, argv[0], &data);
  release_poll(ph, 1);
  ph->unwrapped = 1;
  free_if_unused(ph);
  return undefined;
}

/* ---------------------------------------------------------------- module */

static int set_number(napi_env env, napi_value object, const char* name, double value) {
  napi_value v;
  return napi_create_double(env, value, &v) == napi_ok && napi_set_named_property(env, object, name, v) == napi_ok;
}

static napi_value make_constants(napi_env env) {
  napi_value c;
  NAPI_OR_NULL(napi_create_object(env, &c));
  if (!set_number(env, c, "AF_VSOCK", AF_VSOCK) ||
      !set_number(env, c, "VMADDR_CID_ANY", (uint32_t)VMADDR_CID_ANY) ||
      !set_number(env, c, "VMADDR_CID_HYPERVISOR", VMADDR_CID_HYPERVISOR) ||
      !set_number(env, c, "VMADDR_CID_LOCAL", VMADDR_CID_LOCAL) ||
      !set_number(env, c, "VMADDR_CID_HOST", VMADDR_CID_HOST) ||
      !set_number(env, c, "VMADDR_PORT_ANY", (uint32_t)VMADDR_PORT_ANY) ||
      !set_number(env, c, "VMADDR_FLAG_TO_HOST", VMADDR_FLAG_TO_HOST) ||
      !set_number(env, c, "SO_VM_SOCKETS_BUFFER_SIZE", SO_VM_SOCKETS_BUFFER_SIZE) ||
      !set_number(env, c, "SO_VM_SOCKETS_CONNECT_TIMEOUT", SO_VM_SOCKETS_CONNECT_TIMEOUT) ||
      !set_number(env, c, "IOCTL_VM_SOCKETS_GET_LOCAL_CID", IOCTL_VM_SOCKETS_GET_LOCAL_CID) ||
      !set_number(env, c, "SIZEOF_SOCKADDR_VM", sizeof(struct sockaddr_vm))) {
    return NULL;
  }
  NAPI_OR_NULL(napi_object_freeze(env, c));
  return c;
}

NAPI_MODULE_INIT() {
  static const struct {
    const char* name;
    napi_callback fn;
  } functions[] = {
      {"socket", vsock_socket},
      {"bind", vsock_bind},
      {"listen", vsock_listen},
      {"accept", vsock_accept},
      {"connect", vsock_connect},
      {"socketError", vsock_socket_error},
      {"localAddress", vsock_local_address},
      {"remoteAddress", vsock_remote_address},
      {"read", vsock_read},
      {"writev", vsock_writev},
      {"shutdown", vsock_shutdown},
      {"close", vsock_close},
      {"localCid", vsock_local_cid},
      {"setBufferSize", vsock_set_buffer_size},
      {"bufferSize", vsock_buffer_size},
      {"setConnectTimeout", vsock_set_connect_timeout},
      {"pollOpen", vsock_poll_open},
      {"pollWatch", vsock_poll_watch},
      {"pollClose", vsock_poll_close},
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    NAPI_OR_NULL(napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn));
    NAPI_OR_NULL(napi_set_named_property(env, exports, functions[i].name, fn));
  }
  napi_value constants = make_constants(env);
  if (constants == NULL) return NULL;
  NAPI_OR_NULL(napi_set_named_property(env, exports, "constants", constants));
  return exports;
}
