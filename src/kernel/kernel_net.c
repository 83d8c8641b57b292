/* kernel_net.c - a Jupyter kernel's sockets and threads: shell (the caller's thread), control,
 * heartbeat, and the output thread that owns iopub and turns the stdout and stderr pipes into
 * stream messages. libzmq, libcrypto and cJSON are called through the lazy loader (src/lazy.h),
 * so they are loaded only when a kernel starts. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <zmq.h>
#include "interrupt.h"
#include "io/atomic.h"
#include "kernel/kernel_net.h"

#define STREAM_DELAY_MS 50        /* output is gathered this long before it is sent */
#define STREAM_CHUNK    (1 << 16) /* and sent at once past this many bytes */
#define EXIT_LINGER_US  200000    /* time given to ZeroMQ to deliver the last messages */
#define PARENT_CHECK_MS 1000      /* how often the output thread checks its parent is alive */

/* What the output thread buffers for one of stdout and stderr. */
typedef struct {
  int fd;           /* the read end of the pipe */
  const char *name; /* "stdout" or "stderr" */
  char *buf;
  size_t len, cap;
} KernelStream;

struct Kernel {
  KernelSession session;
  void *ctx;
  void *shell, *control, *stdin_sock, *hb, *iopub;
  void *push; /* the shell thread's end of the pipe into the output thread */
  void *ack;  /* where the output thread says it has handled the shell thread's message */
  pthread_t main_thread;
  pid_t parent;     /* the process that started the kernel (the notebook server, a client) */
  pid_t jpy_parent; /* JPY_PARENT_PID: the client that manages the kernel, when it says */
  int log_fd;       /* the stderr the kernel was started with */
  KernelStream streams[2];
  cJSON *stream_parent; /* owned by the output thread */
  cJSON *info;          /* the kernel_info_reply content, read-only once set */
  char endpoint[5][300];
};

static const char *const PORT_NAMES[5] = {"shell_port", "iopub_port", "stdin_port", "control_port",
                                          "hb_port"};

void kernel_log(Kernel *k, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
  line[n] = '\n';
  /* One write per line, so lines of two threads do not interleave. */
  if (write(k->log_fd, "lunette kernel: ", 16) < 0 || write(k->log_fd, line, (size_t)n + 1) < 0)
    return;
}

/* ---- connection file -------------------------------------------------- */

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
      fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
  }
  fclose(f);
  return buf;
}

/* Fills k's key and endpoints from the connection file's JSON. */
static int read_connection(Kernel *k, const cJSON *c, char *err, size_t errlen) {
  const cJSON *transport = cJSON_GetObjectItemCaseSensitive(c, "transport");
  const cJSON *ip = cJSON_GetObjectItemCaseSensitive(c, "ip");
  const cJSON *key = cJSON_GetObjectItemCaseSensitive(c, "key");
  const cJSON *scheme = cJSON_GetObjectItemCaseSensitive(c, "signature_scheme");
  const char *tr = cJSON_IsString(transport) ? transport->valuestring : "tcp";
  if (!cJSON_IsString(ip) || (strcmp(tr, "tcp") != 0 && strcmp(tr, "ipc") != 0)) {
    snprintf(err, errlen, "the connection file needs \"ip\" and a tcp or ipc \"transport\"");
    return KERNEL_EMALFORMED;
  }
  if (cJSON_IsString(scheme) && strcmp(scheme->valuestring, "hmac-sha256") != 0) {
    snprintf(err, errlen, "signature_scheme %s is not supported (hmac-sha256)",
             scheme->valuestring);
    return KERNEL_EMALFORMED;
  }
  k->session.key.len = 0;
  if (cJSON_IsString(key)) {
    size_t len = strlen(key->valuestring);
    if (len > KERNEL_MAX_KEY) len = KERNEL_MAX_KEY;
    memcpy(k->session.key.key, key->valuestring, len);
    k->session.key.len = len;
  }
  for (int i = 0; i < 5; i++) {
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(c, PORT_NAMES[i]);
    if (!cJSON_IsNumber(port) || port->valueint <= 0) {
      snprintf(err, errlen, "the connection file has no %s", PORT_NAMES[i]);
      return KERNEL_EMALFORMED;
    }
    /* ipc endpoints are files named ip-port, as jupyter_client makes them. */
    snprintf(k->endpoint[i], sizeof k->endpoint[i],
             strcmp(tr, "tcp") == 0 ? "tcp://%s:%d" : "ipc://%s-%d", ip->valuestring,
             port->valueint);
  }
  return KERNEL_OK;
}

