/*
 * The Linux dom0 side of Xen for @flow/xen-console: grant mapping through /dev/xen/gntdev, event
 * channels through /dev/xen/evtchn, and ordered access to a mapped page (the shape is
 * src/platform/native-binding.ts). Every call returns at once; failures of the system are
 * negative errno numbers so that JavaScript can report them exactly. Only arguments of the wrong
 * type or range, and accesses to an unmapped page or outside it, throw (programmer errors).
 *
 * Nothing links against libxengnttab or libxenevtchn: the ioctl numbers and argument layouts
 * are the Linux UAPI ones (include/uapi/xen/{gntdev,evtchn}.h, shipped by libxen-dev as
 * xen/sys/{gntdev,evtchn}.h), written out below and checked against those headers by
 * test/abi-check.test.ts.
 *
 * The page is never given to JavaScript as an ArrayBuffer: an ArrayBuffer over a mapping would
 * dangle after munmap, and a JIT may hoist or merge plain loads of memory that the guest changes
 * under us. JavaScript holds an opaque handle; each access checks the "mapped" flag and bounds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

/* ---------------------------------------------------------------- ABI (Linux UAPI) */

#define XEN_PAGE_SIZE 4096

/* include/uapi/xen/gntdev.h */
struct xen_gntdev_grant_ref {
  uint32_t domid;
  uint32_t ref;
};
struct xen_gntdev_map_grant_ref {
  uint32_t count;
  uint32_t pad;
  uint64_t index; /* out: the offset to mmap */
  struct xen_gntdev_grant_ref refs[1];
};
struct xen_gntdev_unmap_grant_ref {
  uint64_t index;
  uint32_t count;
  uint32_t pad;
};
#define XEN_IOCTL_GNTDEV_MAP_GRANT_REF _IOC(_IOC_NONE, 'G', 0, sizeof(struct xen_gntdev_map_grant_ref))
#define XEN_IOCTL_GNTDEV_UNMAP_GRANT_REF _IOC(_IOC_NONE, 'G', 1, sizeof(struct xen_gntdev_unmap_grant_ref))

/* include/uapi/xen/evtchn.h */
struct xen_evtchn_bind_interdomain {
  unsigned int remote_domain, remote_port;
};
struct xen_evtchn_bind_unbound_port {
  unsigned int remote_domain;
};
struct xen_evtchn_unbind {
  unsigned int port;
};
struct xen_evtchn_notify {
  unsigned int port;
};
#define XEN_IOCTL_EVTCHN_BIND_INTERDOMAIN _IOC(_IOC_NONE, 'E', 1, sizeof(struct xen_evtchn_bind_interdomain))
#define XEN_IOCTL_EVTCHN_BIND_UNBOUND_PORT _IOC(_IOC_NONE, 'E', 2, sizeof(struct xen_evtchn_bind_unbound_port))
#define XEN_IOCTL_EVTCHN_UNBIND _IOC(_IOC_NONE, 'E', 3, sizeof(struct xen_evtchn_unbind))
#define XEN_IOCTL_EVTCHN_NOTIFY _IOC(_IOC_NONE, 'E', 4, sizeof(struct xen_evtchn_notify))
#define XEN_IOCTL_EVTCHN_RESET _IOC(_IOC_NONE, 'E', 5, 0)

_Static_assert(sizeof(struct xen_gntdev_map_grant_ref) == 24, "ioctl_gntdev_map_grant_ref is 24 bytes");
_Static_assert(sizeof(struct xen_gntdev_unmap_grant_ref) == 16, "ioctl_gntdev_unmap_grant_ref is 16 bytes");
_Static_assert(sizeof(struct xen_evtchn_bind_interdomain) == 8, "ioctl_evtchn_bind_interdomain is 8 bytes");
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(__arm__)
/* The values of the spec (§7), on the architectures whose _IOC encoding is asm-generic's. */
_Static_assert(XEN_IOCTL_GNTDEV_MAP_GRANT_REF == 0x00184700, "IOCTL_GNTDEV_MAP_GRANT_REF");
_Static_assert(XEN_IOCTL_GNTDEV_UNMAP_GRANT_REF == 0x00104701, "IOCTL_GNTDEV_UNMAP_GRANT_REF");
_Static_assert(XEN_IOCTL_EVTCHN_BIND_INTERDOMAIN == 0x00084501, "IOCTL_EVTCHN_BIND_INTERDOMAIN");
_Static_assert(XEN_IOCTL_EVTCHN_BIND_UNBOUND_PORT == 0x00044502, "IOCTL_EVTCHN_BIND_UNBOUND_PORT");
_Static_assert(XEN_IOCTL_EVTCHN_UNBIND == 0x00044503, "IOCTL_EVTCHN_UNBIND");
_Static_assert(XEN_IOCTL_EVTCHN_NOTIFY == 0x00044504, "IOCTL_EVTCHN_NOTIFY");
_Static_assert(XEN_IOCTL_EVTCHN_RESET == 0x00004505, "IOCTL_EVTCHN_RESET");
#endif

#define GNTDEV_DEVICE "/dev/xen/gntdev"
#define EVTCHN_DEVICE "/dev/xen/evtchn"
/* domid_t is 16 bits; the ioctl fields are wider. */
#define MAX_DOMID 0xFFFF
/*
 * mmap of a grant gives EAGAIN while the granted page is paged out. libxengnttab retries every
 * millisecond without end (tools/libs/gnttab/linux.c osdep_gnttab_grant_map); we block the event
 * loop for at most this many milliseconds and then report EAGAIN (the TypeScript side may retry
 * later without blocking).
 */
#define GRANT_MAP_EAGAIN_TRIES 10
/* One read of pending ports takes at most a page of them, as the kernel does (LNX-EVT evtchn_read). */
#define PORTS_PER_READ (XEN_PAGE_SIZE / sizeof(uint32_t))
/* Reads per poll callback: the rest waits for the next loop turn (the poll is level-triggered). */
#define READS_PER_CALLBACK 16

/* Bail out of a napi_callback when a N-API call failed: its exception is already pending. */
#define NAPI_OR_NULL(call)              \
  do {                                  \
    if ((call) != napi_ok) return NULL; \
  } while (0)

/* ---------------------------------------------------------------- per-environment state */

