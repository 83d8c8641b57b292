/* kernel_msg.c - Jupyter wire messages: parse and check requests, sign and serialize replies.
 * cJSON and libcrypto's HMAC are called through the lazy loader (src/lazy.h) in lunette, and
 * directly in the fuzz harness (tests/fuzz/fuzz_kernel.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "kernel/kernel_msg.h"

#define DIGEST_HEX 64 /* hex digits of an HMAC-SHA256 digest */

static void set_err(char *err, size_t errlen, const char *msg) {
  if (errlen > 0) snprintf(err, errlen, "%s", msg);
}

int kernel_sign(const KernelKey *key, const char *const *parts, const size_t *lens, size_t n,
                char hex[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  size_t total = 0, at = 0;
  char *buf;
  hex[0] = '\0';
  if (key->len == 0) return KERNEL_OK;
  /* The one-shot HMAC() is the part of the API OpenSSL 3 keeps undeprecated; it wants the
   * signed bytes in one buffer. */
  for (size_t i = 0; i < n; i++) total += lens[i];
  buf = malloc(total + 1);
  if (buf == NULL) return KERNEL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    memcpy(buf + at, parts[i], lens[i]);
    at += lens[i];
  }
  if (HMAC(EVP_sha256(), key->key, (int)key->len, (unsigned char *)buf, total, md, &mdlen) ==
      NULL) {
    free(buf);
    return KERNEL_ENOMEM;
  }
  free(buf);
  for (unsigned int i = 0; i < mdlen && i < DIGEST_HEX / 2; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  return KERNEL_OK;
}

void kernel_msg_free(KernelMsg *msg) {
  for (size_t i = 0; i < msg->nids; i++) free((void *)msg->ids[i].data);
  free(msg->ids);
  cJSON_Delete(msg->header);
  cJSON_Delete(msg->parent);
  cJSON_Delete(msg->metadata);
  cJSON_Delete(msg->content);
  memset(msg, 0, sizeof *msg);
}

/* Copies the identity frames (everything before the delimiter) into msg. */
static int copy_ids(const KernelFrame *frames, size_t nids, KernelMsg *msg) {
  msg->ids = calloc(nids ? nids : 1, sizeof *msg->ids);
  if (msg->ids == NULL) return KERNEL_ENOMEM;
  for (size_t i = 0; i < nids; i++) {
    void *p = malloc(frames[i].size ? frames[i].size : 1);
    if (p == NULL) return KERNEL_ENOMEM;
    memcpy(p, frames[i].data, frames[i].size);
    msg->ids[i].data = p;
    msg->ids[i].size = frames[i].size;
    msg->nids = i + 1;
  }
  return KERNEL_OK;
}

/* Parses one frame that must hold a JSON object; NULL otherwise. */
static cJSON *parse_dict(const KernelFrame *f) {
  cJSON *j = cJSON_ParseWithLength(f->data, f->size);
  if (j != NULL && !cJSON_IsObject(j)) {
    cJSON_Delete(j);
    return NULL;
  }
  return j;
}

/* Checks frames[0] (the signature) against the HMAC of frames[1..4], in constant time. */
static int check_signature(const KernelFrame *frames, const KernelKey *key) {
  const char *parts[4];
  size_t lens[4];
  char hex[65];
  if (key->len == 0) return KERNEL_OK;
  if (frames[0].size != DIGEST_HEX) return KERNEL_ESIGNATURE;
  for (int i = 0; i < 4; i++) {
    parts[i] = frames[i + 1].data;
    lens[i] = frames[i + 1].size;
  }
  if (kernel_sign(key, parts, lens, 4, hex) != KERNEL_OK) return KERNEL_ENOMEM;
  /* Constant time: a timing difference would leak how much of a forged digest is right. */
  return CRYPTO_memcmp(hex, frames[0].data, DIGEST_HEX) == 0 ? KERNEL_OK : KERNEL_ESIGNATURE;
}

/* Fills the four dicts of msg from frames[1..4] and checks the header's fields. */
static int parse_dicts(const KernelFrame *frames, KernelMsg *msg, char *err, size_t errlen) {
  const cJSON *type, *id;
  msg->header = parse_dict(&frames[1]);
  msg->parent = parse_dict(&frames[2]);
  msg->metadata = parse_dict(&frames[3]);
  msg->content = parse_dict(&frames[4]);
  if (!msg->header || !msg->parent || !msg->metadata || !msg->content) {
    set_err(err, errlen, "a header, parent, metadata or content frame is not a JSON object");
    return KERNEL_EMALFORMED;
  }
  type = cJSON_GetObjectItemCaseSensitive(msg->header, "msg_type");
  id = cJSON_GetObjectItemCaseSensitive(msg->header, "msg_id");
  if (!cJSON_IsString(type) || !cJSON_IsString(id)) {
    set_err(err, errlen, "the header has no string msg_type or msg_id");
    return KERNEL_EMALFORMED;
  }
  msg->msg_type = type->valuestring;
  msg->msg_id = id->valuestring;
  return KERNEL_OK;
}

int kernel_msg_parse(const KernelFrame *frames, size_t n, const KernelKey *key, KernelMsg *out,
                     char *err, size_t errlen) {
  size_t d = 0;
  size_t dl = sizeof(KERNEL_DELIM) - 1;
  int st;
  memset(out, 0, sizeof *out);
  while (d < n && !(frames[d].size == dl && memcmp(frames[d].data, KERNEL_DELIM, dl) == 0)) d++;
  /* After the delimiter: signature, header, parent, metadata, content (buffers may follow). */
  if (d == n || n - d - 1 < 5) {
    set_err(err, errlen, "no <IDS|MSG> delimiter followed by five frames");
    return KERNEL_EMALFORMED;
  }
  st = check_signature(frames + d + 1, key);
  if (st == KERNEL_ESIGNATURE) set_err(err, errlen, "bad signature");
  if (st == KERNEL_OK) st = copy_ids(frames, d, out);
  if (st == KERNEL_OK) st = parse_dicts(frames + d + 1, out, err, errlen);
  if (st == KERNEL_ENOMEM) set_err(err, errlen, "out of memory");
  if (st != KERNEL_OK) kernel_msg_free(out);
  return st;
}

void kernel_wire_free(KernelWire *w) {
  for (int i = 0; i < 5; i++) free(w->part[i]);
  memset(w, 0, sizeof *w);
}

/* The header of a new message: a fresh msg_id, the session, an ISO 8601 UTC date. */
static cJSON *new_header(KernelSession *s, const char *msg_type) {
  char id[80], date[80];
  struct timespec ts;
  struct tm tm;
  cJSON *h = cJSON_CreateObject();
  unsigned long seq = ++s->seq;
  snprintf(id, sizeof id, "%s_%lu", s->id, seq);
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(date, sizeof date, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
  if (h == NULL) return NULL;
  /* cJSON_Add*ToObject return NULL on failure; the caller checks the printed result. */
  cJSON_AddStringToObject(h, "msg_id", id);
  cJSON_AddStringToObject(h, "username", "lunette");
  cJSON_AddStringToObject(h, "session", s->id);
  cJSON_AddStringToObject(h, "date", date);
  cJSON_AddStringToObject(h, "msg_type", msg_type);
  cJSON_AddStringToObject(h, "version", KERNEL_PROTOCOL_VERSION);
  return h;
}

/* Compact JSON of j, "{}" for NULL; NULL when out of memory. */
static char *print_dict(const cJSON *j) {
  char *p;
  if (j != NULL) return cJSON_PrintUnformatted(j);
  p = malloc(3);
  if (p != NULL) memcpy(p, "{}", 3);
  return p;
}

int kernel_msg_encode(KernelSession *s, const char *msg_type, const cJSON *parent,
                      const cJSON *metadata, const cJSON *content, KernelWire *out) {
  cJSON *header = new_header(s, msg_type);
  char hex[65];
  int ok;
  memset(out, 0, sizeof *out);
  out->part[1] = header ? cJSON_PrintUnformatted(header) : NULL;
  cJSON_Delete(header);
  out->part[2] = print_dict(parent);
  out->part[3] = print_dict(metadata);
  out->part[4] = print_dict(content);
  ok = out->part[1] && out->part[2] && out->part[3] && out->part[4];
  for (int i = 1; ok && i < 5; i++) out->len[i] = strlen(out->part[i]);
  ok = ok &&
       kernel_sign(&s->key, (const char *const *)out->part + 1, out->len + 1, 4, hex) == KERNEL_OK;
  out->part[0] = ok ? strdup(hex) : NULL;
  if (out->part[0] == NULL) {
    kernel_wire_free(out);
    return KERNEL_ENOMEM;
  }
  out->len[0] = strlen(hex);
  return KERNEL_OK;
}

/* Length of the UTF-8 sequence starting at s[0..n) when it is valid and complete; 0 when
 * invalid; -1 when valid so far but cut by the end. */
static int utf8_seq(const unsigned char *s, size_t n) {
  int len;
  unsigned lo = 0x80, hi = 0xBF;
  if (s[0] < 0x80) return 1;
  if (s[0] < 0xC2 || s[0] > 0xF4) return 0;
  len = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
  /* The first continuation byte's range excludes overlong forms and surrogates. */
  if (s[0] == 0xE0) lo = 0xA0;
  if (s[0] == 0xED) hi = 0x9F;
  if (s[0] == 0xF0) lo = 0x90;
  if (s[0] == 0xF4) hi = 0x8F;
  for (int i = 1; i < len; i++) {
    if ((size_t)i >= n) return -1;
    if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xBF)) return 0;
  }
  return len;
}

