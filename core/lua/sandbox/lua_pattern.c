/* A backtracking matcher for Lua patterns that checks the entry's deadline,
 * and string.find/match/gmatch/gsub on top of it. */
#include "lua_pattern.h"

#include <ctype.h>
#include <lauxlib.h>
#include <string.h>

#define PAT_ESC '%'
/* Capture lengths that are not lengths. */
#define PAT_CAP_OPEN (-1)
#define PAT_CAP_POSITION (-2)

typedef struct pat_capture {
  const char *start;
  ptrdiff_t len; /* >= 0 once closed, else PAT_CAP_OPEN or PAT_CAP_POSITION */
} pat_capture;

typedef struct pat_state {
  lua_State *L;
  lua_pattern_check check;
  const char *func; /* "string.find", for the limit message */
  const char *src_begin;
  const char *src_end;
  const char *pat_end;
  int depth_left;
  size_t steps; /* since the last check */
  int ncap;
  pat_capture cap[LUA_PATTERN_MAX_CAPTURES_COUNT];
} pat_state;

/* The check is the userdata at upvalue check_upvalue of the running
 * function (lua_pattern_register). */
static void pat_init(pat_state *ms, lua_State *L, int check_upvalue, const char *func,
                     const char *s, size_t ls, const char *p, size_t lp) {
  ms->L = L;
  ms->check = *(const lua_pattern_check *)lua_touserdata(L, lua_upvalueindex(check_upvalue));
  ms->func = func;
  ms->src_begin = s;
  ms->src_end = s + ls;
  ms->pat_end = p + lp;
  ms->steps = 0;
}

/* Before each attempt at a new subject position. */
static void pat_restart(pat_state *ms) {
  ms->ncap = 0;
  ms->depth_left = LUA_PATTERN_MAX_DEPTH_LEVELS;
}

/* Counts cost steps, one a byte the matcher looks at, and checks the
 * deadline each LUA_PATTERN_CHECK_STEPS of them. Most steps look at one
 * byte; a set walks its members, a back-reference its capture and gsub its
 * replacement, which counted as one step each ran for seconds between two
 * checks. */
static void pat_charge(pat_state *ms, size_t cost) {
  ms->steps += cost;
  if (ms->steps < LUA_PATTERN_CHECK_STEPS) return;
  ms->steps = 0;
  ms->check(ms->L, ms->func);
}

static void pat_step(pat_state *ms) { pat_charge(ms, 1); }

/* Past the single-character class that starts at p. */
static const char *pat_item_end(pat_state *ms, const char *p) {
  char c = *p++;
  if (c == PAT_ESC) {
    if (p == ms->pat_end) luaL_error(ms->L, "malformed pattern (ends with '%%')");
    return p + 1;
  }
  if (c != '[') return p;
  const char *set = p;
  if (p < ms->pat_end && *p == '^') p++;
  /* The first character of a set is a member even when it is ']'. */
  for (int first = 1;; first = 0) {
    if (p == ms->pat_end) luaL_error(ms->L, "malformed pattern (missing ']')");
    if (!first && *p == ']') break;
    if (*p++ == PAT_ESC && p < ms->pat_end) p++;
  }
  pat_charge(ms, (size_t)(p - set));
  return p + 1;
}

static int pat_class_has(int c, int cl) {
  int in;
  switch (tolower(cl)) {
  case 'a':
    in = isalpha(c);
    break;
  case 'c':
    in = iscntrl(c);
    break;
  case 'd':
    in = isdigit(c);
    break;
  case 'g':
    in = isgraph(c);
    break;
  case 'l':
    in = islower(c);
    break;
  case 'p':
    in = ispunct(c);
    break;
  case 's':
    in = isspace(c);
    break;
  case 'u':
    in = isupper(c);
    break;
  case 'w':
    in = isalnum(c);
    break;
  case 'x':
    in = isxdigit(c);
    break;
  case 'z':
    in = (c == 0);
    break; /* deprecated in 5.2, still accepted */
  default:
    return cl == c;
  }
  if (isupper(cl)) in = !in;
  return in != 0;
}

/* set points at '[' and close at the set's ']'. */
static int pat_set_has(int c, const char *set, const char *close) {
  const char *p = set + 1;
  int negate = 0;
  if (*p == '^') {
    negate = 1;
    p++;
  }
  while (p < close) {
    if (*p == PAT_ESC) {
      if (pat_class_has(c, (unsigned char)p[1])) return !negate;
      p += 2;
    } else if (p[1] == '-' && p + 2 < close) {
      if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return !negate;
      p += 3;
    } else {
      if ((unsigned char)*p == c) return !negate;
      p++;
    }
  }
  return negate;
}

