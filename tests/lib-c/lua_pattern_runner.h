/* What the pattern matcher's unit test and fuzz target both compare with:
 * Lua source that starts each one's runner chunk. Each runs a call in a
 * state with Lua's own string library and in one with ours, and the two
 * outcomes must be the same text.
 *
 *   ser(ok, ...)          pcall's results as one string: each value with
 *                         its type, or the error message
 *   gmatch_all(s, p, i)   what string.gmatch(s, p, i) yields, joined (at
 *                         most 101 matches, so an empty match cannot loop)
 */
#ifndef LUA_PATTERN_RUNNER_H
#define LUA_PATTERN_RUNNER_H

#define LUA_PATTERN_RUNNER_PRELUDE                                                                 \
  "local function ser(ok, ...)\n"                                                                  \
  "  local out = {tostring(ok)}\n"                                                                 \
  "  for i = 1, select('#', ...) do\n"                                                             \
  "    local v = select(i, ...)\n"                                                                 \
  "    out[#out + 1] = type(v) .. ':' .. tostring(v)\n"                                            \
  "  end\n"                                                                                        \
  "  return table.concat(out, '|')\n"                                                              \
  "end\n"                                                                                          \
  "local function gmatch_all(s, p, init)\n"                                                        \
  "  local r = {}\n"                                                                               \
  "  for x, y, z in string.gmatch(s, p, init) do\n"                                                \
  "    r[#r + 1] = tostring(x) .. ',' .. tostring(y) .. ',' .. tostring(z)\n"                      \
  "    if #r > 100 then break end\n"                                                               \
  "  end\n"                                                                                        \
  "  return table.concat(r, ';')\n"                                                                \
  "end\n"

#endif
