/*
 * Hyper-V sockets (AF_HYPERV) for Node.js on Windows: the Windows half of the @flow/hvsock
 * addon, N-API only, in C. binding.gyp compiles this file instead of vsock.c on Windows, so on
 * Windows the module's exports are the hv* functions below (src/hyperv/binding.ts is their
 * TypeScript shape).
 *
 * Event model. Every operation that waits (accept, connect, recv, send) is overlapped I/O on a
 * socket created with WSA_FLAG_OVERLAPPED and associated with one I/O completion port per Node
 * environment. One native thread per environment waits on that port and hands each finished
 * operation to the main thread through a thread-safe function; the main thread reads the result
 * and calls the operation's JS callback. Nothing ever blocks the main thread, and no thread other
 * than the main thread touches JS values or socket state.
 *
 * Why not blocking calls on napi_async_work threads (the shape ocaml-hvsock uses with
 * Lwt_preemptive)? Those threads are libuv's pool, four threads by default and shared with fs,
 * dns and zlib. A Hyper-V connection keeps a receive pending for as long as it is idle, and a
 * listener keeps an accept pending, so four idle connections would take the whole pool and every
 * other pool user (including the next send) would wait forever. Lwt_preemptive's pool is far
 * larger, which is why the OCaml code got away with it. A blocking call is also hard to cancel
 * from close() without racing against the handle being reused. Overlapped I/O with a completion
 * port, which microsoft/go-winio (hvsock.go) and microsoft/WSL (hvsocket.cpp) use on AF_HYPERV,
 * has neither problem, and needs no readiness polling (whether libuv's AFD polling works for
 * AF_HYPERV is unknown).
 *
 * Conventions of the JS API:
 * - A socket is an opaque wrapped object, never a raw SOCKET, so that a closed handle cannot be
 *   confused with a later socket that Windows gives the same value.
 * - Synchronous calls return 0 (or a value) on success and -(WSA error code) on failure.
 * - hvAccept, hvConnect, hvRecv and hvSend return 0 when the operation started; then their
 *   callback runs exactly once, later, on the main thread. A negative return means it did not
 *   start and the callback never runs.
 * - Callbacks get (result, ...): a byte count, 0, or -(WSA error code). After hvClose, pending
 *   operations end with -995 (WSA_OPERATION_ABORTED).
 * - Buffers handed to hvRecv/hvSend are referenced until their callback has run; do not detach
 *   or transfer their ArrayBuffers meanwhile (the kernel writes into / reads from them).
 * - Bad arguments (a wrong type, an empty receive buffer) throw a TypeError or RangeError.
 */
#ifdef _WIN32

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <mswsock.h>
#include <windows.h>
/* Last: hvsocket.h pulls in initguid.h, which makes DEFINE_GUID define storage. */
#include <hvsocket.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#ifdef _MSC_VER
/* Winsock lives in ws2_32; linking it here keeps the build independent of binding.gyp. */
#pragma comment(lib, "ws2_32.lib")
#endif

/* Neither mingw-w64's headers nor older SDKs define the family (newer SDKs have it in ws2def.h). */
#ifndef AF_HYPERV
#define AF_HYPERV 34
#endif
#ifndef HV_PROTOCOL_RAW
#define HV_PROTOCOL_RAW 1
#endif
#ifndef HVSOCKET_CONNECT_TIMEOUT
#define HVSOCKET_CONNECT_TIMEOUT 0x01
#endif
#ifndef HVSOCKET_CONNECT_TIMEOUT_MAX
#define HVSOCKET_CONNECT_TIMEOUT_MAX 300000
#endif
#ifndef HVSOCKET_CONNECTED_SUSPEND
#define HVSOCKET_CONNECTED_SUSPEND 0x04
#endif
#ifndef WSA_FLAG_NO_HANDLE_INHERIT
#define WSA_FLAG_NO_HANDLE_INHERIT 0x80
#endif

#define HV_GUID_BYTES 16
/* AcceptEx wants room for each address plus 16 bytes. */
#define HV_ACCEPT_ADDRESS_LENGTH ((DWORD)(sizeof(SOCKADDR_HV) + 16))
/* More buffers than anyone gathers in one send; a bound, so a bad caller cannot make us allocate without end. */
#define HV_MAX_SEND_BUFFERS 1024
/* The completion key that tells the completion thread to stop; sockets use key 0. */
#define HV_KEY_QUIT ((ULONG_PTR)1)
#define HV_SOCKET_MAGIC 0x4b534856u /* "HVSK" */

typedef struct hv_env hv_env;
typedef struct hv_socket hv_socket;
typedef struct hv_op hv_op;

/* One per Node environment (main thread or worker). Freed when the environment has gone and no socket needs it. */
struct hv_env {
  HANDLE iocp;
  HANDLE thread;
  napi_threadsafe_function tsfn;
  /* Operations started and not yet delivered; the loop is kept alive while there are any. */
  long pending_ops;
  /* Every socket struct still allocated, so that teardown can close them. */
  hv_socket* sockets;
  int tearing_down;
  int wsa_started;
  /* 1 for the module itself, plus 1 per socket struct. */
  long refs;
};

