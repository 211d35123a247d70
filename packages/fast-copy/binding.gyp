{
  # The copy engine on Linux (splice, pipe2, MSG_NOSIGNAL); a stub elsewhere so that node-gyp
  # succeeds everywhere. N-API only, plain C.
  "targets": [
    {
      "target_name": "fast_copy",
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/fast_copy.c"],
          "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-fvisibility=hidden"],
        }],
        ["OS!='linux'", {
          "sources": ["native/unsupported.c"],
        }],
      ],
    },
  ],
}
