/* ctx.history() and ctx.actions(): read-only views over the daemon's own
 * lists (gate.h), so that what a policy call costs does not depend on how
 * long the session has run. Nothing is copied when a policy asks for a
 * list: `#list` is its length, `list[i]` a view of entry i, and a field of
 * an entry is converted when it is read (a table such as input or
 * decisions as a fresh copy). Writing to a view raises, so no policy can
 * change what another one, or its own next call, reads. A view is valid
 * for the hook call whose ctx gave it, as the ctx is: both hold the ctx's
 * token, which the runtime clears when the call ends. */
#include "lua_policy_list.h"

#include <lauxlib.h>

#include "lua_host_internal.h"
#include "lua_json.h"

#define LIST_META "breakglass.policy_list"
#define ENTRY_META "breakglass.policy_entry"

/* User values of a list view: the ctx token (kept alive), entries made. */
enum { LIST_UV_TOKEN = 1, LIST_UV_ENTRIES, LIST_UV_COUNT };

/* What a view of either kind holds first. */
typedef struct view_head {
  lua_policy_ctx **token; /* *token is NULL once the call ended */
  int actions;            /* ctx.actions(), else ctx.history() */
} view_head;

typedef view_head list_view;

typedef struct entry_view {
  view_head head;
  const json_t *entry; /* valid while *token is: the lists do not change during a call */
} entry_view;

static const char *list_name(int actions) { return actions ? "actions" : "history"; }

static void check_live(lua_State *L, lua_policy_ctx **token, int actions) {
  if (!*token)
    luaL_error(L, "ctx.%s(): this list belongs to a policy call that has ended",
               list_name(actions));
}

static const json_t *list_json(lua_State *L, list_view *v) {
  check_live(L, v->token, v->actions);
  const lua_policy_view *pv = (*v->token)->view;
  return v->actions ? pv->actions : pv->history;
}

static size_t list_size(const json_t *list) { return list ? json_array_size(list) : 0; }

static int read_only(lua_State *L, const char *what) {
  return luaL_error(L, "%s is read-only: copy what you need into a table of your own", what);
}

/* --- what lists and entries share ------------------------------------------ */

/* A kind of view, the upvalue of its metamethods. Both views begin with a
 * view_head. */
typedef struct view_kind {
  const char *meta;
  const char *noun;   /* in tostring: "ctx.history() list" */
  const char *owner;  /* before "ctx.history()" where a write is refused */
  lua_CFunction next; /* what pairs walks with */
} view_kind;

static int list_next(lua_State *L);
static int entry_next(lua_State *L);

static const view_kind list_kind = {LIST_META, "list", "", list_next};
static const view_kind entry_kind = {ENTRY_META, "entry", "an entry of ", entry_next};

static const view_kind *view_kind_of(lua_State *L) {
  return lua_touserdata(L, lua_upvalueindex(1));
}

static int view_pairs(lua_State *L) {
  const view_kind *k = view_kind_of(L);
  luaL_checkudata(L, 1, k->meta);
  lua_pushcfunction(L, k->next);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

static int view_newindex(lua_State *L) {
  const view_kind *k = view_kind_of(L);
  view_head *h = luaL_checkudata(L, 1, k->meta);
  lua_pushfstring(L, "%sctx.%s()", k->owner, list_name(h->actions));
  return read_only(L, lua_tostring(L, -1));
}

static int view_tostring(lua_State *L) {
  const view_kind *k = view_kind_of(L);
  view_head *h = luaL_checkudata(L, 1, k->meta);
  lua_pushfstring(L, "ctx.%s() %s", list_name(h->actions), k->noun);
  return 1;
}

/* --- entries ----------------------------------------------------------------- */

static int entry_index(lua_State *L) {
  entry_view *e = luaL_checkudata(L, 1, ENTRY_META);
  check_live(L, e->head.token, e->head.actions);
  const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
  const json_t *v = key ? json_object_get(e->entry, key) : NULL;
  if (!v)
    lua_pushnil(L);
  else
    lua_json_push(L, v);
  return 1;
}

/* pairs(entry): next over the entry's fields, in the order they were set. */
static int entry_next(lua_State *L) {
  entry_view *e = luaL_checkudata(L, 1, ENTRY_META);
  check_live(L, e->head.token, e->head.actions);
  json_t *obj = (json_t *)e->entry;
  void *it = lua_isnil(L, 2) ? json_object_iter(obj)
             : lua_type(L, 2) == LUA_TSTRING
                 ? json_object_iter_next(obj, json_object_iter_at(obj, lua_tostring(L, 2)))
                 : NULL;
  if (!it) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, json_object_iter_key(it), json_object_iter_key_len(it));
  lua_json_push(L, json_object_iter_value(it));
  return 2;
}