/* ---- frames ------------------------------------------------------------ */

/* Receives one multipart message from sock into a growing array of zmq messages. Returns the
 * number of frames, or -1 (errno set by ZeroMQ). The caller closes them with close_parts. */
static int recv_parts(void *sock, zmq_msg_t **parts, size_t *cap) {
  int n = 0;
  for (;;) {
    if ((size_t)n == *cap) {
      size_t ncap = *cap ? 2 * *cap : 8;
      zmq_msg_t *p = realloc(*parts, ncap * sizeof *p);
      if (p == NULL) return -1;
      *parts = p;
      *cap = ncap;
    }
    zmq_msg_init(&(*parts)[n]);
    if (zmq_msg_recv(&(*parts)[n], sock, 0) < 0) {
      zmq_msg_close(&(*parts)[n]);
      return -1;
    }
    n++;
    if (!zmq_msg_more(&(*parts)[n - 1])) return n;
  }
}

static void close_parts(zmq_msg_t *parts, int n) {
  for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
}

/* Receives and parses one request from sock; a bad one is logged and KERNEL_EMALFORMED or
 * KERNEL_ESIGNATURE returned; KERNEL_ESYS when the socket failed. */
static int recv_request(Kernel *k, void *sock, KernelMsg *msg) {
  zmq_msg_t *parts = NULL;
  size_t cap = 0;
  KernelFrame *frames;
  char err[200];
  int st, n = recv_parts(sock, &parts, &cap);
  if (n < 0) {
    free(parts);
    return KERNEL_ESYS;
  }
  frames = malloc((size_t)n * sizeof *frames);
  st = frames ? KERNEL_OK : KERNEL_ENOMEM;
  for (int i = 0; frames && i < n; i++) {
    frames[i].data = zmq_msg_data(&parts[i]);
    frames[i].size = zmq_msg_size(&parts[i]);
  }
  if (frames) st = kernel_msg_parse(frames, (size_t)n, &k->session.key, msg, err, sizeof err);
  if (st != KERNEL_OK) kernel_log(k, "dropped a message: %s", frames ? err : "out of memory");
  free(frames);
  close_parts(parts, n);
  free(parts);
  return st;
}

/* Sends the frames of w after `ids` (may be none) and the delimiter on sock. */
static int send_wire(void *sock, const KernelFrame *ids, size_t nids, const KernelWire *w) {
  for (size_t i = 0; i < nids; i++)
    if (zmq_send(sock, ids[i].data, ids[i].size, ZMQ_SNDMORE) < 0) return KERNEL_ESYS;
  if (zmq_send(sock, KERNEL_DELIM, sizeof(KERNEL_DELIM) - 1, ZMQ_SNDMORE) < 0) return KERNEL_ESYS;
  for (int i = 0; i < 5; i++)
    if (zmq_send(sock, w->part[i], w->len[i], i < 4 ? ZMQ_SNDMORE : 0) < 0) return KERNEL_ESYS;
  return KERNEL_OK;
}

static int reply_on(Kernel *k, void *sock, const KernelMsg *req, const char *msg_type,
                    const cJSON *content) {
  KernelWire w;
  int st = kernel_msg_encode(&k->session, msg_type, req->header, NULL, content, &w);
  if (st != KERNEL_OK) return st;
  st = send_wire(sock, req->ids, req->nids, &w);
  kernel_wire_free(&w);
  return st;
}

int kernel_reply(Kernel *k, const KernelMsg *req, const char *msg_type, const cJSON *content) {
  return reply_on(k, k->shell, req, msg_type, content);
}

/* Sends a tagged message to the output thread through `push` (each thread has its own: ZeroMQ
 * sockets are not thread-safe): tag 'M' and the frames of a message to publish, 'P' and a
 * parent header for streams, 'X' to send everything and exit. */
static int send_tagged(void *push, char tag, const KernelWire *w, const char *extra, size_t n) {
  int more = w || extra ? ZMQ_SNDMORE : 0;
  if (zmq_send(push, &tag, 1, more) < 0) return KERNEL_ESYS;
  if (w) return send_wire(push, NULL, 0, w);
  if (extra && zmq_send(push, extra, n, 0) < 0) return KERNEL_ESYS;
  return KERNEL_OK;
}

