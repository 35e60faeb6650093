/* What confirm_destructive costs: the memory its state keeps once loaded,
 * and the VM instructions it spends on one line, for everyday lines and for
 * the costliest lines found (each up to the parser's 16 KiB), side by side
 * for two policy folders (this tree's and a baseline's, e.g. a git
 * archive of an older commit).
 *
 * It runs the policy in a plain Lua 5.4 state, the same VM and bytecode as
 * the daemon's sandbox without its limits: instructions are counted by a
 * count hook every HOOK_STEP of them, as the sandbox counts its budget, so
 * each figure is within HOOK_STEP of the truth. The sandbox's state holds
 * some 18 KB more (its proxies and json), the same for both folders. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>

#define HOOK_STEP 100

/* Lua expressions for the lines: everyday ones, then the costliest. */
static const char *const lines[] = {
    "'ls -la /var/log'",
    "'journalctl -u nginx --since \"1 hour ago\" --no-pager | tail -n 50'",
    "'sudo systemctl restart nginx && systemctl status nginx'",
    "'reboot'",
    "string.rep('a;', 8000)",
    "string.rep('a>b ', 4000)",
    "string.rep('sudo ', 3000) .. 'reboot'",
    "'rm -rf ' .. string.rep('/e* ', 4000)",
    "'rm -rf ' .. string.rep('[a-z]', 3000)",
    "string.rep('x=$(y) ', 2000)",
    "string.rep('tar --to-command=x ', 800)",
    "string.rep('`', 16000)",
    "string.rep('(', 16000)",
};
#define LINE_COUNT (sizeof lines / sizeof lines[0])

static unsigned long long instructions;

static void count_hook(lua_State *L, lua_Debug *ar) {
  (void)L;
  (void)ar;
  instructions += HOOK_STEP;
}

static int gc_bytes(lua_State *L) {
  lua_gc(L, LUA_GCCOLLECT);
  return lua_gc(L, LUA_GCCOUNT) * 1024 + lua_gc(L, LUA_GCCOUNTB);
}

/* A state with confirm_destructive.lua of folder loaded, its table on the
 * stack; *kept is what loading it added. NULL when it does not load. */
static lua_State *policy_load(const char *folder, int *kept) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  int bare = gc_bytes(L);
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/lib/?.lua", folder);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  lua_pushfstring(L, "%s/confirm_destructive.lua", folder);
  if (luaL_dofile(L, lua_tostring(L, -1)) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  lua_remove(L, 1);
  *kept = gc_bytes(L) - bare;
  return L;
}

/* policy.before on the line expr evaluates to: its instructions, and
 * whether it asked ("ask", "pass", or "error"). */
static unsigned long long policy_cost(lua_State *L, const char *expr, const char **verdict) {
  lua_pushfstring(L, "return %s", expr);
  luaL_dostring(L, lua_tostring(L, -1));
  int line = lua_gettop(L);
  lua_getfield(L, 1, "before");
  lua_newtable(L); /* ctx: the policy does not read it */
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, "devvm_shell");
  lua_setfield(L, -2, "tool");
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, line);
  lua_setfield(L, -2, "command");
  lua_setfield(L, -2, "input");
  instructions = 0;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_STEP);
  int rc = lua_pcall(L, 2, 1, 0);
  lua_sethook(L, NULL, 0, 0);
  *verdict = rc != LUA_OK ? "error" : lua_isnil(L, -1) ? "pass" : "ask";
  lua_settop(L, 1);
  return instructions;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s POLICY_DIR [BASELINE_POLICY_DIR]\n", argv[0]);
    return 2;
  }
  int sides = argc - 1, kept[2] = {0, 0};
  lua_State *states[2] = {NULL, NULL};
  for (int s = 0; s < sides; s++)
    if (!(states[s] = policy_load(argv[1 + s], &kept[s]))) return 1;
  printf("%-44s %16s", "confirm_destructive", "this");
  if (sides == 2) printf(" %16s", "baseline");
  printf("\n%-44s %13d KB", "state kept after load", kept[0] / 1024);
  if (sides == 2) printf(" %13d KB", kept[1] / 1024);
  printf("\n");
  for (size_t i = 0; i < LINE_COUNT; i++) {
    printf("%-44.44s", lines[i]);
    for (int s = 0; s < sides; s++) {
      const char *verdict;
      unsigned long long n = policy_cost(states[s], lines[i], &verdict);
      printf(" %10llu %-5s", n, verdict);
    }
    printf("\n");
  }
  for (int s = 0; s < sides; s++) lua_close(states[s]);
  return 0;
}