size_t kernel_utf8_cut(const char *s, size_t len) {
  /* Only the last three bytes can start a character that continues past the end. */
  for (size_t j = len; j > 0 && len - j < 3; j--) {
    unsigned char c = (unsigned char)s[j - 1];
    if (c < 0x80) break;
    if (c >= 0xC0) {
      if (utf8_seq((const unsigned char *)s + j - 1, len - j + 1) == -1) return j - 1;
      break;
    }
  }
  return len;
}

cJSON *kernel_json_text(const char *s, size_t len) {
  /* At worst every byte becomes the three bytes of U+FFFD. */
  char *buf = malloc(3 * len + 1);
  size_t o = 0;
  cJSON *j;
  if (buf == NULL) return NULL;
  for (size_t i = 0; i < len;) {
    int k = utf8_seq((const unsigned char *)s + i, len - i);
    /* NUL is valid UTF-8 but would end the C string cJSON copies: it becomes U+FFFD too. */
    if (k > 0 && s[i] != '\0') {
      memcpy(buf + o, s + i, (size_t)k);
      o += (size_t)k;
      i += (size_t)k;
    } else {
      memcpy(buf + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
    }
  }
  buf[o] = '\0';
  j = cJSON_CreateString(buf);
  free(buf);
  return j;
}

cJSON *kernel_json_base64(const void *data, size_t len) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *p = data;
  char *buf = malloc(4 * ((len + 2) / 3) + 1);
  size_t o = 0;
  cJSON *j;
  if (buf == NULL) return NULL;
  for (size_t i = 0; i < len; i += 3) {
    unsigned v = (unsigned)p[i] << 16;
    if (i + 1 < len) v |= (unsigned)p[i + 1] << 8;
    if (i + 2 < len) v |= p[i + 2];
    buf[o++] = tab[v >> 18 & 63];
    buf[o++] = tab[v >> 12 & 63];
    buf[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
    buf[o++] = i + 2 < len ? tab[v & 63] : '=';
  }
  buf[o] = '\0';
  j = cJSON_CreateString(buf);
  free(buf);
  return j;
}
