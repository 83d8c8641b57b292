/* lio.c - the base the io binding parts (lio_*.c) share: the handle userdata that owns
 * their resources across Lua errors, failure returns, tensor reads. Registers nothing. */
#include <string.h>
#include <strings.h>
#include "tensor/lbase.h"
#include "io/lio.h"

#define HANDLE_MT "lunette.io.Handle"

/* __gc and __close: lio_close is idempotent, so a handle closed on the normal path is collected
 * harmlessly later. */
static int handle_gc(lua_State *L) {
  lio_close(luaL_checkudata(L, 1, HANDLE_MT));
  return 0;
}

/* Sets *out to opts[field], a non-negative integer, when present. ltL_opt_get only probes for
 * it; ltL_opt_int reads the field again and words any type error. */
static void opt_u64(lua_State *L, int arg, const char *fname, const char *field, uint64_t *out) {
  if (!ltL_opt_get(L, arg, field)) return;
  lua_pop(L, 1);
  int64_t v = ltL_opt_int(L, arg, fname, field, 0);
  if (v < 0) ltL_argerror(L, arg, fname, "option '%s' must be a non-negative integer", field);
  *out = (uint64_t)v;
}

LioHandle *lio_handle(lua_State *L, int opts_arg, const char *fname) {
  IoCtx ctx;
  io_ctx_init(&ctx);
  if (opts_arg > 0 &&
      !lua_isnoneornil(L, opts_arg)) { /* read before pushing: arg may be past the top */
    uint64_t fail = UINT64_MAX;
    luaL_checktype(L, opts_arg, LUA_TTABLE);
    opt_u64(L, opts_arg, fname, "max_inflate", &ctx.max_inflate);
    opt_u64(L, opts_arg, fname, "max_alloc", &ctx.max_alloc);
    opt_u64(L, opts_arg, fname, "fail_at", &fail);
    if (fail != UINT64_MAX) ctx.fail_at = (int64_t)fail;
  }
  /* Options are read into a local first: a bad option raises before the handle exists, and the
   * handle never holds a half-set context. */
  LioHandle *h = lua_newuserdatauv(L, sizeof *h, 0);
  h->ctx = ctx;
  h->n = 0;
  /* made on first use, so the base needs no opening call of its own */
  if (luaL_newmetatable(L, HANDLE_MT)) {
    lua_pushcfunction(L, handle_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, handle_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  return h;
}

void lio_own(LioHandle *h, LioFree fn, void *p) {
  if (!p) return;
  /* Out of slots, p is released at once rather than leaked; a caller still using it would then
   * read freed memory, hence LIO_MAXOWN well above what any binding takes. */
  if (h->n == LIO_MAXOWN) {
    fn(&h->ctx, p);
    return;
  } /* never: bindings own a handful */
  h->own[h->n].fn = fn;
  h->own[h->n].p = p;
  h->n++;
}

void lio_release(LioHandle *h, void *p) {
  for (int i = h->n - 1; i >= 0; i--)
    if (h->own[i].p == p) {
      LioFree fn = h->own[i].fn;
      /* Keeps the rest in acquisition order, so lio_close still releases newest first. */
      memmove(&h->own[i], &h->own[i + 1], sizeof h->own[0] * (size_t)(h->n - i - 1));
      h->n--;
      fn(&h->ctx, p);
      return;
    }
}

void lio_close(LioHandle *h) {
  while (h->n > 0) {
    h->n--;
    h->own[h->n].fn(&h->ctx, h->own[h->n].p);
  }
}

/* The release functions a handle calls: each takes what it was given (a source, an owned
 * buffer's record, a writer) and frees it through the handle's context. */
static void free_src(IoCtx *c, void *p) { io_src_close(c, p); }

typedef struct {
  void *p;
  size_t n;
} OwnedBuf;
static void free_buf(IoCtx *c, void *q) {
  OwnedBuf *b = q;
  io_free(c, b->p, b->n);
  io_free(c, b, sizeof *b);
}

LtStatus lio_own_buf(LioHandle *h, void *p, size_t n) {
  OwnedBuf *b = io_alloc(&h->ctx, sizeof *b);
  /* The buffer is freed even when it cannot be owned: the caller hands it over either way. */
  if (!b) {
    io_free(&h->ctx, p, n);
    return LT_ENOMEM;
  }
  b->p = p;
  b->n = n;
  lio_own(h, free_buf, b);
  return LT_OK;
}
void lio_own_src(LioHandle *h, IoSrc *s) { lio_own(h, free_src, s); }

LtStatus lio_open_file(LioHandle *h, const char *path, IoSrc **s) {
  LtStatus st = io_src_file(&h->ctx, path, s);
  if (st == LT_OK) lio_own_src(h, *s);
  return st;
}

static void free_writer(IoCtx *c, void *p) {
  io_writer_abort(c, p);
  io_free(c, p, sizeof(IoWriter));
}

LtStatus lio_open_writer(LioHandle *h, const char *path, IoWriter **w) {
  *w = io_alloc(&h->ctx, sizeof **w);
  if (!*w) return LT_ENOMEM;
  LtStatus st = io_writer_open(&h->ctx, *w, path);
  if (st) {
    io_free(&h->ctx, *w, sizeof **w);
    *w = NULL;
    return st;
  }
  lio_own(h, free_writer, *w);
  return LT_OK;
}

int lio_fail(lua_State *L, LioHandle *h, const char *path, LtStatus st) {
  lio_close(h);
  return lio_fail_keep(L, h, path, st);
}

int lio_fail_keep(lua_State *L, LioHandle *h, const char *path, LtStatus st) {
  /* An interrupt is raised, not returned: Ctrl-C must stop the script, not become a nil that a
   * loop carries on past. */
  if (st == LT_EINTR) ltL_check_status(L, LT_EINTR, "io");
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", path, h->ctx.msg[0] ? h->ctx.msg : "failed");
  return 2;
}

/* Appends code point cp as UTF-8 to out; 0 when cp is not a Unicode scalar value. */
static int put_utf8(char *out, size_t *n, uint32_t cp) {
  char *o = out + *n;
  if (cp < 0x80) {
    o[0] = (char)cp;
    *n += 1;
  } else if (cp < 0x800) {
    o[0] = (char)(0xc0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3f));
    *n += 2;
  } else if (cp < 0x10000) {
    if (cp >= 0xd800 && cp < 0xe000) return 0;
    o[0] = (char)(0xe0 | cp >> 12);
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    *n += 3;
  } else if (cp < 0x110000) {
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    *n += 4;
  } else {
    return 0;
  }
  return 1;
}

/* Pushes the strings of dims [d, ndim - 1) of a text array from raw bytes *p (advanced), as
 * nested Lua arrays (a lone string for a 0-d array). NumPy pads with NULs: they are dropped. */
static LtStatus push_text(lua_State *L, LioHandle *h, const IoArray *a, int d, const uint8_t **p,
                          char *tmp) {
  int64_t k = a->text_len;
  if (d == a->ndim - 1) {
    size_t n = 0;
    if (a->text == 'S') {
      memcpy(tmp, *p, (size_t)k);
      n = (size_t)k;
      *p += k;
    } else {
      for (int64_t i = 0; i < k; i++, *p += 4) {
        uint32_t cp = a->swap ? io_be32(*p) : io_le32(*p);
        if (!put_utf8(tmp, &n, cp))
          return io_fail(&h->ctx, LT_EVALUE, "string holds an invalid code point %lu",
                         (unsigned long)cp);
      }
    }
    while (n > 0 && tmp[n - 1] == 0) n--;
    lua_pushlstring(L, tmp, n);
    return LT_OK;
  }
  luaL_checkstack(L, 4, "text array");
  lua_createtable(L, a->shape[d] > INT32_MAX ? 0 : (int)a->shape[d], 0);
  for (int64_t i = 0; i < a->shape[d]; i++) {
    LtStatus st = push_text(L, h, a, d + 1, p, tmp);
    if (st) {
      lua_pop(L, 1);
      return st;
    }
    lua_rawseti(L, -2, i + 1);
  }
  return LT_OK;
}

static void free_text_buf(IoCtx *c, void *p) {
  uint64_t *b = p;
  io_free(c, b, (size_t)b[0]);
}

/* A text array (IoArray.text) as Lua strings. */
static LtStatus push_text_array(lua_State *L, LioHandle *h, IoSrc *s, const IoArray *a) {
  /* One buffer: a header word (its size), the raw bytes, then room for one UTF-8 string. */
  uint64_t size = 8 + a->nbytes + (uint64_t)a->text_len * 4 + 1;
  uint64_t *b = io_alloc(&h->ctx, (size_t)size);
  if (!b) return LT_ENOMEM;
  b[0] = size;
  lio_own(h, free_text_buf, b);
  uint8_t *raw = (uint8_t *)(b + 1);
  LtStatus st = io_src_read(&h->ctx, s, a->offset, raw, (size_t)a->nbytes);
  const uint8_t *p = raw;
  /* Strings are pushed only when a string has characters: an empty array has no strings. */
  if (!st) st = push_text(L, h, a, 0, &p, (char *)raw + a->nbytes);
  lio_release(h, b);
  return st;
}

LtStatus lio_push_array(lua_State *L, LioHandle *h, IoSrc *s, const IoArray *a) {
  if (a->text) return push_text_array(L, h, s, a);
  /* May raise (out of memory): whatever the caller opened is owned by h, and freed with it. */
  Tensor *t = ltL_push_new(L, io_stype_dtype(a->st), a->ndim, a->shape);
  LtStatus st = io_array_read(&h->ctx, s, a, t->data);
  if (st) {
    lua_pop(L, 1);
    return st;
  }
  /* The data is the C order of the reversed shape: reversing shape and strides again gives the
   * array NumPy means, as a view (no copy). */
  if (a->fortran && a->ndim > 1) {
    Tensor v = *t;
    for (int i = 0; i < t->ndim; i++) {
      v.shape[i] = t->shape[t->ndim - 1 - i];
      v.stride[i] = t->stride[t->ndim - 1 - i];
    }
    ltL_push_view(L, -1, &v);
    lua_remove(L, -2);
  }
  return LT_OK;
}

/* A NULL light userdata: one value, equal to itself everywhere, that no other Lua value can be,
 * and that costs no allocation. */
void lio_push_null(lua_State *L) { lua_pushlightuserdata(L, NULL); }
int lio_is_null(lua_State *L, int idx) {
  return lua_islightuserdata(L, idx) && lua_touserdata(L, idx) == NULL;
}

int lio_has_suffix(const char *path, const char *suffix) {
  size_t n = strlen(path), k = strlen(suffix);
  return n >= k && strcasecmp(path + n - k, suffix) == 0;
}