/* send_tagged from the shell thread, then waits until the output thread has handled it: what
 * the pipes hold when the output thread gets the message was written before it (the shell
 * thread writes nothing while it waits), and what comes after belongs to the next one. */
static int shell_tagged(Kernel *k, char tag, const KernelWire *w, const char *extra, size_t n) {
  char ack;
  int st = send_tagged(k->push, tag, w, extra, n);
  while (st == KERNEL_OK && zmq_recv(k->ack, &ack, 1, 0) < 0)
    if (zmq_errno() != EINTR) st = KERNEL_ESYS;
  return st;
}

int kernel_publish(Kernel *k, const KernelMsg *parent, const char *msg_type, const cJSON *metadata,
                   const cJSON *content) {
  KernelWire w;
  int st;
  kernel_flush(k);
  st = kernel_msg_encode(&k->session, msg_type, parent ? parent->header : NULL, metadata, content,
                         &w);
  if (st != KERNEL_OK) return st;
  st = shell_tagged(k, 'M', &w, NULL, 0);
  kernel_wire_free(&w);
  return st;
}

void kernel_set_info(Kernel *k, const cJSON *content) { k->info = cJSON_Duplicate(content, 1); }

void kernel_flush(Kernel *k) {
  fflush(stdout);
  fflush(stderr);
}

void kernel_set_parent(Kernel *k, const KernelMsg *parent) {
  char *h = parent ? cJSON_PrintUnformatted(parent->header) : NULL;
  kernel_flush(k);
  shell_tagged(k, 'P', NULL, h ? h : "{}", h ? strlen(h) : 2);
  free(h);
}

/* ---- output thread ------------------------------------------------------- */

/* Sends the whole UTF-8 characters buffered in s as one stream message on iopub, keeping a
 * character cut at the end for the next read. */
static void send_stream(Kernel *k, KernelStream *s) {
  size_t n = kernel_utf8_cut(s->buf, s->len);
  cJSON *content;
  KernelWire w;
  if (n == 0) return;
  content = cJSON_CreateObject();
  if (content && cJSON_AddStringToObject(content, "name", s->name) &&
      cJSON_AddItemToObject(content, "text", kernel_json_text(s->buf, n)) &&
      kernel_msg_encode(&k->session, "stream", k->stream_parent, NULL, content, &w) == KERNEL_OK) {
    send_wire(k->iopub, NULL, 0, &w);
    kernel_wire_free(&w);
  }
  cJSON_Delete(content);
  memmove(s->buf, s->buf + n, s->len - n);
  s->len -= n;
}

/* Reads what the pipe of s holds now (non-blocking); returns 0 at end of file or error. */
static int read_stream(Kernel *k, KernelStream *s) {
  for (;;) {
    ssize_t got;
    if (s->cap - s->len < 4096) {
      size_t ncap = s->cap ? 2 * s->cap : STREAM_CHUNK;
      char *b = realloc(s->buf, ncap);
      if (b == NULL) return 0;
      s->buf = b;
      s->cap = ncap;
    }
    got = read(s->fd, s->buf + s->len, s->cap - s->len);
    if (got > 0) {
      /* What the other stream holds was read, so written, before: it goes out first. */
      KernelStream *other = s == &k->streams[0] ? &k->streams[1] : &k->streams[0];
      if (other->len > 0) send_stream(k, other);
      s->len += (size_t)got;
      if (s->len >= STREAM_CHUNK) send_stream(k, s);
      continue;
    }
    return got < 0 && (errno == EAGAIN || errno == EINTR);
  }
}

