/* io_hdf5.c - HDF5 through libhdf5 loaded with dlopen (see io_hdf5.h). The prototypes come from
 * libhdf5-dev's header, so a mismatch with the library is a compile error; the predefined type
 * ids (H5T_NATIVE_FLOAT...) are the library's global variables, read after H5open. */
#include <dlfcn.h>
#include <hdf5.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "io/io_hdf5.h"

/* clang-format off */
#define H5FN(X)                                                                                  \
  X(H5open) X(H5Eset_auto2) X(H5Fopen) X(H5Fcreate) X(H5Fclose) X(H5Oopen) X(H5Oclose)           \
  X(H5Iget_type) X(H5Dopen2) X(H5Dclose) X(H5Dget_space) X(H5Dget_type) X(H5Dread) X(H5Dwrite)   \
  X(H5Dcreate2) X(H5Dvlen_reclaim) X(H5Sget_simple_extent_ndims) X(H5Sget_simple_extent_dims)   \
  X(H5Sclose) X(H5Screate_simple) X(H5Screate) X(H5Sselect_hyperslab) X(H5Tget_class)            \
  X(H5Tget_size) X(H5Tget_sign) X(H5Tis_variable_str) X(H5Tcopy) X(H5Tset_size) X(H5Tset_cset)   \
  X(H5Tclose) X(H5Aopen_by_name) X(H5Aclose) X(H5Aget_space) X(H5Aget_type) X(H5Aread)           \
  X(H5Awrite) X(H5Acreate_by_name) X(H5Aiterate_by_name) X(H5Pcreate) X(H5Pclose)                \
  X(H5Pset_create_intermediate_group) X(H5Aexists_by_name) X(H5Tget_cset) X(H5Tenum_create)      \
  X(H5Tenum_insert)

#define H5G(X)                                                                                  \
  X(H5T_NATIVE_FLOAT_g) X(H5T_NATIVE_DOUBLE_g) X(H5T_NATIVE_INT_g) X(H5T_NATIVE_LLONG_g)         \
  X(H5T_NATIVE_UCHAR_g) X(H5T_NATIVE_SCHAR_g) X(H5T_C_S1_g) X(H5T_IEEE_F32LE_g)                 \
  X(H5T_IEEE_F64LE_g) X(H5T_STD_I32LE_g) X(H5T_STD_I64LE_g) X(H5T_STD_U8LE_g)                   \
  X(H5P_CLS_LINK_CREATE_ID_g)
/* clang-format on */

static struct {
#define FIELD(name) __typeof__(name) *name;
  H5FN(FIELD)
#undef FIELD
  /* H5Lvisit's 1.10 name, or H5Lvisit2 in 1.12 and later (same arguments but the info struct,
   * which the callback here does not read). */
  herr_t (*visit)(hid_t, H5_index_t, H5_iter_order_t, void *, void *);
#define GLOBAL(name) hid_t *name;
  H5G(GLOBAL)
#undef GLOBAL
  int ok;
} h5;

static pthread_once_t h5_once = PTHREAD_ONCE_INIT;

static void load(void) {
  static const char *const names[] = {"libhdf5_serial.so.103", "libhdf5.so.103",
                                      "libhdf5_serial.so", "libhdf5.so", NULL};
  void *lib = NULL;
  for (int i = 0; names[i] && !lib; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!lib) return;
  int ok = 1;
#define LOADF(name) ok &= (*(void **)&h5.name = dlsym(lib, #name)) != NULL;
  H5FN(LOADF)
#undef LOADF
  *(void **)&h5.visit = dlsym(lib, "H5Lvisit2");
  if (!h5.visit) *(void **)&h5.visit = dlsym(lib, "H5Lvisit");
  ok &= h5.visit != NULL;
#define LOADG(name) ok &= (*(void **)&h5.name = dlsym(lib, #name)) != NULL;
  H5G(LOADG)
#undef LOADG
  /* The globals hold valid ids only after the library is initialised; its error stack printing
   * is turned off: every failure comes back as a status here, and messages name it. */
  if (ok && h5.H5open() >= 0) {
    h5.H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    h5.ok = 1;
  }
}

static LtStatus need(IoCtx *c) {
  pthread_once(&h5_once, load);
  if (!h5.ok)
    return io_fail(c, LT_EVALUE, "HDF5 needs libhdf5-103-1 (apt-get install libhdf5-dev)");
  return LT_OK;
}

struct IoH5 {
  hid_t file;
};

