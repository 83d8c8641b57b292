/* lio_csv.c - Lua binding for CSV: read_csv (a numeric matrix, or in frame mode columns of
 * numbers and text) and write_csv (a matrix or such columns). */
#include <math.h>
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io_csv.h"
#include "io/io_src.h"

/* 64 GiB: the whole file is read into memory, then scanned twice (shape, then numbers). */
#define MAX_CSV_FILE ((uint64_t)1 << 36)

static void free_csv(IoCtx *c, void *p) {
  io_csv_free(c, p);
  io_free(c, p, sizeof(IoCsv));
}

/* What a frame column is read as: inferred, or forced by opts.dtype. */
enum { WANT_AUTO, WANT_F64, WANT_F32, WANT_I64, WANT_TEXT, WANT_CODES };
static const char *const WANT_NAMES[] = {"auto", "float64", "float32", "int64",
                                         "text", "codes",   NULL};

typedef struct {
  int header;
  char sep;
  LtDtype dt;
  int frame;   /* opts.frame: columns of mixed types */
  int codes;   /* opts.text == "codes" */
  int general; /* frame, usecols or na given: the column-wise path below */
  int na_arg;  /* stack slot of the na array, 0 for the default markers */
} CsvOpts;

/* opts.sep of read_csv and write_csv: one character, not a quote or a newline (either would make
 * quoted fields ambiguous). */
static char opt_sep(lua_State *L, int arg, const char *fname) {
  if (!ltL_opt_get(L, arg, "sep")) return ',';
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  if (!s || n != 1 || *s == '"' || *s == '\n' || *s == '\r')
    ltL_argerror(L, arg, fname, "sep must be one character other than a quote or newline");
  char sep = *s;
  lua_pop(L, 1);
  return sep;
}

/* read_csv's options (write_csv's header is an array of names, not a flag). */
static CsvOpts read_opts(lua_State *L, int arg, const char *fname) {
  CsvOpts o = {1, ',', LT_F64, 0, 0, 0, 0};
  if (lua_isnoneornil(L, arg)) return o;
  luaL_checktype(L, arg, LUA_TTABLE);
  o.header = ltL_opt_bool(L, arg, fname, "header", 1);
  o.sep = opt_sep(L, arg, fname);
  o.frame = ltL_opt_bool(L, arg, fname, "frame", 0);
  static const char *const texts[] = {"strings", "codes", NULL};
  o.codes = ltL_opt_enum(L, arg, fname, "text", texts, 0);
  if (ltL_opt_get(L, arg, "na")) {
    /* Left on the stack: the marker pointers taken in frame_na point into this table. */
    o.na_arg = lua_gettop(L);
    if (!lua_istable(L, o.na_arg)) ltL_argerror(L, arg, fname, "na must be an array of strings");
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, o.na_arg); i++) {
      if (lua_rawgeti(L, o.na_arg, i) != LUA_TSTRING)
        ltL_argerror(L, arg, fname, "na entry %lld is not a string", (long long)i);
      lua_pop(L, 1);
    }
  }
  int usecols = lua_getfield(L, arg, "usecols") != LUA_TNIL;
  lua_pop(L, 1);
  o.general = o.frame || usecols || o.na_arg;
  /* In frame mode dtype is a kind for every column or a table of them (read in frame_plan). */
  if (o.frame) return o;
  if (ltL_opt_get(L, arg, "dtype")) {
    o.dt = ltL_check_dtype(L, lua_gettop(L), fname);
    if (o.dt != LT_F64 && o.dt != LT_F32 && o.dt != LT_I64)
      ltL_argerror(L, arg, fname, "dtype must be float64, float32 or int64");
    lua_pop(L, 1);
  }
  return o;
}

/* ---- the column-wise path: frame mode, usecols, na -------------------------------- */

/* A text cell: where its raw bytes are in the file text; len == MISSING for a missing value. */
typedef struct {
  size_t off, len;
  int quoted;
} Ref;
#define MISSING ((size_t)-1)

/* The plan and the output slots of one column-wise read, owned by the handle (free_frame). */
typedef struct {
  int64_t rows, nfile, nout;
  int64_t cap;  /* the per-output-column arrays' length: nout, at least 1 */
  int64_t *map; /* file column -> output column, -1 when not read (nfile entries) */
  int64_t *src; /* output column -> file column (nout entries) */
  int *want;    /* WANT_* per output column */
  int *kind;    /* the widest IO_CSV_* kind seen, -1 before any (frame inference) */
  char *has_na; /* whether a missing value was seen */
  Tensor **t;   /* number columns: their tensor (NULL for text) */
  Ref **refs;   /* text columns: rows cells each */
  Tensor *mat;  /* matrix mode: the [rows, nout] output */
  const char *base;
  const char **na; /* missing-value markers */
  size_t *na_len;
  int nna;
} Frame;