/* Handles one tagged message from the shell or control thread (see send_tagged). */
static void handle_tagged(Kernel *k, zmq_msg_t *parts, int n) {
  char tag = zmq_msg_size(&parts[0]) == 1 ? *(char *)zmq_msg_data(&parts[0]) : '?';
  /* Output written before the message was sent is in the pipes now: send it first. */
  for (int i = 0; i < 2; i++) {
    read_stream(k, &k->streams[i]);
    send_stream(k, &k->streams[i]);
  }
  if (tag == 'M') {
    for (int i = 1; i < n; i++)
      zmq_send(k->iopub, zmq_msg_data(&parts[i]), zmq_msg_size(&parts[i]),
               i + 1 < n ? ZMQ_SNDMORE : 0);
  } else if (tag == 'P' && n == 2) {
    cJSON_Delete(k->stream_parent);
    k->stream_parent = cJSON_ParseWithLength(zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]));
  } else if (tag == 'X') {
    usleep(EXIT_LINGER_US);
    lt_atomic_sweep();
    _exit(n == 2 && zmq_msg_size(&parts[1]) == 1 ? *(char *)zmq_msg_data(&parts[1]) : 0);
  }
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void *output_thread(void *arg) {
  Kernel *k = arg;
  void *pull = zmq_socket(k->ctx, ZMQ_PULL);
  void *ack = zmq_socket(k->ctx, ZMQ_PAIR);
  zmq_msg_t *parts = NULL;
  size_t cap = 0;
  long first = -1; /* when the oldest unsent output was read */
  if (pull == NULL || zmq_bind(pull, "inproc://lunette-output") != 0) return NULL;
  if (ack == NULL || zmq_bind(ack, "inproc://lunette-ack") != 0) return NULL;
  for (;;) {
    zmq_pollitem_t items[3] = {{pull, 0, ZMQ_POLLIN, 0},
                               {NULL, k->streams[0].fd, ZMQ_POLLIN, 0},
                               {NULL, k->streams[1].fd, ZMQ_POLLIN, 0}};
    long wait = first < 0 ? PARENT_CHECK_MS : first + STREAM_DELAY_MS - now_ms();
    int n;
    if (zmq_poll(items, 3, wait < 0 ? 0 : wait) < 0 && zmq_errno() != EINTR) break;
    /* Orphaned (the server or client died without a shutdown): nobody can reach the kernel any
     * more, so it ends instead of running on, as ipykernel's parent poller does. */
    if (getppid() != k->parent ||
        (k->jpy_parent > 0 && kill(k->jpy_parent, 0) != 0 && errno == ESRCH)) {
      kernel_log(k, "the process that started the kernel is gone; exiting");
      lt_atomic_sweep();
      _exit(0);
    }
    for (int i = 0; i < 2; i++)
      if (items[i + 1].revents & ZMQ_POLLIN) read_stream(k, &k->streams[i]);
    if (items[0].revents & ZMQ_POLLIN) {
      n = recv_parts(pull, &parts, &cap);
      if (n > 0) handle_tagged(k, parts, n);
      if (n > 0) close_parts(parts, n);
      /* Only the shell thread sends 'M' and 'P', and it waits for this. */
      if (n > 0) zmq_send(ack, "", 1, 0);
    }
    if ((k->streams[0].len > 0 || k->streams[1].len > 0) && first < 0) first = now_ms();
    /* After a send only a cut character may be left: it waits, untimed, for its end. */
    if (first >= 0 && now_ms() - first >= STREAM_DELAY_MS) {
      send_stream(k, &k->streams[0]);
      send_stream(k, &k->streams[1]);
      first = -1;
    }
  }
  return NULL;
}

/* ---- heartbeat and control ------------------------------------------------ */

static void *heartbeat_thread(void *arg) {
  Kernel *k = arg;
  /* The heartbeat is an echo: whatever comes back proves the process is alive. */
  for (;;) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, k->hb, 0) < 0) {
      zmq_msg_close(&m);
      if (zmq_errno() == EINTR) continue;
      return NULL;
    }
    zmq_msg_send(&m, k->hb, 0);
    zmq_msg_close(&m);
  }
}

/* One control request: interrupt, shutdown (and restart, which the client does by starting a
 * new process), kernel_info; anything else is logged and dropped. */