LtStatus io_h5_open(IoCtx *c, const char *path, int write, IoH5 **out) {
  *out = NULL;
  LtStatus st = need(c);
  if (st) return st;
  /* libhdf5 reads the superblock itself: a wrong file is a failed open. */
  hid_t f = write ? h5.H5Fcreate(path, 2 /* H5F_ACC_TRUNC */, H5P_DEFAULT, H5P_DEFAULT)
                  : h5.H5Fopen(path, 0 /* H5F_ACC_RDONLY */, H5P_DEFAULT);
  if (f < 0)
    return io_fail(c, LT_EVALUE,
                   write ? "cannot create the HDF5 file" : "not an HDF5 file, or a damaged one");
  IoH5 *h = io_alloc(c, sizeof *h);
  if (!h) {
    h5.H5Fclose(f);
    return LT_ENOMEM;
  }
  h->file = f;
  *out = h;
  return LT_OK;
}

void io_h5_close(IoCtx *c, IoH5 *h) {
  if (!h) return;
  h5.H5Fclose(h->file);
  io_free(c, h, sizeof *h);
}

/* ---- listing ---- */

typedef struct {
  int (*fn)(void *, const char *, int);
  void *ud;
} Visit;

static herr_t visit_cb(hid_t g, const char *name, const void *info, void *op) {
  Visit *v = op;
  (void)info;
  hid_t o = h5.H5Oopen(g, name, H5P_DEFAULT);
  if (o < 0) return 0; /* a dangling soft or external link: skipped */
  H5I_type_t t = h5.H5Iget_type(o);
  h5.H5Oclose(o);
  if (t != H5I_DATASET && t != H5I_GROUP) return 0;
  return v->fn(v->ud, name, t == H5I_DATASET) ? 1 : 0;
}

LtStatus io_h5_list(IoCtx *c, IoH5 *h, int (*fn)(void *ud, const char *name, int is_dataset),
                    void *ud) {
  Visit v = {fn, ud};
  if (h5.visit(h->file, H5_INDEX_NAME, H5_ITER_INC, (void *)visit_cb, &v) < 0)
    return io_fail(c, LT_EVALUE, "cannot walk the HDF5 groups (damaged file)");
  return LT_OK;
}

typedef struct {
  int (*fn)(void *, const char *);
  void *ud;
} AVisit;

static herr_t attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *op) {
  AVisit *v = op;
  (void)loc;
  (void)info;
  return v->fn(v->ud, name) ? 1 : 0;
}

/* The root is "/" for libhdf5; lunette's names have no leading slash. */
static const char *obj_path(const char *obj) { return obj && *obj ? obj : "/"; }

LtStatus io_h5_attr_names(IoCtx *c, IoH5 *h, const char *obj, int (*fn)(void *ud, const char *attr),
                          void *ud) {
  AVisit v = {fn, ud};
  hsize_t idx = 0;
  if (h5.H5Aiterate_by_name(h->file, obj_path(obj), H5_INDEX_NAME, H5_ITER_INC, &idx, attr_cb, &v,
                            H5P_DEFAULT) < 0)
    return io_fail(c, LT_EVALUE, "cannot list the attributes of '%s'", obj_path(obj));
  return LT_OK;
}

/* ---- one dataset or attribute, open ---- */

typedef struct {
  hid_t id, space, type;
  int is_attr;
} Obj;

static void obj_close(Obj *o) {
  if (o->type >= 0) h5.H5Tclose(o->type);
  if (o->space >= 0) h5.H5Sclose(o->space);
  if (o->id >= 0) (o->is_attr ? h5.H5Aclose : h5.H5Dclose)(o->id);
  o->id = o->space = o->type = -1;
}

static LtStatus obj_open(IoCtx *c, IoH5 *h, const char *obj, const char *attr, Obj *o) {
  o->is_attr = attr != NULL;
  o->space = o->type = -1;
  if (attr) {
    o->id = h5.H5Aexists_by_name(h->file, obj_path(obj), attr, H5P_DEFAULT) > 0
                ? h5.H5Aopen_by_name(h->file, obj_path(obj), attr, H5P_DEFAULT, H5P_DEFAULT)
                : -1;
    if (o->id < 0) return io_fail(c, LT_EVALUE, "no attribute '%s' on '%s'", attr, obj_path(obj));
    o->space = h5.H5Aget_space(o->id);
    o->type = h5.H5Aget_type(o->id);
  } else {
    o->id = h5.H5Dopen2(h->file, obj_path(obj), H5P_DEFAULT);
    if (o->id < 0) return io_fail(c, LT_EVALUE, "no dataset '%s'", obj_path(obj));
    o->space = h5.H5Dget_space(o->id);
    o->type = h5.H5Dget_type(o->id);
  }
  if (o->space < 0 || o->type < 0) {
    obj_close(o);
    return io_fail(c, LT_EVALUE, "cannot read the type or shape of '%s'", obj_path(obj));
  }
  return LT_OK;
}