/* Main-thread state of one socket. Freed once JS dropped its handle and no operation is pending. */
struct hv_socket {
  unsigned magic;
  SOCKET s;
  hv_env* env;
  int closed;
  int bound;
  int js_alive;
  long pending;
  LPFN_ACCEPTEX accept_ex;
  LPFN_CONNECTEX connect_ex;
  LPFN_GETACCEPTEXSOCKADDRS get_accept_ex_sockaddrs;
  hv_socket* prev;
  hv_socket* next;
};

typedef enum { HV_OP_ACCEPT, HV_OP_CONNECT, HV_OP_RECV, HV_OP_SEND } hv_op_kind;

/* One overlapped operation. The OVERLAPPED must stay valid until the kernel completes it. */
struct hv_op {
  OVERLAPPED ov;
  hv_op_kind kind;
  hv_socket* sock;
  napi_ref callback;
  /* The buffer (recv) or array of buffers (send) the kernel uses, kept alive until completion. */
  napi_ref keep;
  WSABUF* bufs;
  DWORD nbufs;
  WSABUF one_buf;
  /* accept: the socket AcceptEx connects, and where it writes both addresses. */
  SOCKET accepted;
  char addresses[2 * (sizeof(SOCKADDR_HV) + 16)];
};

/* ---- small helpers ---- */

static napi_value hv_int(napi_env env, long long value) {
  napi_value v = NULL;
  napi_create_int64(env, (int64_t)value, &v);
  return v;
}

/* Throws the pending N-API failure as a JS error unless one is already pending. */
static void hv_throw_napi(napi_env env, const char* what) {
  bool pending = false;
  const napi_extended_error_info* info = NULL;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, NULL, info != NULL && info->error_message != NULL ? info->error_message : what);
}

#define HV_NAPI(env, call)            \
  do {                                \
    if ((call) != napi_ok) {          \
      hv_throw_napi((env), #call);    \
      return NULL;                    \
    }                                 \
  } while (0)

static int hv_get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    hv_throw_napi(env, "napi_get_cb_info");
    return 0;
  }
  if (argc < want) {
    napi_throw_type_error(env, NULL, "too few arguments");
    return 0;
  }
  return 1;
}

static hv_socket* hv_get_socket(napi_env env, napi_value value) {
  void* p = NULL;
  hv_socket* sock;
  if (napi_unwrap(env, value, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "not a Hyper-V socket handle");
    return NULL;
  }
  sock = (hv_socket*)p;
  if (sock->magic != HV_SOCKET_MAGIC) {
    napi_throw_type_error(env, NULL, "not a Hyper-V socket handle");
    return NULL;
  }
  return sock;
}

/* The data of a Uint8Array (Buffer included). */
static int hv_get_bytes(napi_env env, napi_value value, unsigned char** data, size_t* length) {
  bool is_typed = false;
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = NULL;
  napi_value ab;
  size_t offset = 0;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) {
    napi_throw_type_error(env, NULL, "expected a Uint8Array");
    return 0;
  }
  if (napi_get_typedarray_info(env, value, &type, &len, &ptr, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "expected a Uint8Array");
    return 0;
  }
  *data = (unsigned char*)ptr;
  *length = len;
  return 1;
}

static int hv_get_guid(napi_env env, napi_value value, GUID* out) {
  unsigned char* data = NULL;
  size_t len = 0;
  if (!hv_get_bytes(env, value, &data, &len)) return 0;
  if (len != HV_GUID_BYTES) {
    napi_throw_range_error(env, NULL, "a GUID is 16 bytes (the Windows GUID layout)");
    return 0;
  }
  /* Windows is little-endian on every architecture, so the struct's bytes are the layout bytes. */
  memcpy(out, data, HV_GUID_BYTES);
  return 1;
}

static napi_value hv_guid_value(napi_env env, const GUID* guid) {
  napi_value buffer = NULL;
  void* data = NULL;
  if (napi_create_buffer_copy(env, HV_GUID_BYTES, guid, &data, &buffer) != napi_ok) return NULL;
  return buffer;
}

static void hv_sockaddr(SOCKADDR_HV* addr, const GUID* vm_id, const GUID* service_id) {
  memset(addr, 0, sizeof(*addr));
  addr->Family = AF_HYPERV;
  if (vm_id != NULL) addr->VmId = *vm_id;
  if (service_id != NULL) addr->ServiceId = *service_id;
}

/* ---- lifetimes ---- */

static void hv_env_release(hv_env* e) {
  if (--e->refs > 0) return;
  free(e);
}

static void hv_socket_maybe_free(hv_socket* sock) {
  hv_env* e;
  if (sock->js_alive || sock->pending > 0) return;
  e = sock->env;
  if (!sock->closed) {
    closesocket(sock->s);
    sock->closed = 1;
  }
  if (sock->prev != NULL) sock->prev->next = sock->next;
  else e->sockets = sock->next;
  if (sock->next != NULL) sock->next->prev = sock->prev;
  sock->magic = 0;
  free(sock);
  hv_env_release(e);
}