/*
 * The devices of one Node environment (the main thread or a worker), opened on first use and
 * kept: closing /dev/xen/evtchn would unbind every port. Reference-counted: the environment,
 * each mapped grant page and each port reader hold one, so that the descriptors are closed only
 * after the last munmap / unmap ioctl and the last uv_close, whatever order teardown runs in.
 */
typedef struct port_reader port_reader;

typedef struct {
  int refs;
  int gntdev_fd; /* -1 until opened */
  int evtchn_fd;
  int grant_pages;             /* mapped grant pages (they need gntdev_fd) */
  port_reader* evtchn_reader;  /* the one poll on evtchn_fd, if any */
  char gntdev_path[PATH_MAX];
  char evtchn_path[PATH_MAX];
} xen_state;

static void close_devices(xen_state* state) {
  if (state->gntdev_fd >= 0) close(state->gntdev_fd);
  if (state->evtchn_fd >= 0) close(state->evtchn_fd);
  state->gntdev_fd = state->evtchn_fd = -1;
}

static void state_retain(xen_state* state) { state->refs++; }

static void state_release(xen_state* state) {
  if (--state->refs > 0) return;
  close_devices(state);
  free(state);
}

static void finalize_state(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  state_release(data);
}

static xen_state* get_state(napi_env env) {
  void* data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

/* The descriptor of `path` in *fd, opened now if it is not yet: 0 or -errno. */
static int open_device(const char* path, int flags, int* fd) {
  if (*fd >= 0) return 0;
  int opened;
  do opened = open(path, flags | O_CLOEXEC); while (opened < 0 && errno == EINTR);
  if (opened < 0) return -errno;
  *fd = opened;
  return 0;
}

static int open_gntdev(xen_state* state) { return open_device(state->gntdev_path, O_RDWR, &state->gntdev_fd); }

/* Non-blocking: reading pending ports must never stall the event loop. */
static int open_evtchn(xen_state* state) {
  return open_device(state->evtchn_path, O_RDWR | O_NONBLOCK, &state->evtchn_fd);
}

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
static int get_integer(napi_env env, napi_value value, double min, double max, const char* name, double* out) {
  napi_valuetype type;
  char message[112];
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

static int get_u32(napi_env env, napi_value value, const char* name, uint32_t* out) {
  double d;
  if (!get_integer(env, value, 0, UINT32_MAX, name, &d)) return 0;
  *out = (uint32_t)d;
  return 1;
}

static int get_domid(napi_env env, napi_value value, uint32_t* out) {
  double d;
  if (!get_integer(env, value, 0, MAX_DOMID, "domid", &d)) return 0;
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

static int get_function(napi_env env, napi_value value, const char* name) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type == napi_function) return 1;
  char message[64];
  snprintf(message, sizeof message, "%s must be a function", name);
  throw_type(env, message);
  return 0;
}

/* The bytes of a Uint8Array (a Buffer is one). */
static int get_uint8_array(napi_env env, napi_value value, const char* name, uint8_t** data, size_t* length) {
  bool is_typed;
  napi_typedarray_type type;
  void* bytes = NULL;
  char message[80];
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok) return 0;
  if (is_typed && napi_get_typedarray_info(env, value, &type, length, &bytes, NULL, NULL) != napi_ok) return 0;
  if (!is_typed || type != napi_uint8_array) {
    snprintf(message, sizeof message, "%s must be a Uint8Array or Buffer", name);
    throw_type(env, message);
    return 0;
  }
  *data = bytes;
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

static napi_value errno_result(napi_env env) { return int_result(env, -errno); }

static napi_value undefined_result(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* ---------------------------------------------------------------- pages */

enum page_kind { PAGE_GRANT, PAGE_ANONYMOUS };

/*
 * One 4096-byte mapping. The JavaScript handle object wraps it; unmapping clears `mapped` (every
 * later access throws) and the struct lives on until the handle is collected, so that a stale
 * handle is always safe to pass in.
 */
typedef struct {
  uint8_t* addr;
  uint64_t index; /* the gntdev offset, for the unmap ioctl */
  xen_state* state;
  enum page_kind kind;
  int mapped;
  int writable;
} xen_page;

/* Tell our handles from any other object: napi_unwrap alone would accept another addon's. */
static const napi_type_tag PAGE_TAG = {0x6a1e5c0b2f9d4e37ULL, 0xb8c3d7a4e1f20956ULL};
static const napi_type_tag READER_TAG = {0x3f7d2b914c6a8e05ULL, 0xd14e9a7c25b06f38ULL};
static const napi_type_tag STREAM_TAG = {0x81c4e26d0b9f3a57ULL, 0x5e02a7d9c61b48f3ULL};

/* munmap, then (for a grant) IOCTL_GNTDEV_UNMAP_GRANT_REF: 0 or -errno. Idempotent. */
static int unmap_page(xen_page* page) {
  if (!page->mapped) return 0;
  page->mapped = 0;
  int rc = munmap(page->addr, XEN_PAGE_SIZE) < 0 ? -errno : 0;
  page->addr = NULL;
  if (page->kind == PAGE_GRANT) {
    xen_state* state = page->state;
    struct xen_gntdev_unmap_grant_ref unmap = {.index = page->index, .count = 1, .pad = 0};
    if (ioctl(state->gntdev_fd, XEN_IOCTL_GNTDEV_UNMAP_GRANT_REF, &unmap) < 0 && rc == 0) rc = -errno;
    state->grant_pages--;
    state_release(state);
  }
  page->state = NULL;
  return rc;
}

/* A handle forgotten while mapped: the mapping goes with it (also at environment teardown). */
static void finalize_page(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  unmap_page(data);
  free(data);
}

/* A tagged handle object for `page`, which it then owns; NULL (exception pending) on failure. */
static napi_value wrap_page(napi_env env, xen_page* page) {
  napi_value handle;
  if (napi_create_object(env, &handle) != napi_ok || napi_type_tag_object(env, handle, &PAGE_TAG) != napi_ok ||
      napi_wrap(env, handle, page, finalize_page, NULL, NULL) != napi_ok) {
    unmap_page(page);
    free(page);
    return NULL;
  }
  return handle;
}

static xen_page* get_page(napi_env env, napi_value value) {
  napi_valuetype type;
  bool tagged = false;
  void* data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok) return NULL;
  if (type == napi_object && napi_check_object_type_tag(env, value, &PAGE_TAG, &tagged) != napi_ok) return NULL;
  if (!tagged) {
    throw_type(env, "page must be a handle from mapGrant or allocTestPage");
    return NULL;
  }
  if (napi_unwrap(env, value, &data) != napi_ok) return NULL;
  return data;
}

/* The page, which must still be mapped; throws otherwise. */
static xen_page* get_live_page(napi_env env, napi_value value) {
  xen_page* page = get_page(env, value);
  if (page == NULL) return NULL;
  if (!page->mapped) {
    napi_throw_error(env, "ERR_XEN_PAGE_UNMAPPED", "the page is no longer mapped");
    return NULL;
  }
  return page;
}

/* Stores through a read-only mapping would fault: refused (checked after the bounds, as the
   simulator's pages do). */
static int check_writable(napi_env env, xen_page* page) {
  if (page->writable) return 1;
  napi_throw_error(env, "ERR_XEN_PAGE_READ_ONLY", "the page is mapped read-only");
  return 0;
}

/* An aligned offset of a u32 in the page. */
static int get_index_offset(napi_env env, napi_value value, size_t* out) {
  double d;
  if (!get_integer(env, value, 0, XEN_PAGE_SIZE - sizeof(uint32_t), "offset", &d)) return 0;
  if ((int64_t)d % 4 != 0) {
    throw_range(env, "offset must be a multiple of 4 (an aligned 32-bit index)");
    return 0;
  }
  *out = (size_t)d;
  return 1;
}

static napi_value xen_map_grant(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t domid, ref;
  int writable;
  if (!get_args(env, info, 3, argv) || !get_domid(env, argv[0], &domid) || !get_u32(env, argv[1], "ref", &ref) ||
      !get_bool(env, argv[2], "writable", &writable)) {
    return NULL;
  }
  xen_state* state = get_state(env);
  int rc = open_gntdev(state);
  if (rc < 0) return int_result(env, rc);

  struct xen_gntdev_map_grant_ref map;
  memset(&map, 0, sizeof map);
  map.count = 1;
  map.refs[0].domid = domid;
  map.refs[0].ref = ref;
  if (ioctl(state->gntdev_fd, XEN_IOCTL_GNTDEV_MAP_GRANT_REF, &map) < 0) return errno_result(env);

  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* addr = MAP_FAILED;
  for (int attempt = 0; attempt < GRANT_MAP_EAGAIN_TRIES; attempt++) {
    addr = mmap(NULL, XEN_PAGE_SIZE, prot, MAP_SHARED, state->gntdev_fd, (off_t)map.index);
    if (addr != MAP_FAILED || errno != EAGAIN) break;
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  if (addr == MAP_FAILED) {
    int saved = errno;
    /* Give the slot back, as libxengnttab does on this path. */
    struct xen_gntdev_unmap_grant_ref unmap = {.index = map.index, .count = 1, .pad = 0};
    ioctl(state->gntdev_fd, XEN_IOCTL_GNTDEV_UNMAP_GRANT_REF, &unmap);
    return int_result(env, -saved);
  }

  xen_page* page = calloc(1, sizeof *page);
  if (page == NULL) {
    munmap(addr, XEN_PAGE_SIZE);
    struct xen_gntdev_unmap_grant_ref unmap = {.index = map.index, .count = 1, .pad = 0};
    ioctl(state->gntdev_fd, XEN_IOCTL_GNTDEV_UNMAP_GRANT_REF, &unmap);
    return int_result(env, -ENOMEM);
  }
  page->addr = addr;
  page->index = map.index;
  page->state = state;
  page->kind = PAGE_GRANT;
  page->mapped = 1;
  page->writable = writable;
  state_retain(state);
  state->grant_pages++;
  return wrap_page(env, page);
}

/* Test-only: a private anonymous page with the same accessors, so that the ring code and
   NativePage run natively without Xen. */
static napi_value xen_alloc_test_page(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int writable;
  if (!get_args(env, info, 1, argv) || !get_bool(env, argv[0], "writable", &writable)) return NULL;
  /* Zero-filled, and read-only when asked, as a read-only grant mapping is. */
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* addr = mmap(NULL, XEN_PAGE_SIZE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (addr == MAP_FAILED) return errno_result(env);
  xen_page* page = calloc(1, sizeof *page);
  if (page == NULL) {
    munmap(addr, XEN_PAGE_SIZE);
    return int_result(env, -ENOMEM);
  }
  page->addr = addr;
  page->kind = PAGE_ANONYMOUS;
  page->mapped = 1;
  page->writable = writable;
  return wrap_page(env, page);
}

static napi_value xen_unmap_grant(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  xen_page* page = get_page(env, argv[0]);
  if (page == NULL) return NULL;
  return int_result(env, unmap_page(page));
}

static napi_value xen_page_mapped(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  if (!get_args(env, info, 1, argv)) return NULL;
  xen_page* page = get_page(env, argv[0]);
  if (page == NULL) return NULL;
  NAPI_OR_NULL(napi_get_boolean(env, page->mapped != 0, &result));
  return result;
}

static napi_value xen_page_load_u32(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  size_t offset;
  if (!get_args(env, info, 2, argv)) return NULL;
  xen_page* page = get_live_page(env, argv[0]);
  if (page == NULL || !get_index_offset(env, argv[1], &offset)) return NULL;
  uint32_t value = __atomic_load_n((uint32_t*)(page->addr + offset), __ATOMIC_ACQUIRE);
  NAPI_OR_NULL(napi_create_uint32(env, value, &result));
  return result;
}

static napi_value xen_page_store_u32(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t offset;
  uint32_t value;
  if (!get_args(env, info, 3, argv)) return NULL;
  xen_page* page = get_live_page(env, argv[0]);
  if (page == NULL || !get_index_offset(env, argv[1], &offset) || !check_writable(env, page) ||
      !get_u32(env, argv[2], "value", &value)) {
    return NULL;
  }
  __atomic_store_n((uint32_t*)(page->addr + offset), value, __ATOMIC_RELEASE);
  return undefined_result(env);
}

/* pageRead(page, offset, length, target, targetOffset): one copy out of the page. */
static napi_value xen_page_read(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  double offset, length, target_offset;
  uint8_t* target;
  size_t target_length;
  if (!get_args(env, info, 5, argv)) return NULL;
  xen_page* page = get_live_page(env, argv[0]);
  if (page == NULL || !get_integer(env, argv[1], 0, XEN_PAGE_SIZE, "offset", &offset) ||
      !get_integer(env, argv[2], 0, XEN_PAGE_SIZE, "length", &length) ||
      !get_uint8_array(env, argv[3], "target", &target, &target_length) ||
      !get_integer(env, argv[4], 0, 9007199254740991.0, "targetOffset", &target_offset)) {
    return NULL;
  }
  if (offset + length > XEN_PAGE_SIZE) return throw_range(env, "offset + length must not pass the end of the page (4096)");
  if (target_offset + length > (double)target_length) return throw_range(env, "targetOffset + length must not pass the end of target");
  if (length > 0) memcpy(target + (size_t)target_offset, page->addr + (size_t)offset, (size_t)length);
  return undefined_result(env);
}

/* pageWrite(page, offset, source): one copy into the page. */
static napi_value xen_page_write(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  double offset;
  uint8_t* source;
  size_t length;
  if (!get_args(env, info, 3, argv)) return NULL;
  xen_page* page = get_live_page(env, argv[0]);
  if (page == NULL || !get_integer(env, argv[1], 0, XEN_PAGE_SIZE, "offset", &offset) ||
      !get_uint8_array(env, argv[2], "source", &source, &length)) {
    return NULL;
  }
  if (offset + (double)length > XEN_PAGE_SIZE) return throw_range(env, "offset + source.length must not pass the end of the page (4096)");
  if (!check_writable(env, page)) return NULL;
  if (length > 0) memcpy(page->addr + (size_t)offset, source, length);
  return undefined_result(env);
}

static napi_value xen_page_fence(napi_env env, napi_callback_info info) {
  (void)info;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return undefined_result(env);
}

/* ---------------------------------------------------------------- event channel ioctls */

/* An ioctl on /dev/xen/evtchn (opened if need be): its non-negative result or -errno. */
static napi_value evtchn_ioctl(napi_env env, unsigned long request, void* arg) {
  xen_state* state = get_state(env);
  int rc = open_evtchn(state);
  if (rc < 0) return int_result(env, rc);
  do rc = ioctl(state->evtchn_fd, request, arg); while (rc < 0 && errno == EINTR);
  return rc < 0 ? errno_result(env) : int_result(env, rc);
}

static napi_value xen_evtchn_bind_interdomain(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t domid, port;
  if (!get_args(env, info, 2, argv) || !get_domid(env, argv[0], &domid) || !get_u32(env, argv[1], "remotePort", &port)) {
    return NULL;
  }
  struct xen_evtchn_bind_interdomain bind = {.remote_domain = domid, .remote_port = port};
  return evtchn_ioctl(env, XEN_IOCTL_EVTCHN_BIND_INTERDOMAIN, &bind);
}

static napi_value xen_evtchn_bind_unbound(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t domid;
  if (!get_args(env, info, 1, argv) || !get_domid(env, argv[0], &domid)) return NULL;
  struct xen_evtchn_bind_unbound_port bind = {.remote_domain = domid};
  return evtchn_ioctl(env, XEN_IOCTL_EVTCHN_BIND_UNBOUND_PORT, &bind);
}

static napi_value xen_evtchn_notify(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t port;
  if (!get_args(env, info, 1, argv) || !get_u32(env, argv[0], "port", &port)) return NULL;
  struct xen_evtchn_notify notify = {.port = port};
  return evtchn_ioctl(env, XEN_IOCTL_EVTCHN_NOTIFY, &notify);
}

static napi_value xen_evtchn_unbind(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t port;
  if (!get_args(env, info, 1, argv) || !get_u32(env, argv[0], "port", &port)) return NULL;
  struct xen_evtchn_unbind unbind = {.port = port};
  return evtchn_ioctl(env, XEN_IOCTL_EVTCHN_UNBIND, &unbind);
}

/* A delivered port stays masked until its number is written back (LNX-EVT evtchn_write). */
static napi_value xen_evtchn_unmask(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t port;
  ssize_t n;
  if (!get_args(env, info, 1, argv) || !get_u32(env, argv[0], "port", &port)) return NULL;
  xen_state* state = get_state(env);
  int rc = open_evtchn(state);
  if (rc < 0) return int_result(env, rc);
  do n = write(state->evtchn_fd, &port, sizeof port); while (n < 0 && errno == EINTR);
  if (n < 0) return errno_result(env);
  return int_result(env, n == (ssize_t)sizeof port ? 0 : -EIO);
}

/* ---------------------------------------------------------------- pending-port readers */

/*
 * A uv_poll_t on a descriptor that delivers u32 port numbers (/dev/xen/evtchn, or any fd in
 * tests) and what it needs to call JavaScript. On POLLIN it reads every pending port (until
 * EAGAIN, bounded per callback) and calls back (0, ports, false). On POLLERR, which evtchn raises
 * when its ring overflowed and events were lost, it issues IOCTL_EVTCHN_RESET (evtchn only) and
 * calls back (0, ports, true) so that JavaScript re-scans every port. A failure stops the poll
 * and calls back (-errno, ports, overflowed).
 *
 * The JS handle object wraps it until pollClose, which unwraps it and stops it for good;
 * uv_close's callback frees it. Should the JS object be collected first, or the environment (a
 * worker thread) end, the same release happens. The memory is freed once both libuv (uv_closed)
 * and the JS object (unwrapped) let go of it. An async cleanup hook stays registered until
 * uv_close's callback ran: a worker that ends unloads this addon, and Node waits for that hook
 * to finish before it does, so libuv never calls into unloaded code. (The same life cycle as
 * @flow/hvsock's native/vsock.c poll handles.)
 */
struct port_reader {
  uv_poll_t poll;
  napi_env env;
  xen_state* state;
  int fd;
  int is_evtchn;
  int is_stream;     /* a byte stream (streamOpen): owns fd, calls back with readiness only */
  int stopped;       /* a failure ended polling; only pollClose is left */
  int closing;       /* released: never call back again */
  int in_callback;   /* on_poll is calling JS right now */
  int js_dropped;    /* async context and references released */
  int uv_closed;
  int unwrapped;
  napi_ref callback;
  napi_ref resource; /* `this` of the callback and the async_hooks resource */
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup;
  uint8_t carry[sizeof(uint32_t)]; /* the start of a port split across reads (byte streams only) */
  size_t carried;
};

static void free_if_unused(port_reader* reader) {
  if (reader->uv_closed && reader->unwrapped) free(reader);
}

static void on_uv_closed(uv_handle_t* handle) {
  port_reader* reader = handle->data;
  reader->uv_closed = 1;
  /* Unregisters the hook, or tells Node that the teardown it started is done. */
  if (reader->cleanup != NULL) napi_remove_async_cleanup_hook(reader->cleanup);
  reader->cleanup = NULL;
  state_release(reader->state);
  free_if_unused(reader);
}

/* Ends the async resource (async_hooks "destroy") and lets the callback be collected. */
static void drop_js(port_reader* reader) {
  if (reader->js_dropped) return;
  reader->js_dropped = 1;
  napi_async_destroy(reader->env, reader->async);
  napi_delete_reference(reader->env, reader->callback);
  napi_delete_reference(reader->env, reader->resource);
}

/* Stops the poll for good. `may_call_js` is false while the environment is being torn down. */
static void release_reader(port_reader* reader, int may_call_js) {
  if (reader->closing) return;
  reader->closing = 1;
  if (reader->state->evtchn_reader == reader) reader->state->evtchn_reader = NULL;
  uv_poll_stop(&reader->poll);
  /* Inside the callback, its async context is still in use: on_poll drops it afterwards. */
  if (may_call_js && !reader->in_callback) drop_js(reader);
  uv_close((uv_handle_t*)&reader->poll, on_uv_closed);
  /* A stream owns its descriptor: closed now, after libuv let go of it (uv_close stopped the
     watcher synchronously), so that closing never waits for the loop or a pending read. */
  if (reader->is_stream && reader->fd >= 0) {
    close(reader->fd);
    reader->fd = -1;
  }
}

static void on_env_teardown(napi_async_cleanup_hook_handle handle, void* arg) {
  port_reader* reader = arg;
  reader->cleanup = handle;
  release_reader(reader, 0);
}

static void finalize_reader(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  port_reader* reader = data;
  release_reader(reader, 1);
  reader->unwrapped = 1;
  free_if_unused(reader);
}

/*
 * Reads pending ports into `ports` (appending from *count). Returns 0 when drained (EAGAIN) or
 * the per-callback bound was reached, 1 when the event ring overflowed (EFBIG), or -errno; a
 * descriptor at its end (read gives 0, a byte stream whose writer left) is -EPIPE.
 */
static int read_ports(napi_env env, port_reader* reader, napi_value ports, uint32_t* count) {
  uint8_t buffer[PORTS_PER_READ * sizeof(uint32_t)];
  for (int reads = 0; reads < READS_PER_CALLBACK; reads++) {
    memcpy(buffer, reader->carry, reader->carried);
    ssize_t n;
    do n = read(reader->fd, buffer + reader->carried, sizeof buffer - reader->carried); while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return errno == EFBIG ? 1 : -errno;
    }
    if (n == 0) return -EPIPE;
    size_t total = reader->carried + (size_t)n;
    size_t whole = total / sizeof(uint32_t);
    for (size_t i = 0; i < whole; i++) {
      uint32_t port;
      napi_value value;
      memcpy(&port, buffer + i * sizeof port, sizeof port);
      if (napi_create_uint32(env, port, &value) != napi_ok || napi_set_element(env, ports, (*count)++, value) != napi_ok) {
        return -ENOMEM;
      }
    }
    reader->carried = total - whole * sizeof(uint32_t);
    memcpy(reader->carry, buffer + whole * sizeof(uint32_t), reader->carried);
  }
  return 0;
}

/* Calls the reader's callback with argv (inside its async context); a throw is an uncaught exception. */
static void call_reader(port_reader* reader, size_t argc, napi_value* argv) {
  napi_env env = reader->env;
  napi_value callback, resource, result;
  napi_get_reference_value(env, reader->callback, &callback);
  napi_get_reference_value(env, reader->resource, &resource);
  reader->in_callback = 1;
  /* napi_make_callback runs queued microtasks and process.nextTick callbacks afterwards. */
  napi_status called = napi_make_callback(env, reader->async, resource, callback, argc, argv, &result);
  reader->in_callback = 0;
  if (called == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  if (reader->closing) drop_js(reader);
}

/* Beside libuv's UV_READABLE (1) and UV_WRITABLE (2): polling stopped on POLLERR/POLLHUP. */
#define STREAM_HANGUP 4

/*
 * A byte stream's readiness: (0, events) with UV_READABLE (1) and/or UV_WRITABLE (2), plus
 * STREAM_HANGUP (4) when polling stopped on an error condition, or (-errno, 0) after which
 * polling has stopped. JavaScript does the reads and writes itself
 * (streamRead, streamWrite) and says what it waits for next (streamPoll): the poll is
 * level-triggered, so asking for writability only while a write waits avoids a busy loop.
 */
static void on_stream_poll(port_reader* reader, int status, int events) {
  napi_env env = reader->env;
  napi_handle_scope scope;
  napi_value argv[2];
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (status == UV_EBADF && reader->fd >= 0 && fcntl(reader->fd, F_GETFD) != -1) {
    /* libuv reports POLLERR (a pty whose other end hung up, a device in error) as UV_EBADF and
       stops the handle; the descriptor is fine. Say so, so that JavaScript reads what is left
       and learns the end or the error from read() itself. */
    reader->stopped = 1;
    status = 0;
    events = UV_READABLE | STREAM_HANGUP;
  } else if (status < 0) {
    reader->stopped = 1;
    uv_poll_stop(&reader->poll);
    events = 0;
  }
  napi_create_int32(env, status < 0 ? status : 0, &argv[0]);
  napi_create_int32(env, events & (UV_READABLE | UV_WRITABLE | STREAM_HANGUP), &argv[1]);
  call_reader(reader, 2, argv);
  napi_close_handle_scope(env, scope);
}

static void on_poll(uv_poll_t* handle, int status, int events) {
  port_reader* reader = handle->data;
  napi_env env = reader->env;
  napi_handle_scope scope;
  napi_value argv[3];
  uint32_t count = 0;
  int overflowed = 0, failure = 0;
  if (reader->closing || reader->stopped) return;
  if (reader->is_stream) {
    on_stream_poll(reader, status, events);
    return;
  }
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_create_array(env, &argv[1]) != napi_ok) {
    napi_close_handle_scope(env, scope);
    return;
  }

  if (status == UV_EBADF && fcntl(reader->fd, F_GETFD) != -1) {
    /* libuv reports POLLERR as UV_EBADF and stops the handle; the descriptor is fine. */
    overflowed = 1;
  } else if (status < 0) {
    failure = status; /* libuv errors are -errno on Unix */
  } else if (events & UV_READABLE) {
    int rc = read_ports(env, reader, argv[1], &count);
    if (rc == 1) overflowed = 1;
    else if (rc < 0) failure = rc;
  }
  if (overflowed && !failure) {
    /* Clears the ring and its error (LNX-EVT IOCTL_EVTCHN_RESET); the events in it are lost. */
    if (reader->is_evtchn && ioctl(reader->fd, XEN_IOCTL_EVTCHN_RESET) < 0) failure = -errno;
    /* Keep listening: POLLERR stopped the libuv handle. */
    else if (uv_poll_start(&reader->poll, UV_READABLE, on_poll) != 0) failure = -EBADF;
  }
  if (failure) {
    reader->stopped = 1;
    uv_poll_stop(&reader->poll);
  }
  if (count == 0 && !overflowed && !failure) {
    napi_close_handle_scope(env, scope); /* a spurious wake-up: nothing to say */
    return;
  }

  napi_create_int32(env, failure, &argv[0]);
  napi_get_boolean(env, overflowed != 0, &argv[2]);
  call_reader(reader, 3, argv);
  napi_close_handle_scope(env, scope);
}

/*
 * A started reader on `fd` wrapped in a handle object; -errno, or NULL with an exception pending,
 * on failure. A stream's descriptor belongs to the reader from this call on, failures included.
 */
static napi_value open_reader(napi_env env, xen_state* state, int fd, int is_evtchn, int is_stream, napi_value callback) {
  napi_value handle, resource, name;
  uv_loop_t* loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || napi_create_object(env, &handle) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, is_stream ? "XenFdStream" : "XenPortReader", NAPI_AUTO_LENGTH, &name) != napi_ok) {
    if (is_stream) close(fd); /* a stream's descriptor is the reader's from the call on */
    return NULL;
  }

  port_reader* reader = calloc(1, sizeof *reader);
  if (reader == NULL) {
    if (is_stream) close(fd);
    napi_throw_error(env, "ENOMEM", "out of memory for a port reader");
    return NULL;
  }
  /* libuv checks here that epoll takes the descriptor (a regular file gives EPERM): the
     system's answer, returned as -errno like every other. */
  int rc = uv_poll_init(loop, &reader->poll, fd);
  if (rc != 0) {
    free(reader);
    if (is_stream) close(fd);
    return int_result(env, rc);
  }
  reader->poll.data = reader;
  reader->env = env;
  reader->state = state;
  reader->fd = fd;
  reader->is_evtchn = is_evtchn;
  reader->is_stream = is_stream;
  state_retain(state); /* released by on_uv_closed: the descriptor outlives the poll */
  /* A separate resource object: the async context holds it strongly, the handle must stay collectable. */
  if (napi_async_init(env, resource, name, &reader->async) != napi_ok) {
    reader->js_dropped = reader->closing = reader->unwrapped = 1;
    uv_close((uv_handle_t*)&reader->poll, on_uv_closed);
    if (is_stream) close(fd);
    return NULL;
  }
  napi_create_reference(env, callback, 1, &reader->callback);
  napi_create_reference(env, resource, 1, &reader->resource);
  napi_add_async_cleanup_hook(env, on_env_teardown, reader, &reader->cleanup);
  if (napi_type_tag_object(env, handle, is_stream ? &STREAM_TAG : &READER_TAG) != napi_ok ||
      napi_wrap(env, handle, reader, finalize_reader, NULL, NULL) != napi_ok) {
    reader->unwrapped = 1;
    release_reader(reader, 1);
    return NULL;
  }
  if (is_evtchn) state->evtchn_reader = reader;
  rc = uv_poll_start(&reader->poll, UV_READABLE, on_poll);
  if (rc != 0) {
    /* Not a throw: an fd that cannot be polled is the system's answer (-errno). */
    void* ignored;
    napi_remove_wrap(env, handle, &ignored);
    release_reader(reader, 1);
    reader->unwrapped = 1;
    free_if_unused(reader);
    return int_result(env, rc);
  }
  return handle;
}