/* Fills info from an open object. */
static LtStatus obj_info(IoCtx *c, const Obj *o, const char *name, IoH5Info *info) {
  memset(info, 0, sizeof *info);
  int nd = h5.H5Sget_simple_extent_ndims(o->space);
  if (nd < 0 || nd > LT_MAXDIM)
    return io_fail(c, LT_EVALUE, "'%s' has %d dimensions (at most %d)", name, nd, LT_MAXDIM);
  hsize_t dims[LT_MAXDIM];
  if (nd && h5.H5Sget_simple_extent_dims(o->space, dims, NULL) < 0)
    return io_fail(c, LT_EVALUE, "cannot read the shape of '%s'", name);
  info->ndim = nd;
  for (int i = 0; i < nd; i++) {
    if (dims[i] > (hsize_t)INT64_MAX) return io_fail(c, LT_EVALUE, "'%s' is too large", name);
    info->shape[i] = (int64_t)dims[i];
  }
  H5T_class_t cls = h5.H5Tget_class(o->type);
  size_t size = h5.H5Tget_size(o->type);
  if (cls == H5T_STRING) {
    info->text = 1;
    return LT_OK;
  }
  if (cls == H5T_FLOAT && size <= 4) {
    info->dt = LT_F32; /* float16 converted by libhdf5 */
  } else if (cls == H5T_FLOAT && size == 8) {
    info->dt = LT_F64;
  } else if (cls == H5T_INTEGER) {
    int sign = h5.H5Tget_sign(o->type) == H5T_SGN_2;
    if (size == 1 && !sign)
      info->dt = LT_U8;
    else if (size <= 2 || (size == 4 && sign))
      info->dt = LT_I32;
    else if (size <= 4 || (size == 8 && sign))
      info->dt = LT_I64;
    else
      return io_fail(c, LT_EVALUE, "'%s': unsigned 64-bit integers are not read", name);
  } else if (cls == H5T_ENUM && size == 1) {
    info->dt = LT_BOOL; /* h5py's bool: an int8 enum FALSE = 0, TRUE = 1 */
  } else {
    static const char *const CLS[] = {"integer",  "float",  "time",     "string",
                                      "bitfield", "opaque", "compound", "reference",
                                      "enum",     "vlen",   "array"};
    return io_fail(c, LT_EVALUE, "'%s': HDF5 %s data is not read", name,
                   cls >= 0 && cls <= 10 ? CLS[cls] : "unknown");
  }
  return LT_OK;
}

LtStatus io_h5_info(IoCtx *c, IoH5 *h, const char *obj, const char *attr, IoH5Info *info) {
  Obj o;
  LtStatus st = obj_open(c, h, obj, attr, &o);
  if (st) return st;
  st = obj_info(c, &o, attr ? attr : obj_path(obj), info);
  obj_close(&o);
  return st;
}

static hid_t mem_type(LtDtype dt) {
  switch (dt) {
  case LT_F32: return *h5.H5T_NATIVE_FLOAT_g;
  case LT_F64: return *h5.H5T_NATIVE_DOUBLE_g;
  case LT_I32: return *h5.H5T_NATIVE_INT_g;
  case LT_I64: return *h5.H5T_NATIVE_LLONG_g;
  default: return *h5.H5T_NATIVE_UCHAR_g; /* uint8, bool */
  }
}

LtStatus io_h5_read(IoCtx *c, IoH5 *h, const char *obj, const char *attr, int64_t first,
                    int64_t count, void *dst) {
  Obj o;
  LtStatus st = obj_open(c, h, obj, attr, &o);
  if (st) return st;
  IoH5Info info;
  const char *name = attr ? attr : obj_path(obj);
  if ((st = obj_info(c, &o, name, &info))) goto done;
  if (attr) {
    if (h5.H5Aread(o.id, info.dt == LT_BOOL ? o.type : mem_type(info.dt), dst) < 0)
      st = io_fail(c, LT_EVALUE, "cannot read attribute '%s'", attr);
    goto done;
  }
  hid_t file_space = o.space, mspace = H5S_ALL;
  if (info.ndim > 0 && (first != 0 || count != info.shape[0])) {
    /* A slab of rows: the selection in the file, a matching simple space in memory. */
    hsize_t start[LT_MAXDIM] = {0}, cnt[LT_MAXDIM];
    start[0] = (hsize_t)first;
    cnt[0] = (hsize_t)count;
    for (int i = 1; i < info.ndim; i++) cnt[i] = (hsize_t)info.shape[i];
    if (h5.H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0 ||
        (mspace = h5.H5Screate_simple(info.ndim, cnt, NULL)) < 0) {
      st = io_fail(c, LT_EVALUE, "cannot select rows of '%s'", name);
      goto done;
    }
  }
  /* An enum is read as its own bytes (libhdf5 converts no enum to an integer). */
  hid_t mt = info.dt == LT_BOOL ? o.type : mem_type(info.dt);
  if (count > 0 && h5.H5Dread(o.id, mt, mspace, file_space, H5P_DEFAULT, dst) < 0)
    st = io_fail(c, LT_EVALUE,
                 "cannot read dataset '%s' (damaged data or a filter libhdf5 "
                 "lacks)",
                 name);
  if (mspace != H5S_ALL) h5.H5Sclose(mspace);
done:
  obj_close(&o);
  return st;
}