static void free_frame(IoCtx *c, void *p) {
  Frame *f = p;
  for (int64_t j = 0; f->refs && j < f->cap; j++)
    io_free(c, f->refs[j], f->refs[j] ? (size_t)f->rows * sizeof(Ref) : 0);
  io_free(c, f->map, f->map ? (size_t)f->nfile * sizeof *f->map : 0);
  io_free(c, f->src, (size_t)f->cap * sizeof *f->src);
  io_free(c, f->want, (size_t)f->cap * sizeof *f->want);
  io_free(c, f->kind, (size_t)f->cap * sizeof *f->kind);
  io_free(c, f->has_na, (size_t)f->cap);
  io_free(c, f->t, (size_t)f->cap * sizeof *f->t);
  io_free(c, f->refs, (size_t)f->cap * sizeof *f->refs);
  io_free(c, f->na, (size_t)f->nna * sizeof *f->na);
  io_free(c, f->na_len, (size_t)f->nna * sizeof *f->na_len);
  io_free(c, f, sizeof *f);
}

/* Whether a field is one of the missing-value markers. A quoted field is one only where numbers
 * are read (csv.QUOTE_NONNUMERIC writes a missing number as ""): in a text column it is text. */
static int is_na(const Frame *f, const char *s, size_t n, int quoted) {
  if (quoted) return 0;
  for (int i = 0; i < f->nna; i++)
    if (f->na_len[i] == n && !memcmp(f->na[i], s, n)) return 1;
  return 0;
}

/* Pass 1 of frame mode: the widest kind of each inferred column. */
static const char *visit_infer(void *ud, int64_t row, int64_t col, const char *s, size_t n,
                               int quoted) {
  Frame *f = ud;
  (void)row;
  int64_t j = f->map[col];
  if (j < 0 || f->want[j] != WANT_AUTO || f->kind[j] == IO_CSV_TEXT) return NULL;
  (void)quoted;
  if (is_na(f, s, n, 0)) {
    f->has_na[j] = 1;
    return NULL;
  }
  int k = io_csv_kind(s, n);
  if (k > f->kind[j]) f->kind[j] = k;
  return NULL;
}

/* Pass 2: numbers into their tensors (or the matrix), text cells recorded. */
static const char *visit_fill(void *ud, int64_t row, int64_t col, const char *s, size_t n,
                              int quoted) {
  Frame *f = ud;
  int64_t j = f->map[col];
  if (j < 0) return NULL;
  int na = is_na(f, s, n, f->refs[j] ? quoted : 0);
  if (f->refs[j]) {
    Ref *r = &f->refs[j][row];
    r->off = (size_t)(s - f->base);
    r->len = na ? MISSING : n;
    r->quoted = quoted;
    return NULL;
  }
  Tensor *t = f->mat ? f->mat : f->t[j];
  size_t i = f->mat ? (size_t)(row * f->nout + j) : (size_t)row;
  void *out = (char *)t->data + i * lt_dtype_size(t->dtype);
  if (na) {
    if (t->dtype == LT_I64) return "missing value in an int64 column";
    if (t->dtype == LT_F64)
      *(double *)out = NAN;
    else
      *(float *)out = NAN;
    return NULL;
  }
  return io_csv_number(s, n, t->dtype, out);
}

/* Allocates the per-column arrays of f (nout output columns of nfile). */
static LtStatus frame_alloc(IoCtx *c, Frame *f) {
  size_t no = (size_t)(f->nout ? f->nout : 1);
  f->cap = (int64_t)no;
  if (!(f->map = io_alloc(c, (size_t)f->nfile * sizeof *f->map)) ||
      !(f->src = io_calloc(c, no * sizeof *f->src)) ||
      !(f->want = io_calloc(c, no * sizeof *f->want)) ||
      !(f->kind = io_alloc(c, no * sizeof *f->kind)) || !(f->has_na = io_calloc(c, no)) ||
      !(f->t = io_calloc(c, no * sizeof *f->t)) || !(f->refs = io_calloc(c, no * sizeof *f->refs)))
    return LT_ENOMEM;
  for (int64_t j = 0; j < f->nfile; j++) f->map[j] = -1;
  for (size_t j = 0; j < no; j++) f->kind[j] = -1;
  return LT_OK;
}