/* evtchnPoll(callback): the poll on /dev/xen/evtchn (one per environment), or -errno. */
static napi_value xen_evtchn_poll(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv) || !get_function(env, argv[0], "callback")) return NULL;
  xen_state* state = get_state(env);
  int rc = open_evtchn(state);
  if (rc < 0) return int_result(env, rc);
  /* libuv allows one poll per descriptor. */
  if (state->evtchn_reader != NULL) return int_result(env, -EBUSY);
  return open_reader(env, state, state->evtchn_fd, 1, 0, argv[0]);
}

/* Test-only: the same reader on any descriptor (a pipe or FIFO), without the evtchn reset. */
static napi_value xen_poll_fd(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double fd;
  if (!get_args(env, info, 2, argv) || !get_integer(env, argv[0], 0, INT_MAX, "fd", &fd) ||
      !get_function(env, argv[1], "callback")) {
    return NULL;
  }
  /* libuv aborts the process when epoll refuses a closed descriptor: refuse it first. */
  if (fcntl((int)fd, F_GETFD) == -1) return errno_result(env);
  return open_reader(env, get_state(env), (int)fd, 0, 0, argv[1]);
}

static port_reader* unwrap_reader(napi_env env, napi_value handle) {
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

static napi_value xen_poll_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  napi_valuetype type;
  void* data = NULL;
  if (!get_args(env, info, 1, argv)) return NULL;
  NAPI_OR_NULL(napi_typeof(env, argv[0], &type));
  bool tagged = false;
  if (type == napi_object) NAPI_OR_NULL(napi_check_object_type_tag(env, argv[0], &READER_TAG, &tagged));
  if (!tagged) return throw_type(env, "handle must come from evtchnPoll or pollFd");
  port_reader* reader = unwrap_reader(env, argv[0]);
  if (reader == NULL) return undefined_result(env); /* closed already: idempotent */
  napi_remove_wrap(env, argv[0], &data);
  release_reader(reader, 1);
  reader->unwrapped = 1;
  free_if_unused(reader);
  return undefined_result(env);
}

