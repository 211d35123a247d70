/*
 * Built on systems other than Linux, so that node-gyp succeeds there too: the engine uses
 * splice(2), pipe2 and MSG_NOSIGNAL. The module only says which system it was built for; the
 * loader reports the engine as unsupported there without loading it.
 */
#include <node_api.h>

#if defined(__APPLE__)
#define FAST_COPY_BUILT_FOR "darwin"
#elif defined(_WIN32)
#define FAST_COPY_BUILT_FOR "win32"
#elif defined(__FreeBSD__)
#define FAST_COPY_BUILT_FOR "freebsd"
#else
#define FAST_COPY_BUILT_FOR "unknown"
#endif

NAPI_MODULE_INIT() {
  napi_value platform;
  if (napi_create_string_utf8(env, FAST_COPY_BUILT_FOR, NAPI_AUTO_LENGTH, &platform) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "unsupportedPlatform", platform) != napi_ok) return NULL;
  return exports;
}
