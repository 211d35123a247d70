/*
 * Built on systems other than Linux, so that node-gyp succeeds there too without Linux headers:
 * Xen's gntdev and evtchn devices are Linux interfaces. The module only says which system it was
 * built for; the loader reports the native platform as unsupported on such systems without
 * loading it (the simulator works everywhere).
 */
#include <node_api.h>

#if defined(__APPLE__)
#define XEN_CONSOLE_BUILT_FOR "darwin"
#elif defined(_WIN32)
#define XEN_CONSOLE_BUILT_FOR "win32"
#elif defined(__FreeBSD__)
#define XEN_CONSOLE_BUILT_FOR "freebsd"
#elif defined(__NetBSD__)
#define XEN_CONSOLE_BUILT_FOR "netbsd"
#elif defined(__OpenBSD__)
#define XEN_CONSOLE_BUILT_FOR "openbsd"
#elif defined(__sun)
#define XEN_CONSOLE_BUILT_FOR "sunos"
#elif defined(_AIX)
#define XEN_CONSOLE_BUILT_FOR "aix"
#else
#define XEN_CONSOLE_BUILT_FOR "unknown"
#endif

NAPI_MODULE_INIT() {
  napi_value platform;
  if (napi_create_string_utf8(env, XEN_CONSOLE_BUILT_FOR, NAPI_AUTO_LENGTH, &platform) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "unsupportedPlatform", platform) != napi_ok) return NULL;
  return exports;
}
