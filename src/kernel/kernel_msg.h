/* kernel_msg.h - Jupyter messages (protocol 5.3) on the wire: the frames of a request parsed and
 * its signature checked, a message signed and serialized. No sockets here (kernel_net.h). */
#ifndef LUNETTE_KERNEL_MSG_H
#define LUNETTE_KERNEL_MSG_H
#include <stddef.h>

struct cJSON; /* as in <cjson/cJSON.h> */

#define KERNEL_PROTOCOL_VERSION "5.3"
#define KERNEL_DELIM            "<IDS|MSG>"
#define KERNEL_MAX_KEY          256 /* bytes of the signing key kept */

enum {
  KERNEL_OK = 0,
  KERNEL_EMALFORMED = 1, /* frames or JSON not a Jupyter message */
  KERNEL_ESIGNATURE = 2, /* the HMAC does not match: the sender lacks the key */
  KERNEL_ENOMEM = 3,
  KERNEL_ESYS = 4,        /* a system or ZeroMQ call failed (errno says why) */
  KERNEL_EINTERRUPTED = 5 /* SIGINT came while waiting */
};

/* One frame of a multipart message: bytes the caller owns. */
typedef struct {
  const void *data;
  size_t size;
} KernelFrame;

/* The signing key: HMAC-SHA256 with `key`, or no signing when len is 0 (an empty key in the
 * connection file means the kernel trusts its sockets). */
typedef struct {
  unsigned char key[KERNEL_MAX_KEY];
  size_t len;
} KernelKey;

/* A parsed request. Owns everything: the routing identities (copied frames) and the four JSON
 * dicts. msg_type and msg_id point into header. */
typedef struct {
  KernelFrame *ids;
  size_t nids;
  struct cJSON *header, *parent, *metadata, *content;
  const char *msg_type, *msg_id;
} KernelMsg;

/* Who signs outgoing messages: the key, the kernel's session id (a UUID-like string made at
 * start) and the counter that numbers message ids (atomic: the shell, control and output
 * threads all send). */
typedef struct {
  KernelKey key;
  char id[40];
  _Atomic unsigned long seq;
} KernelSession;

/* The frames of an outgoing message after the identities and the delimiter: the signature (64
 * hex digits, or empty without a key), then header, parent header, metadata and content as
 * compact JSON. Owned; released by kernel_wire_free. */
typedef struct {
  char *part[5];
  size_t len[5];
} KernelWire;

/* Parses the n frames of one request (identities, "<IDS|MSG>", signature, header, parent,
 * metadata, content, then extra buffers, which are ignored) into *out, checking the signature
 * with `key` in constant time. On failure *out holds nothing to free, and err (errlen bytes)
 * says why for the log. Returns KERNEL_OK, KERNEL_EMALFORMED, KERNEL_ESIGNATURE or
 * KERNEL_ENOMEM. Never trusts a size or a field: any bytes are safe input. */
int kernel_msg_parse(const KernelFrame *frames, size_t n, const KernelKey *key, KernelMsg *out,
                     char *err, size_t errlen);

/* Frees what kernel_msg_parse allocated and zeroes *msg; safe on a zeroed message. */
void kernel_msg_free(KernelMsg *msg);

/* Builds the frames of a message of type msg_type, signed for session s, in reply to (or
 * caused by) `parent` (a header dict, or NULL for none), with `metadata` and `content` (NULL
 * for {}). Nothing passed in is taken over. Returns KERNEL_OK or KERNEL_ENOMEM (then *out
 * holds nothing). */
int kernel_msg_encode(KernelSession *s, const char *msg_type, const struct cJSON *parent,
                      const struct cJSON *metadata, const struct cJSON *content, KernelWire *out);

/* Frees the frames of kernel_msg_encode and zeroes *w. */
void kernel_wire_free(KernelWire *w);

/* Writes into hex (65 bytes) the HMAC-SHA256 hex digest of the n parts, one after the other,
 * under key; the empty string when the key is empty. Returns KERNEL_OK or KERNEL_ENOMEM. */
int kernel_sign(const KernelKey *key, const char *const *parts, const size_t *lens, size_t n,
                char hex[65]);

/* The length of s[0..len) without a UTF-8 character cut by its end (one whose first bytes
 * are valid so far), so that output read in chunks is sent in whole characters. */
size_t kernel_utf8_cut(const char *s, size_t len);

/* A cJSON string holding s[0..len) with every invalid UTF-8 byte, and every NUL, replaced by
 * U+FFFD (Lua strings and program output are bytes). NULL when out of memory. */
struct cJSON *kernel_json_text(const char *s, size_t len);

/* A cJSON string holding the base64 encoding of data[0..len) (image/png in display data).
 * NULL when out of memory. */
struct cJSON *kernel_json_base64(const void *data, size_t len);

#endif