/* The JS handle was collected: a socket nobody closed is closed now, so it cannot leak. */
static void hv_socket_finalize(napi_env env, void* data, void* hint) {
  hv_socket* sock = (hv_socket*)data;
  (void)env;
  (void)hint;
  sock->js_alive = 0;
  if (!sock->closed) {
    /* Cancels anything still pending, so that the struct can go once those complete. */
    sock->closed = 1;
    closesocket(sock->s);
  }
  hv_socket_maybe_free(sock);
}

/*
 * Wraps a new SOCKET (already on the completion port) into a JS handle that owns it. On failure
 * the socket is closed and NULL returned with *error set; nothing is thrown, because this also
 * runs inside completion callbacks.
 */
static napi_value hv_socket_wrap(napi_env env, hv_env* e, SOCKET s, int* error) {
  napi_value handle = NULL;
  hv_socket* sock = (hv_socket*)calloc(1, sizeof(hv_socket));
  if (sock == NULL) {
    closesocket(s);
    *error = WSAENOBUFS;
    return NULL;
  }
  sock->magic = HV_SOCKET_MAGIC;
  sock->s = s;
  sock->env = e;
  sock->js_alive = 1;
  sock->next = e->sockets;
  if (e->sockets != NULL) e->sockets->prev = sock;
  e->sockets = sock;
  e->refs++;
  if (napi_create_object(env, &handle) != napi_ok || napi_wrap(env, handle, sock, hv_socket_finalize, NULL, NULL) != napi_ok) {
    /* Not wrapped, so no finalizer will run: free it here (which closes the socket). */
    sock->js_alive = 0;
    hv_socket_maybe_free(sock);
    *error = WSAENOBUFS;
    return NULL;
  }
  return handle;
}

/* A new overlapped-capable AF_HYPERV socket on the completion port, or INVALID_SOCKET with *error set. */
static SOCKET hv_new_socket(hv_env* e, int* error) {
  /* Not inherited by child processes (libuv's spawn inherits every inheritable handle). */
  SOCKET s = WSASocketW(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) {
    /* A provider that does not take the flag: the same without it, then the handle flag by hand. */
    s = WSASocketW(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s != INVALID_SOCKET) SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
  }
  if (s == INVALID_SOCKET) {
    *error = WSAGetLastError();
    return INVALID_SOCKET;
  }
  if (CreateIoCompletionPort((HANDLE)s, e->iocp, 0, 0) == NULL) {
    *error = (int)GetLastError();
    closesocket(s);
    return INVALID_SOCKET;
  }
  return s;
}

static int hv_extension(SOCKET s, GUID id, void* fn, size_t fn_size) {
  DWORD bytes = 0;
  if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof(id), fn, (DWORD)fn_size, &bytes, NULL, NULL) != 0) {
    return WSAGetLastError();
  }
  return 0;
}

/* ---- operations: start on the main thread, finish in hv_call_js ---- */

