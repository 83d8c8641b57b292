/* fuzz_kernel.c - libFuzzer harness: the Jupyter kernel's message parser (src/kernel/kernel_msg.c),
 * linked with cJSON and libcrypto directly (not through lunette's lazy loader). The input is
 * split into frames at every 0x1E byte; the first byte's low bit picks the signing key
 * ("fuzzkey") or none. A message that parses is re-encoded as a reply and must parse back. */
#include <stdint.h>
#include <cjson/cJSON.h>
#include "fuzz.h"
#include "kernel/kernel_msg.h"

#define MAX_FRAMES 64

/* Splits data into at most MAX_FRAMES frames at 0x1E; returns the count. */
static size_t split(const uint8_t *data, size_t n, KernelFrame *frames) {
  size_t k = 0, start = 0;
  for (size_t i = 0; i <= n && k < MAX_FRAMES; i++) {
    if (i == n || data[i] == 0x1E) {
      frames[k].data = data + start;
      frames[k].size = i - start;
      k++;
      start = i + 1;
    }
  }
  return k;
}

/* Encodes a reply to msg and parses it back: the signature and dicts must survive. */
static void round_trip(KernelSession *s, const KernelMsg *msg) {
  KernelWire w;
  KernelFrame frames[6];
  KernelMsg back;
  char err[128];
  FUZZ_CHECK(kernel_msg_encode(s, "fuzz_reply", msg->header, msg->metadata, msg->content, &w) ==
             KERNEL_OK);
  frames[0].data = KERNEL_DELIM;
  frames[0].size = sizeof(KERNEL_DELIM) - 1;
  for (int i = 0; i < 5; i++) {
    frames[i + 1].data = w.part[i];
    frames[i + 1].size = w.len[i];
  }
  FUZZ_CHECK(kernel_msg_parse(frames, 6, &s->key, &back, err, sizeof err) == KERNEL_OK);
  FUZZ_CHECK(strcmp(back.msg_type, "fuzz_reply") == 0);
  FUZZ_CHECK(back.nids == 0);
  kernel_msg_free(&back);
  kernel_wire_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  static KernelFrame frames[MAX_FRAMES];
  KernelSession s;
  KernelMsg msg;
  char err[128];
  size_t k;
  memset(&s, 0, sizeof s);
  memcpy(s.id, "fuzz-session", 13);
  if (n > 0 && (data[0] & 1)) {
    memcpy(s.key.key, "fuzzkey", 7);
    s.key.len = 7;
  }
  if (n > 0) {
    data++;
    n--;
  }
  k = split(data, n, frames);
  if (kernel_msg_parse(frames, k, &s.key, &msg, err, sizeof err) == KERNEL_OK) {
    FUZZ_CHECK(msg.msg_type != NULL && msg.msg_id != NULL);
    FUZZ_CHECK(cJSON_IsObject(msg.content) && cJSON_IsObject(msg.parent));
    round_trip(&s, &msg);
    kernel_msg_free(&msg);
  } else {
    FUZZ_CHECK(err[0] != '\0');
    FUZZ_CHECK(msg.header == NULL && msg.ids == NULL);
  }
  /* The text helpers see the same bytes: U+FFFD for anything invalid, never a crash. */
  cJSON_Delete(kernel_json_text((const char *)data, n));
  cJSON_Delete(kernel_json_base64(data, n));
  FUZZ_CHECK(kernel_utf8_cut((const char *)data, n) + 3 >= n);
  return 0;
}
