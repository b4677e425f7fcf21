/*
 * @sipwall/nftables-napi: a small N-API binding over libnftables, plus a ctnetlink delete.
 *
 *   const ctx = new Nftables();
 *   ctx.run(jsonOrText)            -> string (nft's JSON output; "" when a command prints nothing)
 *   ctx.conntrackDelete(tuples)    -> { deleted, missing }
 *   ctx.close()
 *
 * run(): one call is one nft batch, that is one kernel transaction (libnftables sends every command
 * of the buffer in one netlink batch). Errors are thrown as a JS Error carrying libnftables' error
 * text.
 *
 * conntrackDelete(): deletes conntrack entries by exact tuple through a ctnetlink socket (the
 * same IPCTNL_MSG_CT_DELETE message the conntrack tool sends), all deletes of one call in one
 * sendmsg, one ACK read loop. Each tuple is [family (4|6), srcAddr, srcPort, dstAddr, dstPort,
 * which (0: original tuple, 1: reply tuple)], protocol UDP. An entry that does not exist counts as
 * missing, not as an error.
 *
 * Written against node_api.h (N-API version 8) in plain C: no node-addon-api dependency.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_TUPLES 256
#define MSG_SPACE 160 /* one delete message: 20 + 4 + nested tuple (<= 100) */

typedef struct {
  struct nft_ctx *nft;
  int ct_fd; /* ctnetlink socket, opened on first use */
  uint32_t seq;
} Ctx;

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), NULL, "nftables-napi: N-API call failed");   \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static void ctx_release(Ctx *c) {
  if (c->nft != NULL) {
    nft_ctx_free(c->nft);
    c->nft = NULL;
  }
  if (c->ct_fd >= 0) {
    close(c->ct_fd);
    c->ct_fd = -1;
  }
}

static void ctx_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Ctx *c = data;
  ctx_release(c);
  free(c);
}

static Ctx *unwrap_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_error(env, NULL, "nftables-napi: not an Nftables object");
    return NULL;
  }
  return data;
}

static napi_value ctor(napi_env env, napi_callback_info info) {
  napi_value self;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  Ctx *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    napi_throw_error(env, NULL, "nftables-napi: out of memory");
    return NULL;
  }
  c->ct_fd = -1;
  c->nft = nft_ctx_new(NFT_CTX_DEFAULT);
  if (c->nft == NULL) {
    free(c);
    napi_throw_error(env, NULL, "nftables-napi: nft_ctx_new failed");
    return NULL;
  }
  nft_ctx_output_set_flags(c->nft, NFT_CTX_OUTPUT_JSON);
  if (nft_ctx_buffer_output(c->nft) != 0 || nft_ctx_buffer_error(c->nft) != 0) {
    ctx_release(c);
    free(c);
    napi_throw_error(env, NULL, "nftables-napi: cannot buffer libnftables output");
    return NULL;
  }
  if (napi_wrap(env, self, c, ctx_finalize, NULL, NULL) != napi_ok) {
    ctx_release(c);
    free(c);
    napi_throw_error(env, NULL, "nftables-napi: napi_wrap failed");
    return NULL;
  }
  return self;
}

/* A JS string argument as a malloc'd UTF-8 C string. */
static char *get_string(napi_env env, napi_value v, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "nftables-napi: %s must be a string", what);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  char *buf = malloc(len + 1);
  if (buf == NULL) {
    napi_throw_error(env, NULL, "nftables-napi: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, buf, len + 1, &len);
  return buf;
}

static napi_value run(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Ctx *c = unwrap_this(env, info, &argc, argv);
  if (c == NULL) return NULL;
  if (c->nft == NULL) {
    napi_throw_error(env, NULL, "nftables-napi: context is closed");
    return NULL;
  }
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "nftables-napi: run(command: string)");
    return NULL;
  }
  char *cmd = get_string(env, argv[0], "command");
  if (cmd == NULL) return NULL;
  int rc = nft_run_cmd_from_buffer(c->nft, cmd);
  free(cmd);
  /* The buffers are reset by the next read of them: read both every time. */
  const char *out = nft_ctx_get_output_buffer(c->nft);
  const char *err = nft_ctx_get_error_buffer(c->nft);
  if (rc != 0) {
    const char *text = (err != NULL && err[0] != '\0') ? err : "libnftables: command failed";
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ')) n--;
    napi_value msg, error;
    CHECK(env, napi_create_string_utf8(env, text, n, &msg));
    CHECK(env, napi_create_error(env, NULL, msg, &error));
    napi_throw(env, error);
    return NULL;
  }
  napi_value result;
  CHECK(env, napi_create_string_utf8(env, out != NULL ? out : "", NAPI_AUTO_LENGTH, &result));
  return result;
}

