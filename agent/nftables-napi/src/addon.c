/*
 * @sipwall/nftables-napi: a small N-API binding over libnftables, plus a ctnetlink delete.
 *
 *   const ctx = new Nftables();
 *   ctx.run(jsonOrText)            -> string (nft's JSON output; "" when a command prints nothing)
 *   ctx.conntrackDelete(tuples)    -> { deleted, missing }
 *   ctx.setElements(ops)           -> undefined (adds/deletes set elements of table inet sipwall)
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
 * setElements(): the hot path of the media driver (pinhole open/close) without libnftables: the
 * same nf_tables netlink messages `nft add element` / `nft delete element` send, built here from
 * keys the caller has already encoded (see "nf_tables set elements" below). libnftables costs a
 * fixed ~110 us per run (it fetches the table's sets from the kernel, parses and evaluates the
 * text) before it sends the few hundred bytes that matter.
 *
 * Written against node_api.h (N-API version 8) in plain C: no node-addon-api dependency.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
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
  int ct_fd; /* NETLINK_NETFILTER socket (ctnetlink and nf_tables), opened on first use */
  int sndbuf; /* its send buffer as last read/raised (setElements sends a batch in one message) */
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

/* `this` of a call that needs the libnftables context: throws when it was closed. */
static Ctx *open_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  Ctx *c = unwrap_this(env, info, argc, argv);
  if (c != NULL && c->nft == NULL) {
    napi_throw_error(env, NULL, "nftables-napi: context is closed");
    return NULL;
  }
  return c;
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
  Ctx *c = open_this(env, info, &argc, argv);
  if (c == NULL) return NULL;
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
  /* Error acks carry only the failed message's header, not the whole message back. */
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  /* Room for many error acks of one failed batch (each is an skb of its own); best effort. */
  int rcv = 1 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  socklen_t sl = sizeof c->sndbuf;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &c->sndbuf, &sl) < 0) c->sndbuf = 0;
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

/* ---- nf_tables set elements -------------------------------------------------------------- */

/*
 * Wire format of one setElements() call: ONE nfnetlink batch, sent with one sendmsg; the kernel
 * applies it as one transaction (all or nothing), as it does libnftables' batches.
 *
 *   NFNL_MSG_BATCH_BEGIN   nfgenmsg{AF_UNSPEC, V0, res_id = htons(NFNL_SUBSYS_NFTABLES)}
 *   per op, one message:   type (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM or _DELSETELEM,
 *                          flags NLM_F_REQUEST (| NLM_F_CREATE for an add, as `nft add element`:
 *                          no NLM_F_EXCL, so an identical existing element is refreshed: its
 *                          timeout renewed, its counters kept), nfgenmsg{NFPROTO_INET, V0, 0}
 *     NFTA_SET_ELEM_LIST_TABLE     "sipwall\0"
 *     NFTA_SET_ELEM_LIST_SET       set name, NUL-terminated
 *     NFTA_SET_ELEM_LIST_ELEMENTS  nested
 *       NFTA_LIST_ELEM             nested, one element
 *         NFTA_SET_ELEM_KEY        nested { NFTA_DATA_VALUE: the key bytes }
 *         NFTA_SET_ELEM_DATA       nested { NFTA_DATA_VALUE: the mapped-to bytes }  (maps, adds)
 *         NFTA_SET_ELEM_TIMEOUT    be64, milliseconds                              (adds)
 *         NFTA_SET_ELEM_USERDATA   nft's udata TLVs: u8 type 0 (NFTNL_UDATA_SET_ELEM_COMMENT),
 *                                  u8 length incl. the NUL, the string and its NUL   (adds)
 *   NFNL_MSG_BATCH_END
 *
 * The key and data bytes are the caller's (nft's register layout: each field of a concatenation
 * padded to 4 bytes; the kernel checks the lengths against the set's). No expression is sent: the
 * kernel gives a new element of a set declared with `counter` a copy of the set's counter.
 *
 * Acks: only the last op's message asks for one (NLM_F_ACK); the kernel reports every failed
 * message anyway (an NLMSG_ERROR with its sequence number, which names the op), and delivers the
 * acks after it has committed or aborted the batch. nfnetlink handles the batch synchronously in
 * sendmsg, so every answer is already queued when sendmsg returns: they are read without waiting.
 * Success: the last op's ack says 0 and nothing else failed.
 */