/* ---------------------------------------------------------------- devices */

static napi_value device_failure(napi_env env, int rc, const char* path) {
  napi_value array, code, device;
  NAPI_OR_NULL(napi_create_array_with_length(env, 2, &array));
  NAPI_OR_NULL(napi_create_int32(env, rc, &code));
  NAPI_OR_NULL(napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &device));
  NAPI_OR_NULL(napi_set_element(env, array, 0, code));
  NAPI_OR_NULL(napi_set_element(env, array, 1, device));
  return array;
}

/* available(): 0 when both devices open, else [-errno, the device that failed]. */
static napi_value xen_available(napi_env env, napi_callback_info info) {
  (void)info;
  xen_state* state = get_state(env);
  int rc = open_gntdev(state);
  if (rc < 0) return device_failure(env, rc, state->gntdev_path);
  rc = open_evtchn(state);
  if (rc < 0) return device_failure(env, rc, state->evtchn_path);
  return int_result(env, 0);
}

static int get_path(napi_env env, napi_value value, const char* name, char* out) {
  size_t length = 0;
  char message[80];
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type == napi_string && napi_get_value_string_utf8(env, value, out, PATH_MAX, &length) == napi_ok &&
      length > 0 && length < PATH_MAX - 1) {
    return 1;
  }
  snprintf(message, sizeof message, "%s must be a non-empty path shorter than %d bytes", name, PATH_MAX - 1);
  throw_type(env, message);
  return 0;
}