static void handle_control(Kernel *k, const KernelMsg *req, void *push) {
  cJSON *content = cJSON_CreateObject();
  if (strcmp(req->msg_type, "interrupt_request") == 0) {
    /* Exactly what the notebook server's SIGINT does: host_docall's handler in that thread. */
    pthread_kill(k->main_thread, SIGINT);
    cJSON_AddStringToObject(content, "status", "ok");
    reply_on(k, k->control, req, "interrupt_reply", content);
  } else if (strcmp(req->msg_type, "shutdown_request") == 0) {
    const cJSON *restart = cJSON_GetObjectItemCaseSensitive(req->content, "restart");
    char status = 0;
    cJSON_AddStringToObject(content, "status", "ok");
    cJSON_AddBoolToObject(content, "restart", cJSON_IsTrue(restart));
    reply_on(k, k->control, req, "shutdown_reply", content);
    send_tagged(push, 'X', NULL, &status, 1);
  } else if (strcmp(req->msg_type, "kernel_info_request") == 0 && k->info) {
    reply_on(k, k->control, req, "kernel_info_reply", k->info);
  } else {
    kernel_log(k, "control: dropped a %s (not handled on control)", req->msg_type);
  }
  cJSON_Delete(content);
}

static void *control_thread(void *arg) {
  Kernel *k = arg;
  void *push = zmq_socket(k->ctx, ZMQ_PUSH);
  if (push == NULL || zmq_connect(push, "inproc://lunette-output") != 0) return NULL;
  for (;;) {
    KernelMsg req;
    int st = recv_request(k, k->control, &req);
    if (st == KERNEL_ESYS && zmq_errno() != EINTR) return NULL;
    if (st != KERNEL_OK) continue;
    handle_control(k, &req, push);
    kernel_msg_free(&req);
  }
}

_Noreturn void kernel_exit(Kernel *k, int status) {
  char s = (char)status;
  kernel_flush(k);
  send_tagged(k->push, 'X', NULL, &s, 1);
  /* The output thread exits the process; this thread only waits for it. */
  for (;;) pause();
}

/* ---- start ------------------------------------------------------------- */

/* A random session id, from /dev/urandom when it can be read. */
static void make_session_id(KernelSession *s) {
  unsigned char r[16] = {0};
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r) {
    unsigned long t = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
    memcpy(r, &t, sizeof t);
  }
  if (fd >= 0) close(fd);
  for (int i = 0; i < 16; i++) snprintf(s->id + 2 * i, 3, "%02x", r[i]);
}

static int bind_sockets(Kernel *k, char *err, size_t errlen) {
  static const int types[5] = {ZMQ_ROUTER, ZMQ_PUB, ZMQ_ROUTER, ZMQ_ROUTER, ZMQ_REP};
  void **socks[5] = {&k->shell, &k->iopub, &k->stdin_sock, &k->control, &k->hb};
  int linger = 1000;
  for (int i = 0; i < 5; i++) {
    *socks[i] = zmq_socket(k->ctx, types[i]);
    if (*socks[i] == NULL || zmq_bind(*socks[i], k->endpoint[i]) != 0) {
      snprintf(err, errlen, "cannot bind %s: %s", k->endpoint[i], zmq_strerror(zmq_errno()));
      return KERNEL_ESYS;
    }
    zmq_setsockopt(*socks[i], ZMQ_LINGER, &linger, sizeof linger);
  }
  k->push = zmq_socket(k->ctx, ZMQ_PUSH);
  k->ack = zmq_socket(k->ctx, ZMQ_PAIR);
  return k->push && k->ack ? KERNEL_OK : KERNEL_ESYS;
}

/* Points descriptors 1 and 2 into non-blocking pipes for the output thread, 0 at /dev/null
 * (a notebook has no terminal to read), and keeps the old 2 for the log. */