#define NFT_TABLE_NAME "sipwall"
#define ELEM_DATA_MAX 64 /* NFT_DATA_VALUE_MAXLEN */
#define ELEM_COMMENT_MAX 253 /* + NUL fits the u8 length; + 2 fits NFT_USERDATA_MAXLEN */
#define ELEM_MSG_SPACE (NLMSG_HDRLEN + 4 + 12 + NLA_HDRLEN + NLA_ALIGN(NFT_SET_MAXNAMELEN) + 4 * NLA_HDRLEN + \
                        2 * (2 * NLA_HDRLEN + ELEM_DATA_MAX) + NLA_HDRLEN + 8 + NLA_HDRLEN + NLA_ALIGN(ELEM_COMMENT_MAX + 3))
#define MAX_ELEM_OPS 100000

typedef struct {
  int del;
  char set[NFT_SET_MAXNAMELEN];
  unsigned char key[ELEM_DATA_MAX], data[ELEM_DATA_MAX];
  size_t klen, dlen; /* dlen 0: no data */
  int has_timeout;
  uint64_t timeout_ms;
  char comment[ELEM_COMMENT_MAX + 1]; /* "" : none */
} ElemOp;

static int prop(napi_env env, napi_value obj, const char *name, napi_value *v, napi_valuetype *t) {
  if (napi_get_named_property(env, obj, name, v) != napi_ok) return -1;
  if (napi_typeof(env, *v, t) != napi_ok) return -1;
  return 0;
}

/* Bytes of a Uint8Array (a Buffer is one). Returns the length, or -1 when not one or too long. */
static long get_bytes(napi_env env, napi_value v, unsigned char *out, size_t max) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return -1;
  napi_typedarray_type type;
  size_t len = 0, off = 0;
  void *data = NULL;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, &ab, &off) != napi_ok) return -1;
  if (type != napi_uint8_array || len == 0 || len > max) return -1;
  memcpy(out, data, len);
  return (long)len;
}

/* Reads op `i` of the JS array into `op`; on a bad op, a message into `why`. */
static int get_elem_op(napi_env env, napi_value obj, ElemOp *op, char *why, size_t whylen) {
  napi_value v;
  napi_valuetype t;
  memset(op, 0, sizeof *op);
  if (prop(env, obj, "del", &v, &t) != 0 || t != napi_boolean) return snprintf(why, whylen, "del must be a boolean"), -1;
  bool del = false;
  napi_get_value_bool(env, v, &del);
  op->del = del;
  size_t n = 0;
  if (prop(env, obj, "set", &v, &t) != 0 || t != napi_string ||
      napi_get_value_string_utf8(env, v, op->set, sizeof op->set, &n) != napi_ok || n == 0 ||
      n >= sizeof op->set - 1)
    return snprintf(why, whylen, "set must be a set name"), -1;
  if (prop(env, obj, "key", &v, &t) != 0) return -1;
  long kl = get_bytes(env, v, op->key, sizeof op->key);
  if (kl < 0) return snprintf(why, whylen, "key must be a Uint8Array of 1-64 bytes"), -1;
  op->klen = (size_t)kl;
  if (prop(env, obj, "data", &v, &t) != 0) return -1;
  if (t != napi_undefined) {
    long dl = get_bytes(env, v, op->data, sizeof op->data);
    if (dl < 0) return snprintf(why, whylen, "data must be a Uint8Array of 1-64 bytes"), -1;
    op->dlen = (size_t)dl;
  }
  if (prop(env, obj, "timeoutMs", &v, &t) != 0) return -1;
  if (t != napi_undefined) {
    double ms = 0;
    if (t != napi_number || napi_get_value_double(env, v, &ms) != napi_ok || !(ms >= 1) || ms > 9007199254740991.0)
      return snprintf(why, whylen, "timeoutMs must be a positive number"), -1;
    op->has_timeout = 1;
    op->timeout_ms = (uint64_t)ms;
  }
  if (prop(env, obj, "comment", &v, &t) != 0) return -1;
  if (t != napi_undefined) {
    if (t != napi_string || napi_get_value_string_utf8(env, v, op->comment, sizeof op->comment, &n) != napi_ok ||
        n == 0 || n >= ELEM_COMMENT_MAX)
      return snprintf(why, whylen, "comment must be a string of 1-252 bytes"), -1;
  }
  if (op->del && (op->has_timeout || op->comment[0] != '\0'))
    return snprintf(why, whylen, "a delete takes no timeoutMs or comment"), -1;
  return 0;
}