/* Test-only: other files stand in for the devices (to reach the open, ioctl and poll error paths
   without Xen). 0, or -EBUSY while a grant is mapped or the evtchn poll is open. */
static napi_value xen_set_device_paths(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char gntdev[PATH_MAX], evtchn[PATH_MAX];
  if (!get_args(env, info, 2, argv) || !get_path(env, argv[0], "gntdev", gntdev) || !get_path(env, argv[1], "evtchn", evtchn)) {
    return NULL;
  }
  xen_state* state = get_state(env);
  if (state->grant_pages > 0 || state->evtchn_reader != NULL) return int_result(env, -EBUSY);
  close_devices(state);
  memcpy(state->gntdev_path, gntdev, sizeof gntdev);
  memcpy(state->evtchn_path, evtchn, sizeof evtchn);
  return int_result(env, 0);
}

/* ---------------------------------------------------------------- byte streams (xenbus) */

/*
 * A non-blocking byte stream on a character device that Node cannot wrap in a net.Socket (the
 * xenbus device: writes of partial messages are accumulated by the kernel, reads return queued
 * reply bytes, poll says when a reply is queued). A blocking fs read would pin a threadpool
 * thread until a reply or watch event came, and close would wait for it; here nothing blocks:
 * the descriptor is O_NONBLOCK, readiness comes from the same uv_poll machinery as the port
 * readers, and streamClose stops the poll and closes the descriptor at once.
 */

