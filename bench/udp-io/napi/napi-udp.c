/*
 * A measuring addon for bench/udp-io (not the agent's): one UDP socket of its own, read with
 * recvmmsg on readiness (libuv uv_poll_t) and one JS call per batch; replies sent with sendmmsg.
 *
 *   const u = open(port)                 -> { slab: ArrayBuffer, meta: Int32Array } (per datagram: offset, length, port, IPv4 address)
 *   start(u, onBatch)                    onBatch(count) after each recvmmsg that read count > 0
 *   sendBatch(u, buf, lens, ports, addrs, count)  -> datagrams sent (sendmmsg, up to 64 per call)
 *
 * No close: the socket and its poll handle live until the bench's server process exits.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 32
#define SLOT 65536

typedef struct {
  int fd;
  uv_poll_t poll;
  napi_env env;
  napi_ref cb, self;
  unsigned char *slab;
  int32_t *meta; /* BATCH * 4 */
  struct mmsghdr rm[BATCH];
  struct iovec riov[BATCH];
  struct sockaddr_in from[BATCH];
  napi_async_context actx;
} U;

static U *unwrap(napi_env env, napi_value v) {
  void *p = NULL;
  napi_unwrap(env, v, &p);
  return p;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  U *u = h->data;
  if (status < 0) return;
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < BATCH; i++) u->rm[i].msg_hdr.msg_namelen = sizeof u->from[i];
    int n = recvmmsg(u->fd, u->rm, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    for (int i = 0; i < n; i++) {
      u->meta[i * 4] = i * SLOT;
      u->meta[i * 4 + 1] = (int32_t)u->rm[i].msg_len;
      u->meta[i * 4 + 2] = ntohs(u->from[i].sin_port);
      u->meta[i * 4 + 3] = (int32_t)u->from[i].sin_addr.s_addr;
    }
    napi_env env = u->env;
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value cb, recv, arg, result;
    napi_get_reference_value(env, u->cb, &cb);
    napi_get_reference_value(env, u->self, &recv);
    napi_create_int32(env, n, &arg);
    napi_make_callback(env, u->actx, recv, cb, 1, &arg, &result);
    napi_close_handle_scope(env, scope);
    if (n < BATCH) return;
  }
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t port = 0;
  napi_get_value_int32(env, argv[0], &port);
  U *u = calloc(1, sizeof *u);
  u->env = env;
  u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int big = 8 << 20;
  setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(u->fd, (struct sockaddr *)&a, sizeof a) < 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  napi_value obj, slab, metaBuf, meta;
  napi_create_object(env, &obj);
  void *sp = NULL, *mp = NULL;
  napi_create_arraybuffer(env, (size_t)BATCH * SLOT, &sp, &slab);
  napi_create_arraybuffer(env, BATCH * 4 * sizeof(int32_t), &mp, &metaBuf);
  napi_create_typedarray(env, napi_int32_array, BATCH * 4, metaBuf, 0, &meta);
  u->slab = sp;
  u->meta = mp;
  for (int i = 0; i < BATCH; i++) {
    u->riov[i].iov_base = u->slab + (size_t)i * SLOT;
    u->riov[i].iov_len = SLOT;
    u->rm[i].msg_hdr.msg_iov = &u->riov[i];
    u->rm[i].msg_hdr.msg_iovlen = 1;
    u->rm[i].msg_hdr.msg_name = &u->from[i];
  }
  napi_set_named_property(env, obj, "slab", slab);
  napi_set_named_property(env, obj, "meta", meta);
  napi_wrap(env, obj, u, NULL, NULL, NULL);
  napi_create_reference(env, obj, 1, &u->self);
  return obj;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], name;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  U *u = unwrap(env, argv[0]);
  napi_create_reference(env, argv[1], 1, &u->cb);
  napi_create_string_utf8(env, "udp-batch", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &u->actx);
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &u->poll, u->fd);
  u->poll.data = u;
  uv_poll_start(&u->poll, UV_READABLE, on_readable);
  return NULL;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  U *u = unwrap(env, argv[0]);
  void *buf = NULL;
  size_t blen = 0;
  napi_get_buffer_info(env, argv[1], &buf, &blen);
  int32_t *lens, *ports, *addrs;
  size_t n;
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(env, argv[2], &t, &n, (void **)&lens, &ab, &off);
  napi_get_typedarray_info(env, argv[3], &t, &n, (void **)&ports, &ab, &off);
  napi_get_typedarray_info(env, argv[4], &t, &n, (void **)&addrs, &ab, &off);
  int32_t count = 0;
  napi_get_value_int32(env, argv[5], &count);
  struct mmsghdr sm[64];
  struct iovec iov[64];
  struct sockaddr_in to[64];
  int sent = 0;
  size_t pos = 0;
  while (sent < count) {
    int k = count - sent > 64 ? 64 : count - sent;
    for (int i = 0; i < k; i++) {
      int j = sent + i;
      iov[i].iov_base = (unsigned char *)buf + pos;
      iov[i].iov_len = (size_t)lens[j];
      pos += (size_t)lens[j];
      memset(&to[i], 0, sizeof to[i]);
      to[i].sin_family = AF_INET;
      to[i].sin_port = htons((uint16_t)ports[j]);
      to[i].sin_addr.s_addr = (uint32_t)addrs[j];
      memset(&sm[i], 0, sizeof sm[i]);
      sm[i].msg_hdr.msg_iov = &iov[i];
      sm[i].msg_hdr.msg_iovlen = 1;
      sm[i].msg_hdr.msg_name = &to[i];
      sm[i].msg_hdr.msg_namelen = sizeof to[i];
    }
    int r = sendmmsg(u->fd, sm, k, 0);
    if (r <= 0) break;
    sent += r;
  }
  napi_value out;
  napi_create_int32(env, sent, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"sendBatch", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 3, d);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
