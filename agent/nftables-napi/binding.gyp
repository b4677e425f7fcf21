{
  "targets": [
    {
      "target_name": "nftables_napi",
      "sources": ["src/addon.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lnftables"]
    }
  ]
}