/* streamOpen(path, callback): a started stream (polling for readability) or -errno. */
static napi_value xen_stream_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[PATH_MAX];
  int fd;
  if (!get_args(env, info, 2, argv) || !get_path(env, argv[0], "path", path) || !get_function(env, argv[1], "callback")) {
    return NULL;
  }
  /* O_NOCTTY: a terminal (a test's pty) must not become this process's controlling tty. */
  do fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY); while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_result(env);
  /* Not S_ISCHR: xenfs's /proc/xen/xenbus is a regular file with a poll of its own. Whether the
     descriptor is pollable is for epoll to say (below). */
  napi_value handle = open_reader(env, get_state(env), fd, 0, 1, argv[1]);
  if (handle == NULL) return NULL;
  /* libuv refuses descriptors that epoll does not take (a plain file) with EPERM: not a device. */
  napi_valuetype type;
  if (napi_typeof(env, handle, &type) == napi_ok && type == napi_number) {
    int64_t rc = 0;
    napi_get_value_int64(env, handle, &rc);
    if (rc == UV_EPERM) return int_result(env, -ENODEV);
  }
  return handle;
}

static port_reader* get_stream(napi_env env, napi_value value) {
  napi_valuetype type;
  bool tagged = false;
  if (napi_typeof(env, value, &type) != napi_ok) return NULL;
  if (type == napi_object && napi_check_object_type_tag(env, value, &STREAM_TAG, &tagged) != napi_ok) return NULL;
  if (!tagged) {
    throw_type(env, "handle must come from streamOpen");
    return NULL;
  }
  return unwrap_reader(env, value); /* NULL once closed */
}