/* Whether the subject character at s matches the class p..ep. */
static int pat_single(pat_state *ms, const char *s, const char *p, const char *ep) {
  if (s >= ms->src_end) return 0;
  int c = (unsigned char)*s;
  switch (*p) {
  case '.':
    return 1;
  case PAT_ESC:
    return pat_class_has(c, (unsigned char)p[1]);
  case '[':
    pat_charge(ms, (size_t)(ep - p));
    return pat_set_has(c, p, ep - 1);
  default:
    return (unsigned char)*p == c;
  }
}

static const char *pat_match(pat_state *ms, const char *s, const char *p);

/* '*' and '+': take as many as possible, then give back one at a time. */
static const char *pat_greedy(pat_state *ms, const char *s, const char *p, const char *ep) {
  ptrdiff_t n = 0;
  while (pat_single(ms, s + n, p, ep)) {
    pat_step(ms);
    n++;
  }
  for (; n >= 0; n--) {
    const char *r = pat_match(ms, s + n, ep + 1);
    if (r) return r;
  }
  return NULL;
}

/* '-': take as few as possible. */
static const char *pat_lazy(pat_state *ms, const char *s, const char *p, const char *ep) {
  for (;;) {
    const char *r = pat_match(ms, s, ep + 1);
    if (r) return r;
    if (!pat_single(ms, s, p, ep)) return NULL;
    s++;
  }
}

static const char *pat_open(pat_state *ms, const char *s, const char *p, ptrdiff_t what) {
  if (ms->ncap >= LUA_PATTERN_MAX_CAPTURES_COUNT) luaL_error(ms->L, "too many captures");
  ms->cap[ms->ncap].start = s;
  ms->cap[ms->ncap].len = what;
  ms->ncap++;
  const char *r = pat_match(ms, s, p);
  if (!r) ms->ncap--;
  return r;
}

static const char *pat_close(pat_state *ms, const char *s, const char *p) {
  int l = ms->ncap - 1;
  while (l >= 0 && ms->cap[l].len != PAT_CAP_OPEN) l--;
  if (l < 0) luaL_error(ms->L, "invalid pattern capture");
  ms->cap[l].len = s - ms->cap[l].start;
  const char *r = pat_match(ms, s, p);
  if (!r) ms->cap[l].len = PAT_CAP_OPEN;
  return r;
}

/* %bxy; p points at x. */
static const char *pat_balance(pat_state *ms, const char *s, const char *p) {
  if (p + 1 >= ms->pat_end) luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
  if (s >= ms->src_end || *s != p[0]) return NULL;
  int depth = 1;
  for (const char *t = s + 1; t < ms->src_end; t++) {
    pat_step(ms);
    if (*t == p[1]) {
      if (--depth == 0) return t + 1;
    } else if (*t == p[0]) {
      depth++;
    }
  }
  return NULL;
}

/* %1-%9: the same text again. */
static const char *pat_backref(pat_state *ms, const char *s, int digit) {
  int l = digit - '1';
  if (l < 0 || l >= ms->ncap || ms->cap[l].len == PAT_CAP_OPEN)
    luaL_error(ms->L, "invalid capture index %%%d", l + 1);
  ptrdiff_t len = ms->cap[l].len;
  if (len > 0) pat_charge(ms, (size_t)len);
  if (len < 0 || ms->src_end - s < len || memcmp(ms->cap[l].start, s, (size_t)len) != 0)
    return NULL;
  return s + len;
}

