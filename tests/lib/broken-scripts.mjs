// The ways an operator's edit can break a script set, shared by the tests
// of `breakglass check` and of hot reload: each is the files to write and
// the one `file:line: message` line the loader must report.
//
// brokenEdits(syntaxTool, otherTool) names two tool files of the set:
// {file, name} (e.g. {file: 'tools/pve.lua', name: 'pve'}). The memory
// bomb expects a 16 MiB Lua memory cap (BREAKGLASS_LUA_MEMORY_MB=16): a
// small cap is reached well before the time limit even in a sanitizer
// build on a busy machine.

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export const LUA_MEMORY_MB = '16';

export function brokenEdits(syntaxTool, otherTool) {
  const syntax = escape(syntaxTool.file);
  const other = escape(otherTool.file);
  return [
    {
      what: 'a syntax error',
      files: { [syntaxTool.file]: `return {\n  name = "${syntaxTool.name}"\n  description = "a comma is missing above",\n}\n` },
      line: new RegExp(`^${syntax}:3: '}' expected \\(to close '\\{' at line 1\\) near 'description'$`),
    },
    {
      what: 'an error at load',
      files: { 'prompt.lua': '-- the prompt\nlocal t = nil\nreturn t.text\n' },
      line: /^prompt\.lua:3: attempt to index a nil value \(local 't'\)$/,
    },
    {
      what: 'a tool without a schema',
      files: { [otherTool.file]: `return {name = "${otherTool.name}", description = "x", handler = function() end}\n` },
      line: new RegExp(`^${other}: input_schema: must be a table`),
    },
    {
      what: 'an endless loop at load',
      files: { [otherTool.file]: 'local n = 0\nwhile true do n = n + 1 end\n' },
      line: new RegExp(`^${other}:2: (instruction|time) limit \\(\\d+( ms)?\\) exceeded$`),
    },
    {
      what: 'the all-empty string.rep, a C loop no hook stops, then an error',
      files: { [otherTool.file]: 'local s = string.rep("", math.maxinteger, "")\nerror("rep returned " .. #s)\n' },
      line: new RegExp(`^${other}:2: rep returned 0$`),
    },
    {
      // Each `and` makes Lua's compiler walk the jump list built so far:
      // 150,000 of them (900 KB) took about half a minute to compile.
      what: 'a source the compiler takes quadratic time over',
      files: { [otherTool.file]: `return ${'a and '.repeat(150000)}a\n` },
      line: new RegExp(`^${other}: time limit \\(\\d+ ms\\) exceeded while compiling$`),
    },
    {
      what: 'a memory bomb at load',
      files: { [otherTool.file]: 'local t, i = {}, 0\n\nwhile true do i = i + 1; t[i] = ("x"):rep(65536) .. i end\n' },
      line: new RegExp(`^${other}:3: memory limit \\(${LUA_MEMORY_MB} MiB\\) exceeded$`),
    },
  ];
}