/* The file column that a usecols or dtype key names (a header name, or a 1-based position), or
 * raises naming fname. */
static int64_t column_of(lua_State *L, int arg, const char *fname, const char *what,
                         const IoCsv *info, int key) {
  if (lua_type(L, key) == LUA_TNUMBER) {
    lua_Integer i = lua_tointeger(L, key);
    if (!lua_isinteger(L, key) || i < 1 || i > info->cols)
      ltL_argerror(L, arg, fname, "%s: column %s is not in 1..%lld", what, lua_tostring(L, key),
                   (long long)info->cols);
    return i - 1;
  }
  if (lua_type(L, key) != LUA_TSTRING)
    ltL_argerror(L, arg, fname, "%s: a column name or position expected, got %s", what,
                 luaL_typename(L, key));
  size_t n;
  const char *s = lua_tolstring(L, key, &n);
  for (int64_t j = 0; info->names && j < info->cols; j++)
    if (info->name_len[j] == n && !memcmp(info->names + info->name_off[j], s, n)) return j;
  return ltL_argerror(L, arg, fname, "%s: no column named '%s'%s", what, s,
                      info->names ? "" : " (the file is read without a header)");
}

/* Fills f's selection (opts.usecols, else every column), markers and, in frame mode, each
 * column's wanted kind (opts.dtype). Raises on a bad option; LT_ENOMEM when out of memory. */
static LtStatus frame_plan(lua_State *L, LioHandle *h, Frame *f, const CsvOpts *o, int arg,
                           const char *fname, const IoCsv *info) {
  int has_use = !lua_isnoneornil(L, arg) && lua_getfield(L, arg, "usecols") != LUA_TNIL;
  int use = lua_gettop(L);
  if (has_use && !lua_istable(L, use))
    ltL_argerror(L, arg, fname, "usecols must be an array of column names or positions");
  f->nfile = info->cols;
  f->nout = has_use ? (int64_t)lua_rawlen(L, use) : info->cols;
  int64_t nout = f->nout;
  if (frame_alloc(&h->ctx, f)) return LT_ENOMEM;
  for (int64_t j = 0; j < nout; j++) {
    int64_t col = j;
    if (has_use) {
      lua_rawgeti(L, use, j + 1);
      col = column_of(L, arg, fname, "usecols", info, lua_gettop(L));
      lua_pop(L, 1);
      if (f->map[col] >= 0)
        ltL_argerror(L, arg, fname, "usecols: column %lld is listed twice", (long long)col + 1);
    }
    f->map[col] = j;
    f->src[j] = col;
  }
  if (has_use) lua_pop(L, 1);
  /* Markers: opts.na (checked by read_opts) or the defaults. */
  int nna = 0;
  if (o->na_arg)
    nna = (int)lua_rawlen(L, o->na_arg);
  else
    while (io_csv_default_na[nna]) nna++;
  f->nna = nna;
  f->na = io_calloc(&h->ctx, (size_t)nna * sizeof *f->na);
  f->na_len = io_calloc(&h->ctx, (size_t)nna * sizeof *f->na_len);
  if (!f->na || !f->na_len) return LT_ENOMEM;
  for (int i = 0; i < nna; i++) {
    if (o->na_arg) {
      lua_rawgeti(L, o->na_arg, i + 1);
      f->na[i] = lua_tolstring(L, -1, &f->na_len[i]); /* alive in the na table */
      lua_pop(L, 1);
    } else {
      f->na[i] = io_csv_default_na[i];
      f->na_len[i] = strlen(f->na[i]);
    }
  }
  if (!o->frame) return LT_OK;
  if (lua_getfield(L, arg, "dtype") == LUA_TSTRING) {
    int w = ltL_opt_enum(L, arg, fname, "dtype", WANT_NAMES, 0); /* reads arg.dtype again */
    for (int64_t j = 0; j < nout; j++) f->want[j] = w;
  } else if (lua_istable(L, -1)) {
    int dt = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, dt)) {
      int64_t col = column_of(L, arg, fname, "dtype", info, lua_gettop(L) - 1);
      const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
      int w = -1;
      for (int i = 0; v && WANT_NAMES[i]; i++)
        if (!strcmp(v, WANT_NAMES[i])) w = i;
      if (w < 0)
        ltL_argerror(L, arg, fname,
                     "dtype of column %lld must be one of \"auto\", \"float64\", "
                     "\"float32\", \"int64\", \"text\", \"codes\"",
                     (long long)col + 1);
      if (f->map[col] >= 0) f->want[f->map[col]] = w;
      lua_pop(L, 1);
    }
  } else if (!lua_isnil(L, -1)) {
    ltL_argerror(L, arg, fname, "dtype must be a kind or a table of kinds by column");
  }
  lua_pop(L, 1);
  return LT_OK;
}