/* The end of the match of p at s, or NULL. */
static const char *pat_match(pat_state *ms, const char *s, const char *p) {
  if (ms->depth_left-- == 0) luaL_error(ms->L, "pattern too complex");
  const char *r;
  for (;;) {
    pat_step(ms);
    if (p == ms->pat_end) {
      r = s;
      break;
    }
    if (*p == '(') {
      if (p + 1 < ms->pat_end && p[1] == ')')
        r = pat_open(ms, s, p + 2, PAT_CAP_POSITION);
      else
        r = pat_open(ms, s, p + 1, PAT_CAP_OPEN);
      break;
    }
    if (*p == ')') {
      r = pat_close(ms, s, p + 1);
      break;
    }
    if (*p == '$' && p + 1 == ms->pat_end) {
      r = s == ms->src_end ? s : NULL;
      break;
    }
    if (*p == PAT_ESC && p + 1 < ms->pat_end && p[1] == 'b') {
      s = pat_balance(ms, s, p + 2);
      if (!s) {
        r = NULL;
        break;
      }
      p += 4;
      continue;
    }
    if (*p == PAT_ESC && p + 1 < ms->pat_end && p[1] == 'f') {
      p += 2;
      if (p == ms->pat_end || *p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
      const char *ep = pat_item_end(ms, p);
      int prev = s == ms->src_begin ? 0 : (unsigned char)s[-1];
      int cur = s < ms->src_end ? (unsigned char)*s : 0;
      if (pat_set_has(prev, p, ep - 1) || !pat_set_has(cur, p, ep - 1)) {
        r = NULL;
        break;
      }
      p = ep;
      continue;
    }
    if (*p == PAT_ESC && p + 1 < ms->pat_end && isdigit((unsigned char)p[1])) {
      s = pat_backref(ms, s, (unsigned char)p[1]);
      if (!s) {
        r = NULL;
        break;
      }
      p += 2;
      continue;
    }
    const char *ep = pat_item_end(ms, p);
    int suffix = ep < ms->pat_end ? *ep : '\0';
    if (suffix == '*') {
      r = pat_greedy(ms, s, p, ep);
      break;
    }
    if (suffix == '-') {
      r = pat_lazy(ms, s, p, ep);
      break;
    }
    int one = pat_single(ms, s, p, ep);
    if (suffix == '+') {
      r = one ? pat_greedy(ms, s + 1, p, ep) : NULL;
      break;
    }
    if (suffix == '?') {
      if (one && (r = pat_match(ms, s + 1, ep + 1))) break;
      p = ep + 1;
      continue;
    }
    if (!one) {
      r = NULL;
      break;
    }
    s++;
    p = ep;
  }
  ms->depth_left++;
  return r;
}

/* Pushes capture i (the whole match s..e when there are none). */
static void pat_push_capture(pat_state *ms, int i, const char *s, const char *e) {
  if (i >= ms->ncap) {
    if (i != 0) luaL_error(ms->L, "invalid capture index %%%d", i + 1);
    lua_pushlstring(ms->L, s, (size_t)(e - s));
    return;
  }
  const pat_capture *c = &ms->cap[i];
  if (c->len == PAT_CAP_OPEN) luaL_error(ms->L, "unfinished capture");
  if (c->len == PAT_CAP_POSITION)
    lua_pushinteger(ms->L, (lua_Integer)(c->start - ms->src_begin) + 1);
  else
    lua_pushlstring(ms->L, c->start, (size_t)c->len);
}

/* Pushes every capture; with s == NULL and no captures, pushes nothing. */
static int pat_push_captures(pat_state *ms, const char *s, const char *e) {
  int n = (ms->ncap == 0 && s) ? 1 : ms->ncap;
  luaL_checkstack(ms->L, n, "too many captures");
  for (int i = 0; i < n; i++) pat_push_capture(ms, i, s, e);
  return n;
}

/* A 1-based, possibly negative start position as a 1-based offset >= 1. */
static size_t pat_start_pos(lua_Integer pos, size_t len) {
  if (pos > 0) return (size_t)pos;
  if (pos == 0 || pos < -(lua_Integer)len) return 1;
  return len + (size_t)pos + 1;
}

static int pat_has_specials(const char *p, size_t lp) {
  for (size_t i = 0; i < lp; i++) {
    if (p[i] != '\0' && strchr("^$*+?.([%-", p[i])) return 1;
  }
  return 0;
}

static int pat_find_or_match(lua_State *L, int find) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = pat_start_pos(luaL_optinteger(L, 3, 1), ls) - 1;
  if (init > ls) {
    luaL_pushfail(L);
    return 1;
  }
  if (find && (lua_toboolean(L, 4) || !pat_has_specials(p, lp))) {
    const char *at = memmem(s + init, ls - init, p, lp);
    if (!at) {
      luaL_pushfail(L);
      return 1;
    }
    lua_pushinteger(L, (lua_Integer)(at - s) + 1);
    lua_pushinteger(L, (lua_Integer)(at - s + (ptrdiff_t)lp));
    return 2;
  }
  int anchor = lp > 0 && *p == '^';
  if (anchor) {
    p++;
    lp--;
  }
  pat_state ms;
  pat_init(&ms, L, 1, find ? "string.find" : "string.match", s, ls, p, lp);
  const char *at = s + init;
  do {
    pat_restart(&ms);
    const char *e = pat_match(&ms, at, p);
    if (e) {
      if (!find) return pat_push_captures(&ms, at, e);
      lua_pushinteger(L, (lua_Integer)(at - s) + 1);
      lua_pushinteger(L, (lua_Integer)(e - s));
      return pat_push_captures(&ms, NULL, NULL) + 2;
    }
  } while (at++ < ms.src_end && !anchor);
  luaL_pushfail(L);
  return 1;
}

static int pat_find(lua_State *L) { return pat_find_or_match(L, 1); }

static int pat_match_fn(lua_State *L) { return pat_find_or_match(L, 0); }

/* The gmatch iterator. Upvalues: subject, pattern, next offset, offset where
 * the last match ended (-1 before the first), so that an empty match right
 * after a match is skipped, and the check. */
