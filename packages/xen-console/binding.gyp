{
  # One addon: /dev/xen/gntdev and /dev/xen/evtchn on Linux, a stub elsewhere so that node-gyp
  # never needs Linux headers on other systems. N-API only, plain C, no libxen* linked (the ioctl
  # numbers and layouts are in native/xen.c and checked against libxen-dev by the tests).
  "targets": [
    {
      "target_name": "xen_console",
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/xen.c"],
          "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-fvisibility=hidden"],
        }],
        ["OS!='linux'", {
          "sources": ["native/unsupported.c"],
        }],
      ],
    },
  ],
}
