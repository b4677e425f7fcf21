{ "targets": [ { "target_name": "napi_udp", "sources": ["napi-udp.c"], "cflags": ["-std=gnu11", "-O2", "-Wall"] } ] }
