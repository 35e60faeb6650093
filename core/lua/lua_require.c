/* require(name): libraries from lib/ beside the script, and the check that
 * compiles every library of a set. */
#include "lua_require.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_script_file.h"

/* The folders libraries live in, one per folder of scripts. */
static const char *const require_lib_folders[] = {"lib", "tools/lib", "policy/lib", NULL};

/* Upvalues of the require closure. */
enum { UP_DIR = 1, UP_LIBDIR, UP_CACHE, UP_STATE };

/* Whether the file's load has ended; also kept in the registry under its
 * own address, so that lua_require_seal finds it without allocating. */
typedef struct require_state {
  int sealed;
} require_state;

static const char require_state_key = 0;

static int require_name_ok(const char *s, size_t len) {
  if (len == 0 || len > LUA_REQUIRE_NAME_MAX_CHARS) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return 0;
  }
  return 1;
}

/* Loads libdir/name.lua onto the stack as a function; raises on failure.
 * The file's text is freed before anything can raise. */
static void require_load(lua_State *L, const char *name) {
  int base = lua_gettop(L);
  const char *rel = lua_pushfstring(L, "%s/%s.lua", lua_tostring(L, lua_upvalueindex(UP_LIBDIR)),
                                    name);
  const char *path = lua_pushfstring(L, "%s/%s", lua_tostring(L, lua_upvalueindex(UP_DIR)), rel);
  const char *chunkname = lua_pushfstring(L, "@%s", rel); /* rel path chunkname */
  char why[256];
  size_t len;
  char *text;
  if (lua_script_read(path, LUA_REQUIRE_FILE_MAX_BYTES, &text, &len, why, sizeof why) != 0) {
    luaL_error(L, "require \"%s\": cannot open %s: %s", name, rel, why);
    return;
  }
  int status = lua_sandbox_compile(L, text, len, chunkname, "require");
  free(text);
  if (status != LUA_OK) lua_sandbox_check(L, "require"); /* a limit, not a syntax error */
  if (status == LUA_ERRMEM) lua_error(L);                /* the sandbox names the memory limit */
  if (status != LUA_OK) {
    lua_pushfstring(L, "require \"%s\": %s", name, lua_tostring(L, -1));
    lua_error(L);
  }
  lua_replace(L, base + 1);
  lua_settop(L, base + 1); /* chunk */
}

/* require(name): the library's first result (true when it returns none),
 * loaded once per state. */
static int require_fn(lua_State *L) {
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  lua_settop(L, 1);
  if (!require_name_ok(name, len)) {
    if (len > LUA_REQUIRE_NAME_MAX_CHARS)
      return luaL_error(L, "require: a library name is at most %d characters",
                        LUA_REQUIRE_NAME_MAX_CHARS);
    return luaL_error(L,
                      "require \"%s\": not a library name: use 1-%d letters, digits or '_' "
                      "(require(\"x\") loads %s/x.lua)",
                      name, LUA_REQUIRE_NAME_MAX_CHARS,
                      lua_tostring(L, lua_upvalueindex(UP_LIBDIR)));
  }
  lua_pushvalue(L, 1);
  int cached = lua_rawget(L, lua_upvalueindex(UP_CACHE)); /* name cached */
  if (cached == LUA_TBOOLEAN && !lua_toboolean(L, -1))
    return luaL_error(L,
                      "require \"%s\": the library requires itself (directly or through "
                      "another library)",
                      name);
  if (cached != LUA_TNIL) return 1;
  lua_pop(L, 1);
  const require_state *rs = lua_touserdata(L, lua_upvalueindex(UP_STATE));
  if (rs->sealed)
    return luaL_error(L,
                      "require \"%s\": libraries load only while the file itself loads; "
                      "call require at the top of the file",
                      name);
  require_load(L, name); /* name chunk */
  lua_pushvalue(L, 1);
  lua_pushboolean(L, 0); /* loading: a cycle finds false */
  lua_rawset(L, lua_upvalueindex(UP_CACHE));
  lua_pushvalue(L, 1); /* name chunk name */
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    /* A library that failed may be fixed and required again. */
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    lua_rawset(L, lua_upvalueindex(UP_CACHE));
    return lua_error(L);
  }
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  lua_pushvalue(L, 1);
  lua_pushvalue(L, -2);
  lua_rawset(L, lua_upvalueindex(UP_CACHE)); /* name value */
  return 1;
}