static napi_value close_ctx(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Ctx *c = unwrap_this(env, info, &argc, NULL);
  if (c == NULL) return NULL;
  ctx_release(c);
  return NULL;
}

/* ---- ctnetlink --------------------------------------------------------------------------- */

typedef struct {
  unsigned char *buf;
  size_t len;
} Msg;

static struct nlattr *put_attr(Msg *m, uint16_t type, const void *data, uint16_t dlen) {
  struct nlattr *a = (struct nlattr *)(m->buf + m->len);
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + dlen);
  if (dlen > 0) memcpy((unsigned char *)a + NLA_HDRLEN, data, dlen);
  size_t total = NLA_ALIGN(a->nla_len);
  memset((unsigned char *)a + a->nla_len, 0, total - a->nla_len);
  m->len += total;
  return a;
}

static struct nlattr *nest_start(Msg *m, uint16_t type) {
  return put_attr(m, (uint16_t)(type | NLA_F_NESTED), NULL, 0);
}

static void nest_end(Msg *m, struct nlattr *a) {
  a->nla_len = (uint16_t)((m->buf + m->len) - (unsigned char *)a);
}

typedef struct {
  int family; /* AF_INET | AF_INET6 */
  unsigned char src[16], dst[16];
  uint16_t sport, dport; /* network order */
  int reply;
} Tuple;

static size_t build_delete(unsigned char *buf, const Tuple *t, uint32_t seq) {
  Msg m = {buf, 0};
  struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
  m.len = NLMSG_HDRLEN;
  struct nfgenmsg *nfg = (struct nfgenmsg *)(buf + m.len);
  nfg->nfgen_family = (uint8_t)t->family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  m.len += NLMSG_ALIGN(sizeof(*nfg));
  struct nlattr *tuple = nest_start(&m, t->reply ? CTA_TUPLE_REPLY : CTA_TUPLE_ORIG);
  struct nlattr *ip = nest_start(&m, CTA_TUPLE_IP);
  if (t->family == AF_INET) {
    put_attr(&m, CTA_IP_V4_SRC, t->src, 4);
    put_attr(&m, CTA_IP_V4_DST, t->dst, 4);
  } else {
    put_attr(&m, CTA_IP_V6_SRC, t->src, 16);
    put_attr(&m, CTA_IP_V6_DST, t->dst, 16);
  }
  nest_end(&m, ip);
  struct nlattr *proto = nest_start(&m, CTA_TUPLE_PROTO);
  uint8_t udp = IPPROTO_UDP;
  put_attr(&m, CTA_PROTO_NUM, &udp, 1);
  put_attr(&m, CTA_PROTO_SRC_PORT, &t->sport, 2);
  put_attr(&m, CTA_PROTO_DST_PORT, &t->dport, 2);
  nest_end(&m, proto);
  nest_end(&m, tuple);
  nlh->nlmsg_len = (uint32_t)m.len;
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_pid = 0;
  return NLMSG_ALIGN(m.len);
}

static int ct_open(Ctx *c) {
  if (c->ct_fd >= 0) return 0;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return -errno;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  c->ct_fd = fd;
  return 0;
}