static hv_op* hv_op_new(napi_env env, hv_socket* sock, hv_op_kind kind, napi_value callback, napi_value keep) {
  napi_valuetype type;
  hv_op* op;
  if (napi_typeof(env, callback, &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "expected a callback function");
    return NULL;
  }
  op = (hv_op*)calloc(1, sizeof(hv_op));
  if (op == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  op->kind = kind;
  op->sock = sock;
  op->accepted = INVALID_SOCKET;
  if (napi_create_reference(env, callback, 1, &op->callback) != napi_ok ||
      (keep != NULL && napi_create_reference(env, keep, 1, &op->keep) != napi_ok)) {
    if (op->callback != NULL) napi_delete_reference(env, op->callback);
    free(op);
    hv_throw_napi(env, "napi_create_reference");
    return NULL;
  }
  return op;
}

/* Frees what the operation holds. Only on the main thread with a live env (references). */
static void hv_op_free(napi_env env, hv_op* op) {
  if (op->callback != NULL) napi_delete_reference(env, op->callback);
  if (op->keep != NULL) napi_delete_reference(env, op->keep);
  if (op->accepted != INVALID_SOCKET) closesocket(op->accepted);
  if (op->bufs != NULL && op->bufs != &op->one_buf) free(op->bufs);
  free(op);
}

/* The operation is in the kernel's hands: count it, and keep the loop alive while any is. */
static void hv_op_started(napi_env env, hv_op* op) {
  hv_env* e = op->sock->env;
  op->sock->pending++;
  if (e->pending_ops++ == 0) napi_ref_threadsafe_function(env, e->tsfn);
}

/* Starting failed: nothing reaches the completion port, so the operation is undone here. */
static napi_value hv_op_failed(napi_env env, hv_op* op, int error) {
  hv_op_free(env, op);
  return hv_int(env, -(long long)error);
}

static napi_value hv_accept(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  hv_socket* sock;
  hv_op* op;
  DWORD received = 0;
  int error = 0;
  if (!hv_get_args(env, info, 2, argv)) return NULL;
  if ((sock = hv_get_socket(env, argv[0])) == NULL) return NULL;
  if ((op = hv_op_new(env, sock, HV_OP_ACCEPT, argv[1], NULL)) == NULL) return NULL;
  if (sock->closed) return hv_op_failed(env, op, WSAENOTSOCK);
  if (sock->accept_ex == NULL) {
    GUID accept_id = WSAID_ACCEPTEX;
    GUID addrs_id = WSAID_GETACCEPTEXSOCKADDRS;
    if ((error = hv_extension(sock->s, accept_id, &sock->accept_ex, sizeof(sock->accept_ex))) != 0 ||
        (error = hv_extension(sock->s, addrs_id, &sock->get_accept_ex_sockaddrs, sizeof(sock->get_accept_ex_sockaddrs))) != 0) {
      sock->accept_ex = NULL;
      return hv_op_failed(env, op, error);
    }
  }
  op->accepted = hv_new_socket(sock->env, &error);
  if (op->accepted == INVALID_SOCKET) return hv_op_failed(env, op, error);
  /* Receive no data with the connection: complete as soon as a peer connects. */
  if (!sock->accept_ex(sock->s, op->accepted, op->addresses, 0, HV_ACCEPT_ADDRESS_LENGTH, HV_ACCEPT_ADDRESS_LENGTH,
                       &received, &op->ov)) {
    error = WSAGetLastError();
    if (error != ERROR_IO_PENDING) return hv_op_failed(env, op, error);
  }
  hv_op_started(env, op);
  return hv_int(env, 0);
}

/*
 * ConnectEx, not a blocking connect(): it runs on the completion port like every other
 * operation, so close() can cancel it. ConnectEx needs a bound socket, so an unbound one is
 * bound to the wildcard address first, as microsoft/WSL's hvsocket.cpp does; afterwards
 * SO_UPDATE_CONNECT_CONTEXT makes shutdown() and getpeername() work (microsoft/go-winio
 * hvsock.go: "so shutdown can be used").
 */
static napi_value hv_connect(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  hv_socket* sock;
  hv_op* op;
  GUID vm_id, service_id;
  SOCKADDR_HV addr;
  int error = 0;
  if (!hv_get_args(env, info, 4, argv)) return NULL;
  if ((sock = hv_get_socket(env, argv[0])) == NULL) return NULL;
  if (!hv_get_guid(env, argv[1], &vm_id) || !hv_get_guid(env, argv[2], &service_id)) return NULL;
  if ((op = hv_op_new(env, sock, HV_OP_CONNECT, argv[3], NULL)) == NULL) return NULL;
  if (sock->closed) return hv_op_failed(env, op, WSAENOTSOCK);
  if (sock->connect_ex == NULL) {
    GUID connect_id = WSAID_CONNECTEX;
    if ((error = hv_extension(sock->s, connect_id, &sock->connect_ex, sizeof(sock->connect_ex))) != 0) {
      sock->connect_ex = NULL;
      return hv_op_failed(env, op, error);
    }
  }
  if (!sock->bound) {
    SOCKADDR_HV wildcard;
    hv_sockaddr(&wildcard, NULL, NULL);
    if (bind(sock->s, (const struct sockaddr*)&wildcard, (int)sizeof(wildcard)) != 0) {
      return hv_op_failed(env, op, WSAGetLastError());
    }
    sock->bound = 1;
  }
  hv_sockaddr(&addr, &vm_id, &service_id);
  if (!sock->connect_ex(sock->s, (const struct sockaddr*)&addr, (int)sizeof(addr), NULL, 0, NULL, &op->ov)) {
    error = WSAGetLastError();
    if (error != ERROR_IO_PENDING) return hv_op_failed(env, op, error);
  }
  hv_op_started(env, op);
  return hv_int(env, 0);
}

static napi_value hv_recv(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  hv_socket* sock;
  hv_op* op;
  unsigned char* data = NULL;
  size_t length = 0;
  DWORD flags = 0;
  if (!hv_get_args(env, info, 3, argv)) return NULL;
  if ((sock = hv_get_socket(env, argv[0])) == NULL) return NULL;
  if (!hv_get_bytes(env, argv[1], &data, &length)) return NULL;
  /* A zero-byte receive would complete with 0, which means end of stream. */
  if (length == 0) {
    napi_throw_range_error(env, NULL, "hvRecv needs a buffer of at least one byte");
    return NULL;
  }
  if ((op = hv_op_new(env, sock, HV_OP_RECV, argv[2], argv[1])) == NULL) return NULL;
  if (sock->closed) return hv_op_failed(env, op, WSAENOTSOCK);
  op->one_buf.buf = (CHAR*)data;
  op->one_buf.len = length > (size_t)INT_MAX ? (ULONG)INT_MAX : (ULONG)length;
  op->bufs = &op->one_buf;
  op->nbufs = 1;
  /* Success or pending, the result arrives through the completion port (no skip-on-success mode). */
  if (WSARecv(sock->s, op->bufs, op->nbufs, NULL, &flags, &op->ov, NULL) != 0) {
    int error = WSAGetLastError();
    if (error != WSA_IO_PENDING) return hv_op_failed(env, op, error);
  }
  hv_op_started(env, op);
  return hv_int(env, 0);
}

static napi_value hv_send(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  napi_value kept = NULL;
  hv_socket* sock;
  hv_op* op;
  bool is_array = false;
  uint32_t count = 0, i;
  size_t total = 0;
  WSABUF* bufs;
  if (!hv_get_args(env, info, 3, argv)) return NULL;
  if ((sock = hv_get_socket(env, argv[0])) == NULL) return NULL;
  HV_NAPI(env, napi_is_array(env, argv[1], &is_array));
  if (!is_array) {
    napi_throw_type_error(env, NULL, "hvSend expects an array of Uint8Array");
    return NULL;
  }
  HV_NAPI(env, napi_get_array_length(env, argv[1], &count));
  if (count == 0 || count > HV_MAX_SEND_BUFFERS) {
    napi_throw_range_error(env, NULL, "hvSend takes 1 to 1024 buffers");
    return NULL;
  }
  bufs = (WSABUF*)calloc(count, sizeof(WSABUF));
  if (bufs == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  /* A private copy of the array: the caller may change its own array, not what the kernel reads. */
  if (napi_create_array_with_length(env, count, &kept) != napi_ok) {
    free(bufs);
    hv_throw_napi(env, "napi_create_array_with_length");
    return NULL;
  }
  for (i = 0; i < count; i++) {
    napi_value item;
    unsigned char* data = NULL;
    size_t length = 0;
    if (napi_get_element(env, argv[1], i, &item) != napi_ok || !hv_get_bytes(env, item, &data, &length) ||
        napi_set_element(env, kept, i, item) != napi_ok) {
      free(bufs);
      hv_throw_napi(env, "hvSend buffers");
      return NULL;
    }
    total += length;
    if (total > (size_t)INT_MAX) {
      free(bufs);
      napi_throw_range_error(env, NULL, "hvSend takes at most 2^31-1 bytes at once");
      return NULL;
    }
    bufs[i].buf = (CHAR*)data;
    bufs[i].len = (ULONG)length;
  }
  if ((op = hv_op_new(env, sock, HV_OP_SEND, argv[2], kept)) == NULL) {
    free(bufs);
    return NULL;
  }
  op->bufs = bufs;
  op->nbufs = count;
  if (sock->closed) return hv_op_failed(env, op, WSAENOTSOCK);
  if (WSASend(sock->s, op->bufs, op->nbufs, NULL, 0, &op->ov, NULL) != 0) {
    int error = WSAGetLastError();
    if (error != WSA_IO_PENDING) return hv_op_failed(env, op, error);
  }
  hv_op_started(env, op);
  return hv_int(env, 0);
}

/* After AcceptEx: make the new socket a full socket, and read the peer's address. */
static napi_value hv_finish_accept(napi_env env, hv_op* op, napi_value* vm_id, napi_value* service_id, int* error) {
  hv_socket* listener = op->sock;
  struct sockaddr* local = NULL;
  struct sockaddr* remote = NULL;
  INT local_length = 0, remote_length = 0;
  SOCKET s = op->accepted;
  if (setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (const char*)&listener->s, (int)sizeof(listener->s)) != 0) {
    *error = WSAGetLastError();
    return NULL;
  }
  listener->get_accept_ex_sockaddrs(op->addresses, 0, HV_ACCEPT_ADDRESS_LENGTH, HV_ACCEPT_ADDRESS_LENGTH, &local, &local_length,
                                    &remote, &remote_length);
  if (remote != NULL && remote_length >= (INT)sizeof(SOCKADDR_HV)) {
    *vm_id = hv_guid_value(env, &((SOCKADDR_HV*)remote)->VmId);
    *service_id = hv_guid_value(env, &((SOCKADDR_HV*)remote)->ServiceId);
  } else {
    /* The connection is good even when the peer's address is not told: report zero GUIDs. */
    GUID zero;
    memset(&zero, 0, sizeof(zero));
    *vm_id = hv_guid_value(env, &zero);
    *service_id = hv_guid_value(env, &zero);
  }
  if (*vm_id == NULL || *service_id == NULL) {
    *error = WSAENOBUFS;
    return NULL;
  }
  /* From here on the handle owns the socket (or hv_socket_wrap closed it). */
  op->accepted = INVALID_SOCKET;
  return hv_socket_wrap(env, listener->env, s, error);
}

/* Runs on the main thread for each finished operation (or with env NULL when the environment is going away). */
static void hv_call_js(napi_env env, napi_value unused, void* context, void* data) {
  hv_env* e = (hv_env*)context;
  hv_op* op = (hv_op*)data;
  hv_socket* sock = op->sock;
  napi_handle_scope scope = NULL;
  napi_value callback = NULL, global = NULL;
  napi_value argv[4] = {NULL, NULL, NULL, NULL};
  size_t argc = 1;
  long long result = 0;
  (void)unused;
  if (env == NULL) {
    /* The thread-safe function is being torn down: no JS any more, and references cannot be
       deleted without an env. The I/O itself has completed, so the memory may go; the socket
       struct is left to its finalizer. */
    if (op->accepted != INVALID_SOCKET) closesocket(op->accepted);
    if (op->bufs != NULL && op->bufs != &op->one_buf) free(op->bufs);
    free(op);
    return;
  }
  sock->pending--;
  if (--e->pending_ops == 0 && !e->tearing_down) napi_unref_threadsafe_function(env, e->tsfn);
  if (e->tearing_down) {
    hv_op_free(env, op);
    hv_socket_maybe_free(sock);
    return;
  }
  if (napi_open_handle_scope(env, &scope) != napi_ok) scope = NULL;

  if (sock->closed) {
    /* closesocket cancelled it; the handle may already belong to another socket, so it is not asked. */
    result = -(long long)WSA_OPERATION_ABORTED;
  } else {
    DWORD bytes = 0, flags = 0;
    if (WSAGetOverlappedResult(sock->s, &op->ov, &bytes, FALSE, &flags)) {
      result = (long long)bytes;
    } else {
      result = -(long long)WSAGetLastError();
    }
  }
  if (result >= 0 && op->kind == HV_OP_CONNECT) {
    result = 0;
    if (setsockopt(sock->s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0) result = -(long long)WSAGetLastError();
  }
  if (result >= 0 && op->kind == HV_OP_ACCEPT) {
    int error = 0;
    napi_value handle = hv_finish_accept(env, op, &argv[2], &argv[3], &error);
    if (handle == NULL) {
      result = -(long long)(error != 0 ? error : WSAENOBUFS);
    } else {
      result = 0;
      argv[1] = handle;
      argc = 4;
    }
  }
  argv[0] = hv_int(env, result);
  if (result < 0) argc = 1;

  /* The references go before the call: a throwing callback must not leak them. */
  if (napi_get_reference_value(env, op->callback, &callback) != napi_ok) callback = NULL;
  hv_op_free(env, op);
  hv_socket_maybe_free(sock);
  if (callback != NULL && napi_get_global(env, &global) == napi_ok) {
    /* An exception thrown by the callback stays pending; Node reports it as uncaught. */
    napi_call_function(env, global, callback, argc, argv, NULL);
  }
  if (scope != NULL) napi_close_handle_scope(env, scope);
}

/* The completion thread: waits on the port and passes each finished operation to the main thread. */
static DWORD WINAPI hv_completion_thread(LPVOID arg) {
  hv_env* e = (hv_env*)arg;
  for (;;) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* ov = NULL;
    BOOL ok = GetQueuedCompletionStatus(e->iocp, &bytes, &key, &ov, INFINITE);
    if (ov == NULL) {
      /* No packet: the port itself failed, or teardown asked us to stop. */
      if (!ok || key == HV_KEY_QUIT) break;
      continue;
    }
    /* A failed operation comes back with ok == FALSE; its error is read on the main thread. */
    if (napi_call_threadsafe_function(e->tsfn, CONTAINING_RECORD(ov, hv_op, ov), napi_tsfn_blocking) != napi_ok) {
      /* Only during teardown; the operation is leaked rather than freed off the main thread. */
      continue;
    }
  }
  return 0;
}

/* ---- synchronous calls ---- */

static napi_value hv_socket_new(napi_env env, napi_callback_info info) {
  hv_env* e = NULL;
  int error = 0;
  SOCKET s;
  napi_value handle;
  HV_NAPI(env, napi_get_cb_info(env, info, NULL, NULL, NULL, (void**)&e));
  s = hv_new_socket(e, &error);
  if (s == INVALID_SOCKET) return hv_int(env, -(long long)error);
  handle = hv_socket_wrap(env, e, s, &error);
  return handle != NULL ? handle : hv_int(env, -(long long)error);
}

static napi_value hv_set_option(napi_env env, napi_callback_info info, int option, ULONG max) {
  napi_value argv[2];
  hv_socket* sock;
  uint32_t value = 0;
  ULONG v;
  if (!hv_get_args(env, info, 2, argv)) return NULL;
  if ((sock = hv_get_socket(env, argv[0])) == NULL) return NULL;
  if (napi_get_value_uint32(env, argv[1], &value) != napi_ok || value > max) {
    napi_throw_range_error(env, NULL, "option value out of range");
    return NULL;
  }
  if (sock->closed) return hv_int(env, -WSAENOTSOCK);
  v = (ULONG)value;
  if (setsockopt(sock->s, HV_PROTOCOL_RAW, option, (const char*)&v, (int)sizeof(v)) != 0) {
    return hv_int(env, -(long long)WSAGetLastError());
  }
  return hv_int(env, 0);
}

/* HVSOCKET_CONNECT_TIMEOUT in ms, at most HVSOCKET_CONNECT_TIMEOUT_MAX (5 minutes). */
static napi_value hv_set_connect_timeout(napi_env env, napi_callback_info info) {
  return hv_set_option(env, info, HVSOCKET_CONNECT_TIMEOUT, HVSOCKET_CONNECT_TIMEOUT_MAX);
}

/* HVSOCKET_CONNECTED_SUSPEND: 1 keeps the connection across a VM pause. */
static napi_value hv_set_connected_suspend(napi_env env, napi_callback_info info) {
  return hv_set_option(env, info, HVSOCKET_CONNECTED_SUSPEND, 1);
}

static napi_value hv_bind(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  hv_socket* sock;
  GUID vm_id, service_id;
  SOCKADDR_HV addr;
  if (!hv_get_args(env, info, 3, argv)) return NULL;
  if ((sock = hv_get_socket(env, argv[0])) == NULL) return NULL;
  if (!hv_get_guid(env, argv[1], &vm_id) || !hv_get_guid(env, argv[2], &service_id)) return NULL;
  if (sock->closed) return hv_int(env, -WSAENOTSOCK);
  hv_sockaddr(&addr, &vm_id, &service_id);
  if (bind(sock->s, (const struct sockaddr*)&addr, (int)sizeof(addr)) != 0) return hv_int(env, -(long long)WSAGetLastError());
  sock->bound = 1;
  return hv_int(env, 0);
}

static napi_value hv_listen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  hv_socket* sock;
  int32_t backlog = 0;
  if (!hv_get_args(env, info, 2, argv)) return NULL;
  if ((sock = hv_get_socket(env, argv[0])) == NULL) return NULL;
  if (napi_get_value_int32(env, argv[1], &backlog) != napi_ok || backlog < 1) {
    napi_throw_range_error(env, NULL, "backlog must be an integer >= 1");
    return NULL;
  }
  if (sock->closed) return hv_int(env, -WSAENOTSOCK);
  if (listen(sock->s, backlog) != 0) return hv_int(env, -(long long)WSAGetLastError());
  return hv_int(env, 0);
}