static const luaL_Reg entry_meta[] = {
    {"__index", entry_index},
    {"__newindex", view_newindex},
    {"__pairs", view_pairs},
    {"__tostring", view_tostring},
    {NULL, NULL},
};

/* Pushes a view of entry of the list view at list_index, whose token it
 * keeps alive as its user value. */
static void entry_push(lua_State *L, int list_index, list_view *v, const json_t *entry) {
  entry_view *e = lua_newuserdatauv(L, sizeof *e, 1); /* entry */
  *e = (entry_view){.head = *v, .entry = entry};
  lua_getiuservalue(L, list_index, LIST_UV_TOKEN);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, ENTRY_META);
}

/* --- lists ------------------------------------------------------------------- */

/* list[i]: the same view each time within a call, so that entries compare
 * equal and a walk that reads one twice pays once. */
static int list_index(lua_State *L) {
  list_view *v = luaL_checkudata(L, 1, LIST_META);
  const json_t *list = list_json(L, v);
  int exact = 0;
  lua_Integer i = lua_type(L, 2) == LUA_TNUMBER ? lua_tointegerx(L, 2, &exact) : 0;
  if (!exact || i < 1 || (lua_Unsigned)i > list_size(list)) {
    lua_pushnil(L);
    return 1;
  }
  if (lua_getiuservalue(L, 1, LIST_UV_ENTRIES) != LUA_TTABLE) { /* entries */
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, LIST_UV_ENTRIES);
  }
  if (lua_rawgeti(L, -1, i) != LUA_TNIL) return 1; /* entries entry */
  lua_pop(L, 1);
  entry_push(L, 1, v, json_array_get(list, (size_t)(i - 1))); /* entries entry */
  lua_pushvalue(L, -1);
  lua_rawseti(L, -3, i);
  return 1;
}

static int list_len(lua_State *L) {
  list_view *v = luaL_checkudata(L, 1, LIST_META);
  lua_pushinteger(L, (lua_Integer)list_size(list_json(L, v)));
  return 1;
}

/* pairs(list) walks it as ipairs does. */
static int list_next(lua_State *L) {
  lua_Integer i = lua_isnil(L, 2) ? 1 : luaL_checkinteger(L, 2) + 1;
  lua_settop(L, 1);
  lua_pushinteger(L, i);
  if (lua_geti(L, 1, i) == LUA_TNIL) {
    lua_pushnil(L);
    return 1;
  }
  return 2;
}

static const luaL_Reg list_meta[] = {
    {"__index", list_index}, {"__newindex", view_newindex}, {"__len", list_len},
    {"__pairs", view_pairs}, {"__tostring", view_tostring}, {NULL, NULL},
};

/* The metatables, made once per state; getmetatable shows scripts only a
 * string, so that they cannot reach (or change) the functions. */
static void meta_ensure(lua_State *L, const view_kind *k, const luaL_Reg *fns) {
  if (luaL_newmetatable(L, k->meta)) { /* meta */
    lua_pushlightuserdata(L, (void *)k);
    luaL_setfuncs(L, fns, 1);
    lua_pushliteral(L, "read-only");
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
}

void lua_policy_list_push(lua_State *L, int token_index, int actions) {
  token_index = lua_absindex(L, token_index);
  meta_ensure(L, &list_kind, list_meta);
  meta_ensure(L, &entry_kind, entry_meta);
  list_view *v = lua_newuserdatauv(L, sizeof *v, LIST_UV_COUNT - 1); /* list */
  *v = (list_view){.token = lua_touserdata(L, token_index), .actions = actions};
  lua_pushvalue(L, token_index);
  lua_setiuservalue(L, -2, LIST_UV_TOKEN);
  luaL_setmetatable(L, LIST_META);
}