/* Pushes the string array (or {codes, levels}) of text column j; levels in first-appearance
 * order, codes 1-based with 0 for a missing value. */
static void push_text(lua_State *L, Frame *f, int64_t j, char *scratch, int codes) {
  const Ref *r = f->refs[j];
  if (!codes) {
    lua_createtable(L, (int)f->rows, 0);
    for (int64_t i = 0; i < f->rows; i++) {
      if (r[i].len == MISSING)
        lio_push_null(L);
      else
        lua_pushlstring(L, scratch,
                        io_csv_unquote(f->base + r[i].off, r[i].len, r[i].quoted, scratch));
      lua_rawseti(L, -2, i + 1);
    }
    return;
  }
  lua_createtable(L, 0, 2);
  int64_t shape[1] = {f->rows};
  Tensor *t = ltL_push_new(L, LT_I64, 1, shape);
  int64_t *code = t->data;
  lua_setfield(L, -2, "codes");
  lua_newtable(L); /* levels */
  lua_newtable(L); /* text -> code */
  int64_t nlev = 0;
  for (int64_t i = 0; i < f->rows; i++) {
    if (r[i].len == MISSING) {
      code[i] = 0;
      continue;
    }
    lua_pushlstring(L, scratch, io_csv_unquote(f->base + r[i].off, r[i].len, r[i].quoted, scratch));
    lua_pushvalue(L, -1);
    if (lua_rawget(L, -3) == LUA_TNUMBER) {
      code[i] = lua_tointeger(L, -1);
      lua_pop(L, 2);
      continue;
    }
    lua_pop(L, 1);
    code[i] = ++nlev;
    lua_pushvalue(L, -1);
    lua_rawseti(L, -4, nlev);
    lua_pushinteger(L, nlev);
    lua_rawset(L, -3);
  }
  lua_pop(L, 1);
  lua_setfield(L, -2, "levels");
}

/* Pushes column j's name: its header text, or its 1-based file position without a header. */
static void push_name(lua_State *L, const IoCsv *info, int64_t col) {
  if (info->names)
    lua_pushlstring(L, info->names + info->name_off[col], info->name_len[col]);
  else
    lua_pushinteger(L, col + 1);
}

/* The column-wise read of a scanned text: frame mode (a table of columns and the names) or a
 * matrix of the selected columns with the markers as NaN. */