typedef struct require_setup {
  const char *dir;
  const char *rel;
} require_setup;

/* Protected: the require closure as a global, its state in the registry. */
static int require_install(lua_State *L) {
  const require_setup *s = lua_touserdata(L, 1);
  const char *slash = strrchr(s->rel, '/');
  lua_pushstring(L, s->dir); /* dir */
  if (slash) {
    lua_pushlstring(L, s->rel, (size_t)(slash - s->rel));
    lua_pushliteral(L, "/lib");
    lua_concat(L, 2);
  } else {
    lua_pushliteral(L, "lib");
  }
  lua_newtable(L); /* dir libdir cache */
  require_state *rs = lua_newuserdatauv(L, sizeof *rs, 0);
  rs->sealed = 0;
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &require_state_key);
  lua_pushcclosure(L, require_fn, 4);
  lua_setglobal(L, "require");
  return 0;
}

int lua_require_open(lua_sandbox *sb, const char *scripts_dir, const char *rel, char *err,
                     size_t errlen) {
  require_setup s = {.dir = scripts_dir, .rel = rel};
  return lua_sandbox_protect(sb, require_install, &s, err, errlen);
}

void lua_require_seal(lua_sandbox *sb) {
  lua_State *L = lua_sandbox_state(sb);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &require_state_key) == LUA_TUSERDATA) {
    require_state *rs = lua_touserdata(L, -1);
    rs->sealed = 1;
  }
  lua_pop(L, 1);
}

/* --- the check of a set's libraries ----------------------------------------------- */

/* Compiles one library in a scratch state; a problem is reported. */
static void require_check_file(const char *dir, const char *rel, const lua_sandbox_limits *limits,
                               void (*report)(void *ud, const char *line), void *ud) {
  char path[LUA_REQUIRE_PATH_MAX_BYTES], why[256], err[LUA_REQUIRE_ERROR_MAX_BYTES];
  const char *base = strrchr(rel, '/') + 1;
  if (!require_name_ok(base, strlen(base) - 4)) {
    snprintf(err, sizeof err, "%s: not a library name: require takes 1-%d letters, digits or '_'",
             rel, LUA_REQUIRE_NAME_MAX_CHARS);
    report(ud, err);
    return;
  }
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  size_t len;
  char *text;
  if (lua_script_read(path, LUA_REQUIRE_FILE_MAX_BYTES, &text, &len, why, sizeof why) != 0) {
    snprintf(err, sizeof err, "%s: cannot open: %s", rel, why);
    report(ud, err);
    return;
  }
  lua_sandbox *sb = NULL;
  lua_State *co;
  int ref = LUA_NOREF;
  if (lua_sandbox_new(&sb, rel, limits, err, sizeof err) < 0 ||
      !(co = lua_sandbox_thread_new(sb, &ref, err, sizeof err)) ||
      lua_sandbox_load(sb, co, text, len, err, sizeof err) < 0)
    report(ud, err);
  free(text);
  lua_sandbox_free(sb);
}

void lua_require_check(const char *scripts_dir, const lua_sandbox_limits *limits,
                       void (*report)(void *ud, const char *line), void *ud) {
  for (const char *const *f = require_lib_folders; *f; f++) {
    char path[LUA_REQUIRE_PATH_MAX_BYTES];
    snprintf(path, sizeof path, "%s/%s", scripts_dir, *f);
    struct dirent **names;
    int n = lua_script_list(path, &names);
    if (n < 0) {
      if (errno != ENOENT && errno != ENOTDIR) {
        char err[LUA_REQUIRE_ERROR_MAX_BYTES];
        snprintf(err, sizeof err, "%s/: cannot list: %s", *f, strerror(errno));
        report(ud, err);
      }
      continue;
    }
    for (int i = 0; i < n; i++) {
      char rel[LUA_REQUIRE_REL_MAX_BYTES];
      snprintf(rel, sizeof rel, "%s/%s", *f, names[i]->d_name);
      require_check_file(scripts_dir, rel, limits, report, ud);
      free(names[i]);
    }
    free(names);
  }
}