/* how: 0 SD_RECEIVE, 1 SD_SEND, 2 SD_BOTH. */
static napi_value hv_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  hv_socket* sock;
  int32_t how = 0;
  if (!hv_get_args(env, info, 2, argv)) return NULL;
  if ((sock = hv_get_socket(env, argv[0])) == NULL) return NULL;
  if (napi_get_value_int32(env, argv[1], &how) != napi_ok || how < SD_RECEIVE || how > SD_BOTH) {
    napi_throw_range_error(env, NULL, "how must be 0 (receive), 1 (send) or 2 (both)");
    return NULL;
  }
  if (sock->closed) return hv_int(env, -WSAENOTSOCK);
  if (shutdown(sock->s, how) != 0) return hv_int(env, -(long long)WSAGetLastError());
  return hv_int(env, 0);
}

/* getsockname / getpeername as [vmIdBytes, serviceIdBytes], or -error. */
static napi_value hv_address(napi_env env, napi_callback_info info, int peer) {
  napi_value argv[1];
  napi_value pair = NULL, vm_id, service_id;
  hv_socket* sock;
  SOCKADDR_HV addr;
  int length = (int)sizeof(addr);
  int rc;
  if (!hv_get_args(env, info, 1, argv)) return NULL;
  if ((sock = hv_get_socket(env, argv[0])) == NULL) return NULL;
  if (sock->closed) return hv_int(env, -WSAENOTSOCK);
  memset(&addr, 0, sizeof(addr));
  rc = peer ? getpeername(sock->s, (struct sockaddr*)&addr, &length) : getsockname(sock->s, (struct sockaddr*)&addr, &length);
  if (rc != 0) return hv_int(env, -(long long)WSAGetLastError());
  if (length < (int)sizeof(addr) || addr.Family != AF_HYPERV) return hv_int(env, -WSAEAFNOSUPPORT);
  vm_id = hv_guid_value(env, &addr.VmId);
  service_id = hv_guid_value(env, &addr.ServiceId);
  if (vm_id == NULL || service_id == NULL) {
    hv_throw_napi(env, "napi_create_buffer_copy");
    return NULL;
  }
  HV_NAPI(env, napi_create_array_with_length(env, 2, &pair));
  HV_NAPI(env, napi_set_element(env, pair, 0, vm_id));
  HV_NAPI(env, napi_set_element(env, pair, 1, service_id));
  return pair;
}

