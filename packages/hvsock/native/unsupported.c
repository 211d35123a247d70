/*
 * Built on systems with neither AF_VSOCK (Linux) nor AF_HYPERV (Windows), so that node-gyp
 * succeeds there too without Linux headers: the module only says which system it was built
 * for. The loader reports AF_VSOCK as unsupported on such systems without loading it.
 */
#include <node_api.h>

#if defined(__APPLE__)
#define HVSOCK_BUILT_FOR "darwin"
#elif defined(__FreeBSD__)
#define HVSOCK_BUILT_FOR "freebsd"
#elif defined(__OpenBSD__)
#define HVSOCK_BUILT_FOR "openbsd"
#elif defined(__sun)
#define HVSOCK_BUILT_FOR "sunos"
#elif defined(_AIX)
#define HVSOCK_BUILT_FOR "aix"
#else
#define HVSOCK_BUILT_FOR "unknown"
#endif

NAPI_MODULE_INIT() {
  napi_value platform;
  if (napi_create_string_utf8(env, HVSOCK_BUILT_FOR, NAPI_AUTO_LENGTH, &platform) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "unsupportedPlatform", platform) != napi_ok) return NULL;
  return exports;
}