static int read_general(lua_State *L, LioHandle *h, const char *path, const char *bytes, size_t n,
                        const IoCsv *info, const CsvOpts *o, const char *fname) {
  Frame *f = io_calloc(&h->ctx, sizeof *f);
  if (!f) return lio_fail(L, h, path, LT_ENOMEM);
  lio_own(h, free_frame, f);
  f->rows = info->rows;
  f->base = bytes;
  LtStatus st = frame_plan(L, h, f, o, 2, fname, info);
  if (st) return lio_fail(L, h, path, st);
  if (!o->frame) {
    int64_t shape[2] = {f->rows, f->nout};
    f->mat = ltL_push_new(L, o->dt, 2, shape);
    if ((st = io_csv_each(&h->ctx, bytes, n, info, o->sep, visit_fill, f)))
      return lio_fail(L, h, path, st);
    lua_createtable(L, (int)f->nout, 0);
    for (int64_t j = 0; info->names && j < f->nout; j++) {
      push_name(L, info, f->src[j]);
      lua_rawseti(L, -2, j + 1);
    }
    lio_close(h);
    return 2;
  }
  /* Duplicate names would overwrite each other in the result table. */
  for (int64_t a = 0; info->names && a < f->nout; a++)
    for (int64_t b = 0; b < a; b++) {
      int64_t x = f->src[a], y = f->src[b];
      if (info->name_len[x] == info->name_len[y] &&
          !memcmp(info->names + info->name_off[x], info->names + info->name_off[y],
                  info->name_len[x]))
        return lio_fail(L, h, path,
                        io_fail(&h->ctx, LT_EVALUE,
                                "columns %lld and %lld are both named '%.*s' (usecols picks one "
                                "by position)",
                                (long long)y + 1, (long long)x + 1, (int)info->name_len[x],
                                info->names + info->name_off[x]));
    }
  int any_auto = 0;
  for (int64_t j = 0; j < f->nout; j++) any_auto |= f->want[j] == WANT_AUTO;
  if (any_auto && (st = io_csv_each(&h->ctx, bytes, n, info, o->sep, visit_infer, f)))
    return lio_fail(L, h, path, st);
  /* Slots: the result table, then each number column's tensor in a holding table. */
  lua_newtable(L);
  int res = lua_gettop(L);
  for (int64_t j = 0; j < f->nout; j++) {
    int w = f->want[j];
    if (w == WANT_AUTO) {
      int k = f->kind[j];
      w = k == IO_CSV_TEXT                     ? (o->codes ? WANT_CODES : WANT_TEXT)
          : (k == IO_CSV_INT && !f->has_na[j]) ? WANT_I64
                                               : WANT_F64;
      f->want[j] = w;
    }
    push_name(L, info, f->src[j]);
    if (w == WANT_TEXT || w == WANT_CODES) {
      f->refs[j] = io_alloc(&h->ctx, (size_t)f->rows * sizeof(Ref));
      if (!f->refs[j]) return lio_fail(L, h, path, LT_ENOMEM);
      lua_pop(L, 1);
      continue;
    }
    int64_t shape[1] = {f->rows};
    f->t[j] = ltL_push_new(L, w == WANT_I64 ? LT_I64 : w == WANT_F32 ? LT_F32 : LT_F64, 1, shape);
    lua_rawset(L, res);
  }
  if ((st = io_csv_each(&h->ctx, bytes, n, info, o->sep, visit_fill, f)))
    return lio_fail(L, h, path, st);
  /* Text columns: one scratch buffer as long as the longest cell decodes every cell. */
  size_t longest = 1;
  for (int64_t j = 0; j < f->nout; j++)
    for (int64_t i = 0; f->refs[j] && i < f->rows; i++)
      if (f->refs[j][i].len != MISSING && f->refs[j][i].len > longest) longest = f->refs[j][i].len;
  char *scratch = io_alloc(&h->ctx, longest);
  if (!scratch || lio_own_buf(h, scratch, longest)) return lio_fail(L, h, path, LT_ENOMEM);
  for (int64_t j = 0; j < f->nout; j++) {
    if (!f->refs[j]) continue;
    push_name(L, info, f->src[j]);
    push_text(L, f, j, scratch, f->want[j] == WANT_CODES);
    lua_rawset(L, res);
  }
  lua_createtable(L, (int)f->nout, 0);
  for (int64_t j = 0; j < f->nout; j++) {
    push_name(L, info, f->src[j]);
    lua_rawseti(L, -2, j + 1);
  }
  lio_close(h);
  return 2;
}

/* read_csv and read_csv_bytes: path names the data in messages; bytes, when not NULL, is the
 * text itself (argument 1, alive for the call). */
static int read_csv(lua_State *L, const char *path, const char *bytes, size_t n,
                    const char *fname) {
  CsvOpts o = read_opts(L, 2, fname);
  /* The options table also carries the limits (max_alloc, ...) the handle reads. */
  LioHandle *h = lio_handle(L, 2, fname);
  LtStatus st;
  if (!bytes) {
    IoSrc *s;
    uint8_t *buf;
    if ((st = lio_open_file(h, path, &s))) return lio_fail(L, h, path, st);
    if ((st = io_src_slurp(&h->ctx, s, MAX_CSV_FILE, &buf, &n))) return lio_fail(L, h, path, st);
    if ((st = lio_own_buf(h, buf, n + 1))) return lio_fail(L, h, path, st);
    /* The bytes are in memory now: the file is closed before parsing. */
    lio_release(h, s);
    bytes = (const char *)buf;
  }
  IoCsv *info = io_calloc(&h->ctx, sizeof *info);
  if (!info) return lio_fail(L, h, path, LT_ENOMEM);
  if ((st = io_csv_scan(&h->ctx, bytes, n, o.header, o.sep, info))) {
    io_free(&h->ctx, info, sizeof *info);
    return lio_fail(L, h, path, st);
  }
  lio_own(h, free_csv, info);
  if (o.general) return read_general(L, h, path, bytes, n, info, &o, fname);
  int64_t shape[2] = {info->rows, info->cols};
  /* The scan knows the shape, so the tensor is made before any number is parsed into it. */
  Tensor *t = ltL_push_new(L, o.dt, 2, shape);
  if ((st = io_csv_parse(&h->ctx, bytes, n, info, o.sep, t))) {
    /* The matrix mode's most common failure is a text column: say how to read one. */
    size_t len = strlen(h->ctx.msg);
    const char *hint = " (frame = true reads text columns)";
    if (st == LT_EVALUE && strstr(h->ctx.msg, ": not a number") &&
        len + strlen(hint) < sizeof h->ctx.msg)
      memcpy(h->ctx.msg + len, hint, strlen(hint) + 1);
    return lio_fail(L, h, path, st);
  }
  /* The second result: the column names (an empty table without a header). */
  lua_createtable(L, o.header ? (int)info->cols : 0, 0);
  for (int64_t j = 0; o.header && j < info->cols; j++) {
    lua_pushlstring(L, info->names + info->name_off[j], info->name_len[j]);
    lua_rawseti(L, -2, j + 1);
  }
  lio_close(h);
  return 2;
}

