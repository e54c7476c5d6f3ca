/*
 * The filesystem calls Node lacks, for src/snapshot/fs-native.ts: extended attributes, and
 * making FIFOs and device nodes. Paths and attribute names are taken as bytes (Buffers), so an
 * entry whose name is not UTF-8 (a Latin-1 name on an old Samba share, with its user.DOSATTRIB)
 * is reached like any other. The l*xattr calls never follow a symlink at the end of the path: a
 * link's own attributes are read and written, never its target's. A failure throws an Error
 * carrying the errno number; the TypeScript side names it.
 */
#define NAPI_VERSION 8
#include <errno.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>

/* The kernel's own bound on an attribute value (XATTR_SIZE_MAX) and on a listing (XATTR_LIST_MAX). */
#define LARGEST 65536
/* Most entries have no attributes, or a few short ones (DOS attributes, an ACL): tried first. */
#define SMALL 4096

static napi_value throw_errno(napi_env env, int number, const char *call) {
  napi_value message, error, errno_value;
  napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_int32(env, number, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

/* A Buffer argument's bytes, or false with a TypeError pending. */
static bool buffer_of(napi_env env, napi_value value, void **data, size_t *length) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer) {
    napi_throw_type_error(env, NULL, "expected a Buffer");
    return false;
  }
  napi_get_buffer_info(env, value, data, length);
  return true;
}

/*
 * The bytes of a Buffer argument as a NUL-terminated string (malloc'd), or NULL with a JavaScript
 * exception pending: not a Buffer, or holding a NUL byte, which no path or name can.
 */