static int get_tuple(napi_env env, napi_value arr, Tuple *t) {
  napi_value v[6];
  for (uint32_t i = 0; i < 6; i++) {
    if (napi_get_element(env, arr, i, &v[i]) != napi_ok) return -1;
  }
  int32_t fam = 0, sport = 0, dport = 0, reply = 0;
  if (napi_get_value_int32(env, v[0], &fam) != napi_ok || (fam != 4 && fam != 6)) return -1;
  if (napi_get_value_int32(env, v[2], &sport) != napi_ok || sport < 0 || sport > 65535) return -1;
  if (napi_get_value_int32(env, v[4], &dport) != napi_ok || dport < 0 || dport > 65535) return -1;
  if (napi_get_value_int32(env, v[5], &reply) != napi_ok) return -1;
  char a[64], b[64];
  size_t n;
  if (napi_get_value_string_utf8(env, v[1], a, sizeof a, &n) != napi_ok) return -1;
  if (napi_get_value_string_utf8(env, v[3], b, sizeof b, &n) != napi_ok) return -1;
  t->family = fam == 4 ? AF_INET : AF_INET6;
  if (inet_pton(t->family, a, t->src) != 1 || inet_pton(t->family, b, t->dst) != 1) return -1;
  t->sport = htons((uint16_t)sport);
  t->dport = htons((uint16_t)dport);
  t->reply = reply != 0;
  return 0;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "nftables-napi: %s: %s", what, strerror(err));
  napi_value m, e, code;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  napi_create_int32(env, err, &code);
  napi_set_named_property(env, e, "errno", code);
  napi_throw(env, e);
  return NULL;
}

static napi_value ct_delete(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Ctx *c = unwrap_this(env, info, &argc, argv);
  if (c == NULL) return NULL;
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "nftables-napi: conntrackDelete(tuples: array)");
    return NULL;
  }
  uint32_t count = 0;
  CHECK(env, napi_get_array_length(env, argv[0], &count));
  if (count > MAX_TUPLES) {
    napi_throw_range_error(env, NULL, "nftables-napi: at most 256 tuples per conntrackDelete call");
    return NULL;
  }
  int deleted = 0, missing = 0;
  if (count > 0) {
    Tuple *tuples = malloc((size_t)count * sizeof(Tuple));
    if (tuples == NULL) {
      napi_throw_error(env, NULL, "nftables-napi: out of memory");
      return NULL;
    }
    for (uint32_t i = 0; i < count; i++) {
      napi_value item;
      CHECK(env, napi_get_element(env, argv[0], i, &item));
      bool ok = false;
      if (napi_is_array(env, item, &ok) != napi_ok || !ok || get_tuple(env, item, &tuples[i]) != 0) {
        free(tuples);
        napi_throw_type_error(env, NULL,
                              "nftables-napi: a tuple is [4|6, srcAddr, srcPort, dstAddr, dstPort, 0|1]");
        return NULL;
      }
    }
    int rc = ct_open(c);
    if (rc < 0) {
      free(tuples);
      return throw_errno(env, "ctnetlink socket", -rc);
    }
    unsigned char *buf = malloc((size_t)count * MSG_SPACE);
    if (buf == NULL) {
      free(tuples);
      napi_throw_error(env, NULL, "nftables-napi: out of memory");
      return NULL;
    }
    uint32_t first = c->seq + 1;
    size_t len = 0;
    for (uint32_t i = 0; i < count; i++) len += build_delete(buf + len, &tuples[i], ++c->seq);
    free(tuples);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t sent = sendto(c->ct_fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    free(buf);
    if (sent < 0) return throw_errno(env, "ctnetlink send", errno);
    uint32_t acked = 0;
    int hard_error = 0;
    unsigned char rbuf[8192];
    while (acked < count) {
      ssize_t n = recv(c->ct_fd, rbuf, sizeof rbuf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return throw_errno(env, "ctnetlink receive", errno);
      }
      for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_seq < first || h->nlmsg_seq > c->seq) continue; /* a stale answer */
        if (h->nlmsg_type != NLMSG_ERROR) continue;
        const struct nlmsgerr *e = NLMSG_DATA(h);
        acked++;
        if (e->error == 0) deleted++;
        else if (e->error == -ENOENT) missing++;
        else if (hard_error == 0) hard_error = -e->error;
      }
    }
    if (hard_error != 0) return throw_errno(env, "conntrack delete", hard_error);
  }
  napi_value result, d, m;
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_create_int32(env, deleted, &d));
  CHECK(env, napi_create_int32(env, missing, &m));
  CHECK(env, napi_set_named_property(env, result, "deleted", d));
  CHECK(env, napi_set_named_property(env, result, "missing", m));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"run", NULL, run, NULL, NULL, NULL, napi_default_method, NULL},
      {"conntrackDelete", NULL, ct_delete, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, close_ctx, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls;
  CHECK(env, napi_define_class(env, "Nftables", NAPI_AUTO_LENGTH, ctor, NULL,
                               sizeof methods / sizeof methods[0], methods, &cls));
  CHECK(env, napi_set_named_property(env, exports, "Nftables", cls));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