static int pat_gmatch_next(lua_State *L) {
  size_t ls, lp;
  const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
  lua_Integer from = lua_tointeger(L, lua_upvalueindex(3));
  lua_Integer last = lua_tointeger(L, lua_upvalueindex(4));
  if (from > (lua_Integer)ls) return 0;
  pat_state ms;
  pat_init(&ms, L, 5, "string.gmatch", s, ls, p, lp);
  for (const char *at = s + from; at <= ms.src_end; at++) {
    pat_restart(&ms);
    const char *e = pat_match(&ms, at, p);
    if (e && e - s != last) {
      lua_pushinteger(L, (lua_Integer)(e - s));
      lua_copy(L, -1, lua_upvalueindex(3));
      lua_replace(L, lua_upvalueindex(4));
      return pat_push_captures(&ms, at, e);
    }
  }
  return 0;
}

static int pat_gmatch(lua_State *L) {
  size_t ls;
  luaL_checklstring(L, 1, &ls);
  luaL_checkstring(L, 2);
  size_t init = pat_start_pos(luaL_optinteger(L, 3, 1), ls) - 1;
  if (init > ls) init = ls + 1; /* past the end: the iterator finds nothing */
  lua_settop(L, 2);
  lua_pushinteger(L, (lua_Integer)init);
  lua_pushinteger(L, -1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushcclosure(L, pat_gmatch_next, 5);
  return 1;
}

/* Appends a replacement string, expanding %0-%9 and %%. */
static void pat_add_string(pat_state *ms, luaL_Buffer *b, const char *s, const char *e) {
  size_t len;
  const char *r = lua_tolstring(ms->L, 3, &len);
  const char *end = r + len;
  const char *q;
  pat_charge(ms, len);
  while ((q = memchr(r, PAT_ESC, (size_t)(end - r)))) {
    luaL_addlstring(b, r, (size_t)(q - r));
    q++;
    if (q < end && *q == PAT_ESC) {
      luaL_addchar(b, PAT_ESC);
    } else if (q < end && *q == '0') {
      luaL_addlstring(b, s, (size_t)(e - s));
    } else if (q < end && isdigit((unsigned char)*q)) {
      pat_push_capture(ms, *q - '1', s, e);
      luaL_addvalue(b);
    } else {
      luaL_error(ms->L, "invalid use of '%c' in replacement string", PAT_ESC);
    }
    r = q + 1;
  }
  luaL_addlstring(b, r, (size_t)(end - r));
}

/* Appends the replacement of one match; returns whether it changed text. */
static int pat_add_value(pat_state *ms, luaL_Buffer *b, const char *s, const char *e, int tr) {
  lua_State *L = ms->L;
  if (tr == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    int n = pat_push_captures(ms, s, e);
    lua_call(L, n, 1);
  } else if (tr == LUA_TTABLE) {
    pat_push_capture(ms, 0, s, e);
    lua_gettable(L, 3);
  } else {
    pat_add_string(ms, b, s, e);
    return 1;
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    luaL_addlstring(b, s, (size_t)(e - s));
    return 0;
  }
  if (!lua_isstring(L, -1))
    return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  luaL_addvalue(b);
  return 1;
}

static int pat_gsub(lua_State *L) {
  size_t ls, lp;
  const char *src = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  int tr = lua_type(L, 3);
  lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
  luaL_argexpected(
      L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
      "string/function/table");
  int anchor = lp > 0 && *p == '^';
  if (anchor) {
    p++;
    lp--;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  pat_state ms;
  pat_init(&ms, L, 1, "string.gsub", src, ls, p, lp);
  const char *last = NULL;
  lua_Integer n = 0;
  int changed = 0;
  while (n < max_n) {
    pat_restart(&ms);
    const char *e = pat_match(&ms, src, p);
    if (e && e != last) {
      n++;
      changed = pat_add_value(&ms, &b, src, e, tr) | changed;
      src = last = e;
    } else if (src < ms.src_end) {
      luaL_addchar(&b, *src++);
    } else {
      break;
    }
    if (anchor) break;
  }
  if (!changed) {
    lua_pushvalue(L, 1);
  } else {
    luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
    luaL_pushresult(&b);
  }
  lua_pushinteger(L, n);
  return 2;
}

void lua_pattern_register(lua_State *L, int idx, lua_pattern_check check) {
  static const luaL_Reg fns[] = {
      {"find", pat_find}, {"match", pat_match_fn}, {"gmatch", pat_gmatch}, {"gsub", pat_gsub},
      {NULL, NULL},
  };
  idx = lua_absindex(L, idx);
  lua_pattern_check *slot = lua_newuserdatauv(L, sizeof *slot, 0);
  *slot = check;
  for (const luaL_Reg *f = fns; f->name; f++) {
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, f->func, 1); /* upvalue 1: the check */
    lua_setfield(L, idx, f->name);
  }
  lua_pop(L, 1);
}