static char *take_bytes(napi_env env, napi_value value) {
  void *data = NULL;
  size_t length = 0;
  if (!buffer_of(env, value, &data, &length)) return NULL;
  if (length > 0 && memchr(data, 0, length) != NULL) {
    throw_errno(env, EINVAL, "a path or name holds a NUL byte");
    return NULL;
  }
  char *copy = malloc(length + 1);
  if (copy == NULL) {
    throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  if (length > 0) memcpy(copy, data, length); /* an empty Buffer's data may be NULL */
  copy[length] = 0;
  return copy;
}

/* args[0] and args[1] as a path and a name (both malloc'd), or false with an exception pending. */
static bool take_path_and_name(napi_env env, const napi_value *args, char **path, char **name) {
  *path = take_bytes(env, args[0]);
  if (*path == NULL) return false;
  *name = take_bytes(env, args[1]);
  if (*name != NULL) return true;
  free(*path);
  return false;
}

static bool take_args(napi_env env, napi_callback_info info, size_t wanted, napi_value *args) {
  size_t count = wanted;
  if (napi_get_cb_info(env, info, &count, args, NULL, NULL) != napi_ok || count < wanted) {
    napi_throw_type_error(env, NULL, "missing arguments");
    return false;
  }
  return true;
}

/* One of the two reads below into a buffer of `size` bytes; -1 with errno on failure. */
typedef ssize_t (*reader)(const char *path, const char *name, char *buffer, size_t size);

static ssize_t list_into(const char *path, const char *name, char *buffer, size_t size) {
  (void)name;
  return llistxattr(path, buffer, size);
}

static ssize_t get_into(const char *path, const char *name, char *buffer, size_t size) {
  return lgetxattr(path, name, buffer, size);
}

/*
 * Reads into *buffer (SMALL bytes, the caller's) and, when that is too small (ERANGE), again into
 * LARGEST bytes of heap that *buffer then points to: the caller frees it when it is not its own.
 */
static ssize_t fill(reader read, const char *path, const char *name, char **buffer) {
  ssize_t size = read(path, name, *buffer, SMALL);
  if (size >= 0 || errno != ERANGE) return size;
  char *large = malloc(LARGEST);
  if (large == NULL) {
    errno = ENOMEM;
    return -1;
  }
  *buffer = large;
  return read(path, name, large, LARGEST);
}

/* list(path): the attribute names of the entry, as Buffers, in the kernel's order. */
static napi_value list(napi_env env, napi_callback_info info) {
  napi_value args[1], result = NULL;
  if (!take_args(env, info, 1, args)) return NULL;
  char *path = take_bytes(env, args[0]);
  if (path == NULL) return NULL;
  char small[SMALL];
  char *names = small;
  ssize_t size = fill(list_into, path, NULL, &names);
  int failure = errno;
  free(path);
  if (size < 0) {
    if (names != small) free(names);
    return throw_errno(env, failure, "llistxattr");
  }
  napi_create_array(env, &result);
  uint32_t index = 0;
  for (ssize_t at = 0; at < size;) {
    size_t length = strnlen(names + at, (size_t)(size - at));
    napi_value name;
    napi_create_buffer_copy(env, length, names + at, NULL, &name);
    napi_set_element(env, result, index++, name);
    at += (ssize_t)length + 1;
  }
  if (names != small) free(names);
  return result;
}

/* get(path, name): the value, or null when the entry has no such attribute (removed meanwhile). */
static napi_value get(napi_env env, napi_callback_info info) {
  napi_value args[2], result = NULL;
  if (!take_args(env, info, 2, args)) return NULL;
  char *path, *name;
  if (!take_path_and_name(env, args, &path, &name)) return NULL;
  char small[SMALL];
  char *value = small;
  ssize_t size = fill(get_into, path, name, &value);
  int failure = errno;
  free(path);
  free(name);
  if (size < 0) {
    if (value != small) free(value);
    if (failure == ENODATA) {
      napi_get_null(env, &result);
      return result;
    }
    return throw_errno(env, failure, "lgetxattr");
  }
  napi_create_buffer_copy(env, (size_t)size, value, NULL, &result);
  if (value != small) free(value);
  return result;
}

/* set(path, name, value): creates or replaces the attribute. */
static napi_value set(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!take_args(env, info, 3, args)) return NULL;
  void *value = NULL;
  size_t length = 0;
  if (!buffer_of(env, args[2], &value, &length)) return NULL;
  char *path, *name;
  if (!take_path_and_name(env, args, &path, &name)) return NULL;
  int done = lsetxattr(path, name, value, length, 0);
  int failure = errno;
  free(path);
  free(name);
  if (done != 0) return throw_errno(env, failure, "lsetxattr");
  return NULL;
}

/*
 * mknod(path, kind, major, minor): kind 0 a FIFO, 1 a character device, 2 a block device, made
 * with mode 0600 (the restore sets the real mode afterwards); refuses an existing path (EEXIST).
 */
static napi_value make_node(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!take_args(env, info, 4, args)) return NULL;
  uint32_t kind = 0, major_number = 0, minor_number = 0;
  if (napi_get_value_uint32(env, args[1], &kind) != napi_ok || kind > 2 ||
      napi_get_value_uint32(env, args[2], &major_number) != napi_ok ||
      napi_get_value_uint32(env, args[3], &minor_number) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a kind (0-2), a major and a minor number");
    return NULL;
  }
  static const mode_t kinds[] = {S_IFIFO, S_IFCHR, S_IFBLK};
  char *path = take_bytes(env, args[0]);
  if (path == NULL) return NULL;
  dev_t device = kind == 0 ? 0 : makedev(major_number, minor_number);
  int done = mknod(path, kinds[kind] | 0600, device);
  int failure = errno;
  free(path);
  if (done != 0) return throw_errno(env, failure, "mknod");
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor functions[] = {
      {"list", NULL, list, NULL, NULL, NULL, napi_default, NULL},
      {"get", NULL, get, NULL, NULL, NULL, napi_default, NULL},
      {"set", NULL, set, NULL, NULL, NULL, napi_default, NULL},
      {"makeNode", NULL, make_node, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}