static int redirect_output(Kernel *k) {
  int null = open("/dev/null", O_RDONLY);
  if (null >= 0) {
    dup2(null, 0);
    close(null);
  }
  k->log_fd = dup(2);
  for (int i = 0; i < 2; i++) {
    int p[2];
    if (pipe(p) != 0) return KERNEL_ESYS;
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    dup2(p[1], i + 1);
    close(p[1]);
    k->streams[i].fd = p[0];
    k->streams[i].name = i == 0 ? "stdout" : "stderr";
  }
  /* Line-buffered: print (which flushes) and whole lines go out as they are written. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  return k->log_fd >= 0 ? KERNEL_OK : KERNEL_ESYS;
}

/* Binds everything and starts the threads, with SIGINT and SIGTERM blocked so that only the
 * shell thread (which unblocks them again) ever runs their handlers. */
static int start(Kernel *k, char *err, size_t errlen) {
  sigset_t block, old;
  pthread_t t;
  int st;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  k->ctx = zmq_ctx_new();
  st = k->ctx ? bind_sockets(k, err, errlen) : KERNEL_ESYS;
  if (st == KERNEL_OK) st = redirect_output(k);
  if (st == KERNEL_OK && (pthread_create(&t, NULL, output_thread, k) != 0 ||
                          pthread_create(&t, NULL, heartbeat_thread, k) != 0 ||
                          pthread_create(&t, NULL, control_thread, k) != 0))
    st = KERNEL_ESYS;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (st != KERNEL_OK) return st;
  /* The output thread binds the inproc endpoint; connecting first is allowed by ZeroMQ. */
  if (zmq_connect(k->ack, "inproc://lunette-ack") != 0) return KERNEL_ESYS;
  return zmq_connect(k->push, "inproc://lunette-output") == 0 ? KERNEL_OK : KERNEL_ESYS;
}

int kernel_open(const char *path, Kernel **out, char *err, size_t errlen) {
  char *text = read_file(path);
  cJSON *conn = text ? cJSON_Parse(text) : NULL;
  Kernel *k = calloc(1, sizeof *k);
  int st = KERNEL_OK;
  free(text);
  if (conn == NULL || k == NULL) {
    snprintf(err, errlen, "cannot read the connection file %s", path);
    st = KERNEL_EMALFORMED;
  }
  if (st == KERNEL_OK) st = read_connection(k, conn, err, errlen);
  cJSON_Delete(conn);
  if (st != KERNEL_OK) {
    free(k);
    return st;
  }
  k->log_fd = 2;
  k->main_thread = pthread_self();
  k->parent = getppid();
  k->jpy_parent = getenv("JPY_PARENT_PID") ? (pid_t)atol(getenv("JPY_PARENT_PID")) : 0;
  make_session_id(&k->session);
  st = start(k, err, errlen);
  if (st != KERNEL_OK) {
    if (!err[0]) snprintf(err, errlen, "cannot start: %s", strerror(errno));
    return st; /* the process is about to exit: the half-started kernel is not undone */
  }
  *out = k;
  return KERNEL_OK;
}

int kernel_recv(Kernel *k, KernelMsg *msg) {
  for (;;) {
    int st = recv_request(k, k->shell, msg);
    if (st == KERNEL_OK) return st;
    if (st == KERNEL_ESYS && zmq_errno() != EINTR) return st;
  }
}

int kernel_pending(Kernel *k) {
  zmq_pollitem_t item = {k->shell, 0, ZMQ_POLLIN, 0};
  return zmq_poll(&item, 1, 0) > 0 && (item.revents & ZMQ_POLLIN);
}

int kernel_input(Kernel *k, const KernelMsg *req, const char *prompt, int password, char **value) {
  cJSON *content = cJSON_CreateObject();
  int st;
  *value = NULL;
  cJSON_AddStringToObject(content, "prompt", prompt);
  cJSON_AddBoolToObject(content, "password", password);
  kernel_flush(k);
  st = reply_on(k, k->stdin_sock, req, "input_request", content);
  cJSON_Delete(content);
  while (st == KERNEL_OK) {
    KernelMsg reply;
    const cJSON *v;
    zmq_pollitem_t item = {k->stdin_sock, 0, ZMQ_POLLIN, 0};
    /* Polled in steps, so that an interrupt (SIGINT sets the flag) ends the wait. */
    if (lt_interrupt_pending()) return KERNEL_EINTERRUPTED;
    if (zmq_poll(&item, 1, 100) <= 0) continue;
    st = recv_request(k, k->stdin_sock, &reply);
    if (st == KERNEL_ESYS && zmq_errno() == EINTR) st = KERNEL_OK;
    if (st != KERNEL_OK) {
      st = st == KERNEL_ESYS ? st : KERNEL_OK; /* a bad message is dropped: wait on */
      continue;
    }
    v = cJSON_GetObjectItemCaseSensitive(reply.content, "value");
    if (strcmp(reply.msg_type, "input_reply") == 0 && cJSON_IsString(v)) {
      *value = strdup(v->valuestring);
      kernel_msg_free(&reply);
      return *value ? KERNEL_OK : KERNEL_ENOMEM;
    }
    kernel_log(k, "stdin: dropped a %s", reply.msg_type);
    kernel_msg_free(&reply);
  }
  return st;
}