static size_t put_batch_marker(unsigned char *buf, uint16_t type, uint32_t seq) {
  struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
  struct nfgenmsg *nfg = (struct nfgenmsg *)(buf + NLMSG_HDRLEN);
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
  nlh->nlmsg_len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof *nfg);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_pid = 0;
  return NLMSG_ALIGN(nlh->nlmsg_len);
}

static void put_data(Msg *m, uint16_t type, const unsigned char *bytes, size_t len) {
  struct nlattr *n = nest_start(m, type);
  put_attr(m, NFTA_DATA_VALUE, bytes, (uint16_t)len);
  nest_end(m, n);
}

static size_t build_elem_msg(unsigned char *buf, const ElemOp *op, uint32_t seq, int ack) {
  Msg m = {buf, NLMSG_HDRLEN};
  struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
  struct nfgenmsg *nfg = (struct nfgenmsg *)(buf + m.len);
  nfg->nfgen_family = NFPROTO_INET;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  m.len += NLMSG_ALIGN(sizeof *nfg);
  put_attr(&m, NFTA_SET_ELEM_LIST_TABLE, NFT_TABLE_NAME, sizeof NFT_TABLE_NAME);
  put_attr(&m, NFTA_SET_ELEM_LIST_SET, op->set, (uint16_t)(strlen(op->set) + 1));
  struct nlattr *list = nest_start(&m, NFTA_SET_ELEM_LIST_ELEMENTS);
  struct nlattr *elem = nest_start(&m, NFTA_LIST_ELEM);
  put_data(&m, NFTA_SET_ELEM_KEY, op->key, op->klen);
  if (op->dlen > 0) put_data(&m, NFTA_SET_ELEM_DATA, op->data, op->dlen);
  if (op->has_timeout) {
    uint64_t be = htobe64(op->timeout_ms);
    put_attr(&m, NFTA_SET_ELEM_TIMEOUT, &be, sizeof be);
  }
  if (op->comment[0] != '\0') {
    unsigned char ud[ELEM_COMMENT_MAX + 3];
    size_t n = strlen(op->comment) + 1; /* with its NUL, as nftnl_udata_put_strz() */
    ud[0] = 0;                          /* NFTNL_UDATA_SET_ELEM_COMMENT */
    ud[1] = (unsigned char)n;
    memcpy(ud + 2, op->comment, n);
    put_attr(&m, NFTA_SET_ELEM_USERDATA, ud, (uint16_t)(n + 2));
  }
  nest_end(&m, elem);
  nest_end(&m, list);
  nlh->nlmsg_len = (uint32_t)m.len;
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | (op->del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM);
  nlh->nlmsg_flags = NLM_F_REQUEST | (op->del ? 0 : NLM_F_CREATE) | (ack ? NLM_F_ACK : 0);
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_pid = 0;
  return NLMSG_ALIGN(m.len);
}

/* The Error thrown for a failed batch: names the errno and the op (`op` -1: the batch itself). */
static napi_value throw_batch_error(napi_env env, int err, long op_index, const ElemOp *op) {
  char msg[512];
  if (op != NULL)
    snprintf(msg, sizeof msg, "nftables-napi: setElements: op %ld (%s element inet %s %s): %s (errno %d)", op_index,
             op->del ? "delete" : "add", NFT_TABLE_NAME, op->set, strerror(err), err);
  else
    snprintf(msg, sizeof msg, "nftables-napi: setElements: batch failed: %s (errno %d)", strerror(err), err);
  napi_value m, e, code, index;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  napi_create_int32(env, err, &code);
  napi_set_named_property(env, e, "errno", code);
  napi_create_int64(env, op != NULL ? op_index : -1, &index);
  napi_set_named_property(env, e, "op", index);
  napi_throw(env, e);
  return NULL;
}