/* read_csv(path [, {header = true, sep = ",", dtype = "float64"}]) -> [rows, cols] tensor, names |
 * nil, message */
static int l_read_csv(lua_State *L) {
  return read_csv(L, luaL_checkstring(L, 1), NULL, 0, "read_csv");
}

static int l_read_csv_bytes(lua_State *L) {
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  return read_csv(L, "<bytes>", b, n, "read_csv_bytes");
}

typedef struct {
  const char **names;
  size_t *len;
  size_t n;
} Names;
static void free_names(IoCtx *c, void *p) {
  Names *s = p;
  io_free(c, s->names, s->n * sizeof *s->names);
  io_free(c, s->len, s->n * sizeof *s->len);
  io_free(c, s, sizeof *s);
}

/* Header strings from opts.header (an array of cols strings), or NULL. */
static Names *header_names(lua_State *L, LioHandle *h, int arg, int64_t cols) {
  if (lua_isnoneornil(L, arg)) return NULL;
  luaL_checktype(L, arg, LUA_TTABLE);
  if (lua_getfield(L, arg, "header") == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  /* The header table stays on the stack until the call returns: the name pointers taken below
   * point into its strings. */
  int hix = lua_gettop(L);
  if (!lua_istable(L, hix) || (int64_t)lua_rawlen(L, hix) != cols)
    ltL_argerror(L, arg, "write_csv", "header must be an array of %lld strings", (long long)cols);
  Names *s = io_calloc(&h->ctx, sizeof *s);
  /* Owned by h before the arrays are allocated: a raise below frees it at collection. */
  if (!s) luaL_error(L, "write_csv: not enough memory");
  lio_own(h, free_names, s);
  s->n = (size_t)(cols ? cols : 1);
  if (!(s->names = io_calloc(&h->ctx, s->n * sizeof *s->names)) ||
      !(s->len = io_calloc(&h->ctx, s->n * sizeof *s->len)))
    luaL_error(L, "write_csv: not enough memory");
  for (int64_t j = 0; j < cols; j++) {
    lua_rawgeti(L, hix, j + 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      ltL_argerror(L, arg, "write_csv", "header entry %lld is not a string", (long long)j + 1);
    s->names[j] = lua_tolstring(L, -1, &s->len[j]);
    lua_pop(L, 1); /* the string stays alive in the header table */
  }
  return s;
}

/* The arrays write_frame builds, owned by the handle. */
typedef struct {
  int64_t ncols, rows;
  IoCsvCol *cols;
  const char **names;
  size_t *name_len;
  const char ***s; /* per text column: rows pointers (NULL for number columns) */
  size_t **len;
} WFrame;

static void free_wframe(IoCtx *c, void *p) {
  WFrame *f = p;
  size_t k = (size_t)(f->ncols ? f->ncols : 1);
  for (int64_t j = 0; f->s && j < f->ncols; j++) {
    io_free(c, f->s[j], f->s[j] ? (size_t)f->rows * sizeof **f->s : 0);
    io_free(c, f->len[j], f->len[j] ? (size_t)f->rows * sizeof **f->len : 0);
  }
  io_free(c, f->cols, k * sizeof *f->cols);
  io_free(c, f->names, k * sizeof *f->names);
  io_free(c, f->name_len, k * sizeof *f->name_len);
  io_free(c, f->s, k * sizeof *f->s);
  io_free(c, f->len, k * sizeof *f->len);
  io_free(c, f, sizeof *f);
}

/* The rows of the column at idx (a 1-D tensor, a string array, or {codes, levels}); raises. */
static int64_t column_rows(lua_State *L, int idx, const char *name) {
  Tensor *t = ltL_totensor(L, idx);
  if (t) {
    if (t->ndim != 1)
      ltL_argerror(L, 2, "write_csv",
                   "column '%s' must be a 1-d tensor, a string array or "
                   "{codes, levels}",
                   name);
    return t->shape[0];
  }
  if (!lua_istable(L, idx))
    ltL_argerror(L, 2, "write_csv",
                 "column '%s' must be a 1-d tensor, a string array or "
                 "{codes, levels}, got %s",
                 name, luaL_typename(L, idx));
  if (lua_getfield(L, idx, "codes") != LUA_TNIL) {
    Tensor *c = ltL_totensor(L, -1);
    if (!c || c->ndim != 1)
      ltL_argerror(L, 2, "write_csv", "column '%s': codes must be a 1-d tensor", name);
    lua_pop(L, 1);
    return c->shape[0];
  }
  lua_pop(L, 1);
  return (int64_t)lua_rawlen(L, idx);
}

/* Fills the text pointers of the string-array or {codes, levels} column at idx. */
static void text_column(lua_State *L, int idx, const char *name, const char **s, size_t *len,
                        int64_t rows) {
  if (lua_getfield(L, idx, "codes") != LUA_TNIL) {
    int ci = lua_gettop(L);
    Tensor *c = ltL_push_contiguous(L, ci); /* int64 codes read by flat index */
    if (lua_getfield(L, idx, "levels") != LUA_TTABLE)
      ltL_argerror(L, 2, "write_csv", "column '%s': levels must be an array of strings", name);
    int li = lua_gettop(L);
    lua_Integer nlev = (lua_Integer)lua_rawlen(L, li);
    for (int64_t i = 0; i < rows; i++) {
      int64_t k = lt_get_i64((char *)c->data + (size_t)i * lt_dtype_size(c->dtype), c->dtype);
      if (k == 0) {
        s[i] = NULL;
        continue;
      }
      if (k < 0 || k > nlev)
        ltL_argerror(L, 2, "write_csv", "column '%s': code %lld at row %lld is not in 0..%lld",
                     name, (long long)k, (long long)i + 1, (long long)nlev);
      if (lua_rawgeti(L, li, k) != LUA_TSTRING)
        ltL_argerror(L, 2, "write_csv", "column '%s': level %lld is not a string", name,
                     (long long)k);
      s[i] = lua_tolstring(L, -1, &len[i]); /* alive in the levels table */
      lua_pop(L, 1);
    }
    lua_pop(L, 3);
    return;
  }
  lua_pop(L, 1);
  for (int64_t i = 0; i < rows; i++) {
    int ty = lua_rawgeti(L, idx, i + 1);
    if (ty == LUA_TSTRING) {
      s[i] = lua_tolstring(L, -1, &len[i]); /* alive in the column table */
    } else if (lio_is_null(L, -1)) {
      s[i] = NULL;
    } else {
      ltL_argerror(L, 2, "write_csv", "column '%s': row %lld is a %s, not a string or io.null",
                   name, (long long)i + 1, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
  }
}

/* write_csv(path, {name = column}, {header = {names in order}, sep}) (the façade fills header
 * with the sorted names when it is absent). */
static int write_frame(lua_State *L, const char *path, char sep) {
  lua_settop(L, 3);
  LioHandle *h = lio_handle(L, 0, "write_csv");   /* 4 */
  if (lua_getfield(L, 3, "header") != LUA_TTABLE) /* 5 */
    return ltL_argerror(L, 3, "write_csv", "header must list the columns of a table to write");
  int hix = 5;
  WFrame *f = io_calloc(&h->ctx, sizeof *f);
  if (!f) return luaL_error(L, "write_csv: not enough memory");
  lio_own(h, free_wframe, f);
  f->ncols = (int64_t)lua_rawlen(L, hix);
  size_t k = (size_t)(f->ncols ? f->ncols : 1);
  if (!(f->cols = io_calloc(&h->ctx, k * sizeof *f->cols)) ||
      !(f->names = io_calloc(&h->ctx, k * sizeof *f->names)) ||
      !(f->name_len = io_calloc(&h->ctx, k * sizeof *f->name_len)) ||
      !(f->s = io_calloc(&h->ctx, k * sizeof *f->s)) ||
      !(f->len = io_calloc(&h->ctx, k * sizeof *f->len)))
    return luaL_error(L, "write_csv: not enough memory");
  f->rows = -1;
  /* Each column (or its contiguous copy) is kept in slot 6 + j: the pointers stay valid. */
  for (int64_t j = 0; j < f->ncols; j++) {
    luaL_checkstack(L, 8, "write_csv");
    int ni = lua_rawgeti(L, hix, j + 1) ? lua_gettop(L) : 0;
    if (lua_type(L, ni) != LUA_TSTRING && !lua_isinteger(L, ni))
      ltL_argerror(L, 3, "write_csv", "header entry %lld is not a name", (long long)j + 1);
    /* A string copy of the name stays on the stack (an integer name, a header-less file's
     * column, is converted in the copy, not in the caller's table). */
    lua_pushvalue(L, ni);
    f->names[j] = lua_tolstring(L, -1, &f->name_len[j]);
    lua_pushvalue(L, ni);
    lua_gettable(L, 2);
    int ci = lua_gettop(L);
    if (lua_isnil(L, ci))
      ltL_argerror(L, 2, "write_csv", "no column named '%s' in the table", f->names[j]);
    int64_t rows = column_rows(L, ci, f->names[j]);
    if (f->rows >= 0 && rows != f->rows)
      ltL_argerror(L, 2, "write_csv", "column '%s' has %lld rows, column '%s' %lld", f->names[j],
                   (long long)rows, f->names[0], (long long)f->rows);
    f->rows = rows;
    if (ltL_totensor(L, ci)) {
      f->cols[j].t = ltL_push_contiguous(L, ci);
      lua_replace(L, ci);
      continue;
    }
    if (!(f->s[j] = io_alloc(&h->ctx, (size_t)rows * sizeof **f->s)) ||
        !(f->len[j] = io_calloc(&h->ctx, (size_t)rows * sizeof **f->len)))
      return luaL_error(L, "write_csv: not enough memory");
    text_column(L, ci, f->names[j], f->s[j], f->len[j], rows);
    f->cols[j].s = f->s[j];
    f->cols[j].len = f->len[j];
  }
  if (f->rows < 0) f->rows = 0;
  IoWriter *w;
  LtStatus st = lio_open_writer(h, path, &w);
  if (st) return lio_fail(L, h, path, st);
  st = io_csv_write_cols(&h->ctx, w, f->cols, f->ncols, f->rows, f->names, f->name_len, sep);
  if (st == LT_OK) st = io_writer_commit(&h->ctx, w);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

/* write_csv(path, t [, {header = {...}, sep = ","}]) -> true | nil, message. t is [rows, cols] or
 * [rows]. */
static int l_write_csv(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  if (lua_istable(L, 2) && !ltL_totensor(L, 2)) {
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    return write_frame(L, path, opt_sep(L, 3, "write_csv"));
  }
  Tensor *t = ltL_check_tensor(L, 2, "write_csv");
  char b[64];
  if (t->ndim != 1 && t->ndim != 2)
    return ltL_argerror(L, 2, "write_csv", "1-d or 2-d tensor expected, got %s",
                        ltL_shape_of(t, b, sizeof b));
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  char sep = opt_sep(L, 3, "write_csv");
  /* Slots from here: 1 path, 2 tensor, 3 options, 4 handle, 5 header table (if any), then the
   * contiguous copy. */
  lua_settop(L, 3);
  LioHandle *h = lio_handle(L, 0, "write_csv"); /* 4 */
  Names *names = header_names(L, h, 3, t->ndim == 2 ? t->shape[1] : 1);
  /* Rows are written by flat index, so a strided view is copied first (a contiguous tensor is
   * used as is). */
  Tensor *c = ltL_push_contiguous(L, 2);
  IoWriter *w;
  LtStatus st = lio_open_writer(h, path, &w);
  if (st) return lio_fail(L, h, path, st);
  st = io_csv_write(&h->ctx, w, c, names ? names->names : NULL, names ? names->len : NULL, sep);
  if (st == LT_OK) st = io_writer_commit(&h->ctx, w);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg csv_fns[] = {{"read_csv", l_read_csv},
                                   {"read_csv_bytes", l_read_csv_bytes},
                                   {"write_csv", l_write_csv},
                                   {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): CSV. */
int luaopen_lunette_io_csv(lua_State *L);
int luaopen_lunette_io_csv(lua_State *L) {
  luaL_newlib(L, csv_fns);
  return 1;
}