static napi_value hv_local_address(napi_env env, napi_callback_info info) {
  return hv_address(env, info, 0);
}

static napi_value hv_remote_address(napi_env env, napi_callback_info info) {
  return hv_address(env, info, 1);
}

/*
 * Closes at once. closesocket cancels every pending overlapped operation on the socket; each
 * still comes back through the completion port and its callback gets -WSA_OPERATION_ABORTED.
 * Idempotent.
 */
static napi_value hv_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  hv_socket* sock;
  if (!hv_get_args(env, info, 1, argv)) return NULL;
  if ((sock = hv_get_socket(env, argv[0])) == NULL) return NULL;
  if (sock->closed) return hv_int(env, 0);
  sock->closed = 1;
  if (closesocket(sock->s) != 0) return hv_int(env, -(long long)WSAGetLastError());
  return hv_int(env, 0);
}

/* ---- module ---- */

/* Environment teardown: close every socket and stop the completion thread before the env goes. */
static void hv_env_cleanup(void* arg) {
  hv_env* e = (hv_env*)arg;
  hv_socket* sock;
  e->tearing_down = 1;
  for (sock = e->sockets; sock != NULL; sock = sock->next) {
    if (!sock->closed) {
      sock->closed = 1;
      closesocket(sock->s);
    }
  }
  if (e->thread != NULL) {
    PostQueuedCompletionStatus(e->iocp, 0, HV_KEY_QUIT, NULL);
    WaitForSingleObject(e->thread, INFINITE);
    CloseHandle(e->thread);
    e->thread = NULL;
  }
  /* Operations still queued to the main thread are freed by hv_call_js with env NULL. */
  if (e->tsfn != NULL) napi_release_threadsafe_function(e->tsfn, napi_tsfn_abort);
  /* Completions that arrive after this are dropped by Windows; their memory is leaked, never freed under the kernel. */
  if (e->iocp != NULL) CloseHandle(e->iocp);
  e->iocp = NULL;
  if (e->wsa_started) WSACleanup();
  e->wsa_started = 0;
  hv_env_release(e);
}