static napi_value set_elements(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Ctx *c = open_this(env, info, &argc, argv);
  if (c == NULL) return NULL;
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "nftables-napi: setElements(ops: array)");
    return NULL;
  }
  uint32_t count = 0;
  CHECK(env, napi_get_array_length(env, argv[0], &count));
  if (count == 0) return NULL;
  if (count > MAX_ELEM_OPS) {
    napi_throw_range_error(env, NULL, "nftables-napi: at most 100000 ops per setElements call");
    return NULL;
  }
  ElemOp *ops = malloc((size_t)count * sizeof(ElemOp));
  unsigned char *buf = malloc((size_t)count * ELEM_MSG_SPACE + 2 * 32);
  if (ops == NULL || buf == NULL) {
    free(ops);
    free(buf);
    napi_throw_error(env, NULL, "nftables-napi: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    napi_valuetype t;
    char why[96] = "not an object";
    if (napi_get_element(env, argv[0], i, &item) != napi_ok || napi_typeof(env, item, &t) != napi_ok ||
        t != napi_object || get_elem_op(env, item, &ops[i], why, sizeof why) != 0) {
      free(ops);
      free(buf);
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (!pending) {
        char msg[160];
        snprintf(msg, sizeof msg, "nftables-napi: setElements: op %u: %s", i, why);
        napi_throw_type_error(env, NULL, msg);
      }
      return NULL;
    }
  }
  int rc = ct_open(c);
  if (rc < 0) {
    free(ops);
    free(buf);
    return throw_errno(env, "netlink socket", -rc);
  }
  uint32_t begin = ++c->seq;
  size_t len = put_batch_marker(buf, NFNL_MSG_BATCH_BEGIN, begin);
  for (uint32_t i = 0; i < count; i++) len += build_elem_msg(buf + len, &ops[i], ++c->seq, i + 1 == count);
  uint32_t last = c->seq;
  len += put_batch_marker(buf + len, NFNL_MSG_BATCH_END, ++c->seq);
  /* The batch is one netlink message for the socket: it must fit the send buffer. */
  if ((long)len + 64 > (long)c->sndbuf) {
    int want = (int)len + 4096;
    if (setsockopt(c->ct_fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want) < 0)
      setsockopt(c->ct_fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
    socklen_t sl = sizeof c->sndbuf;
    getsockopt(c->ct_fd, SOL_SOCKET, SO_SNDBUF, &c->sndbuf, &sl);
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t sent;
  do sent = sendto(c->ct_fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (sent < 0 && errno == EINTR);
  free(buf);
  if (sent < 0) {
    free(ops);
    return throw_errno(env, "nf_tables send", errno);
  }
  int last_acked = 0, first_err = 0, overrun = 0, waited = 0;
  uint32_t err_seq = 0;
  unsigned char rbuf[16384];
  for (;;) {
    ssize_t n = recv(c->ct_fd, rbuf, sizeof rbuf, waited ? 0 : MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) { /* acks were dropped: only a failed batch answers that much */
        overrun = 1;
        continue;
      }
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && !waited && !last_acked && first_err == 0 && !overrun) {
        waited = 1; /* nothing queued yet (not expected): wait, up to SO_RCVTIMEO */
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (waited && !last_acked && first_err == 0 && !overrun) {
          free(ops);
          return throw_errno(env, "nf_tables receive (no answer)", ETIMEDOUT);
        }
        break; /* all read */
      }
      int e = errno;
      free(ops);
      return throw_errno(env, "nf_tables receive", e);
    }
    waited = 0;
    for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq < begin || h->nlmsg_seq > last + 1) continue; /* a stale answer */
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      const struct nlmsgerr *e = NLMSG_DATA(h);
      if (h->nlmsg_seq == last) last_acked = 1;
      if (e->error != 0 && first_err == 0) {
        first_err = -e->error;
        err_seq = h->nlmsg_seq;
      }
    }
  }
  if (first_err != 0 || overrun || !last_acked) {
    int err = first_err != 0 ? first_err : ENOBUFS;
    napi_value r = NULL;
    if (first_err != 0 && err_seq > begin && err_seq <= last)
      r = throw_batch_error(env, err, (long)(err_seq - begin - 1), &ops[err_seq - begin - 1]);
    else
      r = throw_batch_error(env, err, -1, NULL);
    free(ops);
    return r;
  }
  free(ops);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"run", NULL, run, NULL, NULL, NULL, napi_default_method, NULL},
      {"conntrackDelete", NULL, ct_delete, NULL, NULL, NULL, napi_default_method, NULL},
      {"setElements", NULL, set_elements, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, close_ctx, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls;
  CHECK(env, napi_define_class(env, "Nftables", NAPI_AUTO_LENGTH, ctor, NULL,
                               sizeof methods / sizeof methods[0], methods, &cls));
  CHECK(env, napi_set_named_property(env, exports, "Nftables", cls));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