/* Elements of an open object's space (1 for a scalar). */
static int64_t numel_of(const IoH5Info *info) {
  int64_t n = 1;
  for (int i = 0; i < info->ndim; i++) n *= info->shape[i];
  return n;
}

LtStatus io_h5_read_text(IoCtx *c, IoH5 *h, const char *obj, const char *attr, int64_t *n,
                         char **blob, size_t *blob_cap, int64_t **off) {
  *blob = NULL;
  *off = NULL;
  *n = 0;
  *blob_cap = 0;
  Obj o;
  LtStatus st = obj_open(c, h, obj, attr, &o);
  if (st) return st;
  IoH5Info info;
  const char *name = attr ? attr : obj_path(obj);
  hid_t mt = -1;
  void *buf = NULL;
  size_t buf_n = 0;
  int vlen = 0;
  if ((st = obj_info(c, &o, name, &info))) goto done;
  if (!info.text) {
    st = io_fail(c, LT_EVALUE, "'%s' holds numbers, not text", name);
    goto done;
  }
  int64_t cnt = numel_of(&info);
  vlen = h5.H5Tis_variable_str(o.type) > 0;
  size_t size = vlen ? sizeof(char *) : h5.H5Tget_size(o.type);
  mt = h5.H5Tcopy(vlen ? *h5.H5T_C_S1_g : o.type);
  /* libhdf5 converts no string between character sets: memory takes the file's (h5py writes
   * UTF-8). */
  if (mt < 0 || (vlen && (h5.H5Tset_size(mt, H5T_VARIABLE) < 0 ||
                          h5.H5Tset_cset(mt, h5.H5Tget_cset(o.type)) < 0))) {
    st = io_fail(c, LT_EVALUE, "cannot make a string type for '%s'", name);
    goto done;
  }
  if (size && (uint64_t)cnt > SIZE_MAX / size) {
    st = io_fail(c, LT_EVALUE, "'%s' is too large", name);
    goto done;
  }
  buf_n = (size_t)cnt * size;
  /* io_alloc checks the size against max_alloc: a lying shape fails here. */
  if (!(buf = io_calloc(c, buf_n ? buf_n : 1))) {
    st = LT_ENOMEM;
    goto done;
  }
  herr_t r =
      attr ? h5.H5Aread(o.id, mt, buf) : h5.H5Dread(o.id, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  if (r < 0) {
    vlen = 0; /* nothing to reclaim */
    st = io_fail(c, LT_EVALUE, "cannot read '%s'", name);
    goto done;
  }
  size_t total = 0;
  for (int64_t i = 0; i < cnt; i++) {
    if (vlen) {
      const char *s = ((char **)buf)[i];
      total += s ? strlen(s) : 0;
    } else {
      total += size;
    }
  }
  *blob_cap = total ? total : 1;
  if (!(*blob = io_alloc(c, *blob_cap)) ||
      !(*off = io_alloc(c, (size_t)(cnt + 1) * sizeof **off))) {
    st = LT_ENOMEM;
    goto done;
  }
  size_t at = 0;
  (*off)[0] = 0;
  for (int64_t i = 0; i < cnt; i++) {
    const char *s = vlen ? ((char **)buf)[i] : (char *)buf + (size_t)i * size;
    size_t len = vlen ? (s ? strlen(s) : 0) : strnlen(s, size); /* NUL padding dropped */
    if (len) memcpy(*blob + at, s, len);
    at += len;
    (*off)[i + 1] = (int64_t)at;
  }
  *n = cnt;
done:
  if (vlen && buf) h5.H5Dvlen_reclaim(mt, o.space, H5P_DEFAULT, buf);
  io_free(c, buf, buf_n ? buf_n : 1);
  if (mt >= 0) h5.H5Tclose(mt);
  obj_close(&o);
  if (st) {
    io_free(c, *blob, *blob_cap);
    io_free(c, *off, *off ? (size_t)(numel_of(&info) + 1) * sizeof **off : 0);
    *blob = NULL;
    *off = NULL;
    *blob_cap = 0;
  }
  return st;
}

/* ---- writing ---- */

/* Writes buf (memory type mt) as dataset obj or attribute attr, with file type ft and shape
 * (ndim 0: scalar). */
static LtStatus write_obj(IoCtx *c, IoH5 *h, const char *obj, const char *attr, hid_t ft, hid_t mt,
                          int ndim, const int64_t *shape, const void *buf) {
  hsize_t dims[LT_MAXDIM];
  for (int i = 0; i < ndim; i++) dims[i] = (hsize_t)shape[i];
  hid_t space = ndim ? h5.H5Screate_simple(ndim, dims, NULL) : h5.H5Screate(H5S_SCALAR);
  if (space < 0) return io_fail(c, LT_EVALUE, "cannot make a dataspace for '%s'", obj);
  LtStatus st = LT_OK;
  if (attr) {
    hid_t a = h5.H5Acreate_by_name(h->file, obj_path(obj), attr, ft, space, H5P_DEFAULT,
                                   H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || h5.H5Awrite(a, mt, buf) < 0)
      st = io_fail(c, LT_EVALUE, "cannot write attribute '%s' of '%s' (does '%s' exist?)", attr,
                   obj_path(obj), obj_path(obj));
    if (a >= 0) h5.H5Aclose(a);
  } else {
    /* Intermediate groups of "a/b/name" are created on the way. */
    hid_t lcpl = h5.H5Pcreate(*h5.H5P_CLS_LINK_CREATE_ID_g);
    if (lcpl >= 0) h5.H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d =
        lcpl < 0 ? -1 : h5.H5Dcreate2(h->file, obj, ft, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || h5.H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
      st = io_fail(c, LT_EVALUE, "cannot write dataset '%s'", obj);
    if (d >= 0) h5.H5Dclose(d);
    if (lcpl >= 0) h5.H5Pclose(lcpl);
  }
  h5.H5Sclose(space);
  return st;
}

LtStatus io_h5_write(IoCtx *c, IoH5 *h, const char *obj, const char *attr, const Tensor *t) {
  hid_t ft;
  switch (t->dtype) {
  case LT_F32: ft = *h5.H5T_IEEE_F32LE_g; break;
  case LT_F64: ft = *h5.H5T_IEEE_F64LE_g; break;
  case LT_I32: ft = *h5.H5T_STD_I32LE_g; break;
  case LT_I64: ft = *h5.H5T_STD_I64LE_g; break;
  case LT_U8: ft = *h5.H5T_STD_U8LE_g; break;
  case LT_BOOL: {
    /* h5py's bool: an int8 enum FALSE = 0, TRUE = 1, in the file and in memory alike. */
    hid_t e = h5.H5Tenum_create(*h5.H5T_NATIVE_SCHAR_g);
    signed char f = 0, tr = 1;
    if (e < 0 || h5.H5Tenum_insert(e, "FALSE", &f) < 0 || h5.H5Tenum_insert(e, "TRUE", &tr) < 0) {
      if (e >= 0) h5.H5Tclose(e);
      return io_fail(c, LT_EVALUE, "cannot make the bool type for '%s'", obj);
    }
    LtStatus st = write_obj(c, h, obj, attr, e, e, t->ndim, t->shape, t->data);
    h5.H5Tclose(e);
    return st;
  }
  default: return io_fail(c, LT_EVALUE, "'%s': float16/bfloat16 are written as float32", obj);
  }
  return write_obj(c, h, obj, attr, ft, mem_type(t->dtype), t->ndim, t->shape, t->data);
}

LtStatus io_h5_write_text(IoCtx *c, IoH5 *h, const char *obj, const char *attr,
                          const char *const *s, int64_t n, int scalar) {
  hid_t st_ = h5.H5Tcopy(*h5.H5T_C_S1_g);
  if (st_ < 0 || h5.H5Tset_size(st_, H5T_VARIABLE) < 0 || h5.H5Tset_cset(st_, H5T_CSET_UTF8) < 0) {
    if (st_ >= 0) h5.H5Tclose(st_);
    return io_fail(c, LT_EVALUE, "cannot make a string type");
  }
  LtStatus st = write_obj(c, h, obj, attr, st_, st_, scalar ? 0 : 1, &n, s);
  h5.H5Tclose(st_);
  return st;
}