/*
 * streamRead and streamWrite differ only in the syscall and in what the buffer is called in
 * messages, so both are this one function.
 */
typedef enum { STREAM_READ, STREAM_WRITE } stream_direction;

static napi_value stream_transfer(napi_env env, napi_callback_info info, stream_direction direction) {
  const char* name = direction == STREAM_READ ? "target" : "source";
  char message[64];
  napi_value argv[2];
  uint8_t* data;
  size_t length;
  ssize_t n;
  if (!get_args(env, info, 2, argv)) return NULL;
  port_reader* stream = get_stream(env, argv[0]);
  if (stream == NULL) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    return pending ? NULL : int_result(env, -EBADF);
  }
  if (!get_uint8_array(env, argv[1], name, &data, &length)) return NULL;
  if (length == 0) {
    snprintf(message, sizeof message, "%s must hold at least one byte", name);
    return throw_range(env, message);
  }
  if (stream->fd < 0) return int_result(env, -EBADF);
  do {
    n = direction == STREAM_READ ? read(stream->fd, data, length) : write(stream->fd, data, length);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? errno_result(env) : int_result(env, n);
}

/* streamRead(handle, target): bytes read (> 0), 0 at the end of the stream, or -errno (-EAGAIN: nothing queued). */
static napi_value xen_stream_read(napi_env env, napi_callback_info info) {
  return stream_transfer(env, info, STREAM_READ);
}

/* streamWrite(handle, source): bytes written (> 0, maybe fewer than given) or -errno (-EAGAIN: try when writable). */
static napi_value xen_stream_write(napi_env env, napi_callback_info info) {
  return stream_transfer(env, info, STREAM_WRITE);
}

/* streamPoll(handle, events): what to wait for next (UV_READABLE 1 | UV_WRITABLE 2; 0 stops). 0 or -errno. */
static napi_value xen_stream_poll(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double events;
  if (!get_args(env, info, 2, argv)) return NULL;
  port_reader* stream = get_stream(env, argv[0]);
  if (stream == NULL) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    return pending ? NULL : int_result(env, -EBADF);
  }
  if (!get_integer(env, argv[1], 0, UV_READABLE | UV_WRITABLE, "events", &events)) return NULL;
  if (stream->closing || stream->stopped) return int_result(env, -EBADF);
  int rc = events == 0 ? uv_poll_stop(&stream->poll) : uv_poll_start(&stream->poll, (int)events, on_poll);
  return int_result(env, rc);
}