static napi_value hv_constants(napi_env env) {
  napi_value c = NULL;
  if (napi_create_object(env, &c) != napi_ok) return NULL;
  napi_set_named_property(env, c, "AF_HYPERV", hv_int(env, AF_HYPERV));
  napi_set_named_property(env, c, "HV_PROTOCOL_RAW", hv_int(env, HV_PROTOCOL_RAW));
  napi_set_named_property(env, c, "HVSOCKET_CONNECT_TIMEOUT_MAX", hv_int(env, HVSOCKET_CONNECT_TIMEOUT_MAX));
  napi_set_named_property(env, c, "SOCKADDR_HV_SIZE", hv_int(env, (long long)sizeof(SOCKADDR_HV)));
  napi_set_named_property(env, c, "WSA_OPERATION_ABORTED", hv_int(env, WSA_OPERATION_ABORTED));
  return c;
}

NAPI_MODULE_INIT() {
  WSADATA wsa;
  napi_value name = NULL;
  hv_env* e = (hv_env*)calloc(1, sizeof(hv_env));
  napi_property_descriptor props[] = {
      {"hvSocket", NULL, hv_socket_new, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvSetConnectTimeout", NULL, hv_set_connect_timeout, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvSetConnectedSuspend", NULL, hv_set_connected_suspend, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvBind", NULL, hv_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvListen", NULL, hv_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvAccept", NULL, hv_accept, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvConnect", NULL, hv_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvRecv", NULL, hv_recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvSend", NULL, hv_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvShutdown", NULL, hv_shutdown, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvLocalAddress", NULL, hv_local_address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvRemoteAddress", NULL, hv_remote_address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hvClose", NULL, hv_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  size_t i;
  if (e == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  e->refs = 1;
  if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
    free(e);
    napi_throw_error(env, NULL, "WSAStartup failed");
    return NULL;
  }
  e->wsa_started = 1;
  e->iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
  if (e->iocp == NULL) {
    WSACleanup();
    free(e);
    napi_throw_error(env, NULL, "CreateIoCompletionPort failed");
    return NULL;
  }
  if (napi_create_string_utf8(env, "hvsock completion", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, e, hv_call_js, &e->tsfn) != napi_ok) {
    CloseHandle(e->iocp);
    WSACleanup();
    free(e);
    hv_throw_napi(env, "napi_create_threadsafe_function");
    return NULL;
  }
  /* Idle sockets do not keep Node running; pending operations ref it (hv_op_started). */
  napi_unref_threadsafe_function(env, e->tsfn);
  e->thread = CreateThread(NULL, 0, hv_completion_thread, e, 0, NULL);
  if (e->thread == NULL) {
    napi_release_threadsafe_function(e->tsfn, napi_tsfn_abort);
    CloseHandle(e->iocp);
    WSACleanup();
    free(e);
    napi_throw_error(env, NULL, "CreateThread failed");
    return NULL;
  }
  if (napi_add_env_cleanup_hook(env, hv_env_cleanup, e) != napi_ok) {
    hv_throw_napi(env, "napi_add_env_cleanup_hook");
    return NULL;
  }
  for (i = 0; i < sizeof(props) / sizeof(props[0]); i++) props[i].data = e;
  HV_NAPI(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  HV_NAPI(env, napi_set_named_property(env, exports, "hvConstants", hv_constants(env)));
  return exports;
}

#endif /* _WIN32 */
