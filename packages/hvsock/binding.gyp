{
  # One addon per system: AF_VSOCK on Linux, AF_HYPERV on Windows, a stub elsewhere so that
  # node-gyp never needs Linux headers on macOS. N-API only, plain C.
  "targets": [
    {
      "target_name": "hvsock",
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/vsock.c"],
          "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-fvisibility=hidden"],
        }],
        ["OS=='win'", {
          "sources": ["native/hvsock_win.c"],
          "libraries": ["ws2_32.lib"],
        }],
        ["OS!='linux' and OS!='win'", {
          "sources": ["native/unsupported.c"],
        }],
      ],
    },
  ],
}