/* streamClose(handle): stops the poll and closes the descriptor now; idempotent. */
static napi_value xen_stream_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  void* data = NULL;
  if (!get_args(env, info, 1, argv)) return NULL;
  port_reader* stream = get_stream(env, argv[0]);
  if (stream == NULL) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    return pending ? NULL : undefined_result(env);
  }
  napi_remove_wrap(env, argv[0], &data);
  release_reader(stream, 1);
  stream->unwrapped = 1;
  free_if_unused(stream);
  return undefined_result(env);
}

/* ---------------------------------------------------------------- module */

static int set_number(napi_env env, napi_value object, const char* name, double value) {
  napi_value v;
  return napi_create_double(env, value, &v) == napi_ok && napi_set_named_property(env, object, name, v) == napi_ok;
}

static int set_string(napi_env env, napi_value object, const char* name, const char* value) {
  napi_value v;
  return napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok &&
         napi_set_named_property(env, object, name, v) == napi_ok;
}

/* What this build uses, for test/abi-check.test.ts to compare with libxen-dev's headers. */
static napi_value make_constants(napi_env env) {
  napi_value c;
  NAPI_OR_NULL(napi_create_object(env, &c));
  if (!set_number(env, c, "PAGE_SIZE", XEN_PAGE_SIZE) ||
      !set_number(env, c, "IOCTL_GNTDEV_MAP_GRANT_REF", XEN_IOCTL_GNTDEV_MAP_GRANT_REF) ||
      !set_number(env, c, "IOCTL_GNTDEV_UNMAP_GRANT_REF", XEN_IOCTL_GNTDEV_UNMAP_GRANT_REF) ||
      !set_number(env, c, "IOCTL_EVTCHN_BIND_INTERDOMAIN", XEN_IOCTL_EVTCHN_BIND_INTERDOMAIN) ||
      !set_number(env, c, "IOCTL_EVTCHN_BIND_UNBOUND_PORT", XEN_IOCTL_EVTCHN_BIND_UNBOUND_PORT) ||
      !set_number(env, c, "IOCTL_EVTCHN_UNBIND", XEN_IOCTL_EVTCHN_UNBIND) ||
      !set_number(env, c, "IOCTL_EVTCHN_NOTIFY", XEN_IOCTL_EVTCHN_NOTIFY) ||
      !set_number(env, c, "IOCTL_EVTCHN_RESET", XEN_IOCTL_EVTCHN_RESET) ||
      !set_number(env, c, "SIZEOF_GNTDEV_MAP_GRANT_REF", sizeof(struct xen_gntdev_map_grant_ref)) ||
      !set_number(env, c, "OFFSETOF_GNTDEV_MAP_GRANT_REF_INDEX", offsetof(struct xen_gntdev_map_grant_ref, index)) ||
      !set_number(env, c, "OFFSETOF_GNTDEV_MAP_GRANT_REF_REFS", offsetof(struct xen_gntdev_map_grant_ref, refs)) ||
      !set_number(env, c, "SIZEOF_GNTDEV_GRANT_REF", sizeof(struct xen_gntdev_grant_ref)) ||
      !set_number(env, c, "SIZEOF_GNTDEV_UNMAP_GRANT_REF", sizeof(struct xen_gntdev_unmap_grant_ref)) ||
      !set_number(env, c, "OFFSETOF_GNTDEV_UNMAP_GRANT_REF_COUNT", offsetof(struct xen_gntdev_unmap_grant_ref, count)) ||
      !set_number(env, c, "SIZEOF_EVTCHN_BIND_INTERDOMAIN", sizeof(struct xen_evtchn_bind_interdomain)) ||
      !set_number(env, c, "SIZEOF_EVTCHN_BIND_UNBOUND_PORT", sizeof(struct xen_evtchn_bind_unbound_port)) ||
      !set_number(env, c, "SIZEOF_EVTCHN_UNBIND", sizeof(struct xen_evtchn_unbind)) ||
      !set_number(env, c, "SIZEOF_EVTCHN_NOTIFY", sizeof(struct xen_evtchn_notify)) ||
      !set_number(env, c, "SIZEOF_EVTCHN_PORT", sizeof(uint32_t)) ||
      !set_string(env, c, "GNTDEV_DEVICE", GNTDEV_DEVICE) ||
      !set_string(env, c, "EVTCHN_DEVICE", EVTCHN_DEVICE)) {
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
      {"available", xen_available},
      {"mapGrant", xen_map_grant},
      {"unmapGrant", xen_unmap_grant},
      {"pageMapped", xen_page_mapped},
      {"pageLoadU32", xen_page_load_u32},
      {"pageStoreU32", xen_page_store_u32},
      {"pageRead", xen_page_read},
      {"pageWrite", xen_page_write},
      {"pageFence", xen_page_fence},
      {"evtchnBindInterdomain", xen_evtchn_bind_interdomain},
      {"evtchnBindUnbound", xen_evtchn_bind_unbound},
      {"evtchnNotify", xen_evtchn_notify},
      {"evtchnUnbind", xen_evtchn_unbind},
      {"evtchnUnmask", xen_evtchn_unmask},
      {"evtchnPoll", xen_evtchn_poll},
      {"pollClose", xen_poll_close},
      {"pollFd", xen_poll_fd},
      {"allocTestPage", xen_alloc_test_page},
      {"setDevicePaths", xen_set_device_paths},
      {"streamOpen", xen_stream_open},
      {"streamRead", xen_stream_read},
      {"streamWrite", xen_stream_write},
      {"streamPoll", xen_stream_poll},
      {"streamClose", xen_stream_close},
  };
  xen_state* state = calloc(1, sizeof *state);
  if (state == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory for the Xen device state");
    return NULL;
  }
  state->refs = 1;
  state->gntdev_fd = state->evtchn_fd = -1;
  strcpy(state->gntdev_path, GNTDEV_DEVICE);
  strcpy(state->evtchn_path, EVTCHN_DEVICE);
  if (napi_set_instance_data(env, state, finalize_state, NULL) != napi_ok) {
    free(state);
    return NULL;
  }
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
