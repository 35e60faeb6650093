// The processes of this machine as /proc shows them: for tests and lab
// helpers that must know whether a process still runs, what runs below
// it, or what it was started with.
import fs from 'node:fs';

// {state, ppid} of pid, from the fields of /proc/PID/stat after the
// command's closing parenthesis (the command itself may hold spaces and
// parentheses), or undefined once it is gone.
export function processEntry(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

// pid -> {state, ppid} for every process.
export function processTable() {
  const table = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = processEntry(name);
    if (entry) table.set(Number(name), entry);
  }
  return table;
}

// A zombie (which this sandbox's init may not reap) or a dead process does not run.
export const isLive = (entry) => entry !== undefined && entry.state !== 'Z' && entry.state !== 'X';

export const isRunning = (pid) => isLive(processEntry(pid));

// root and every live process below it in table.
export function descendants(root, table) {
  const found = [root];
  for (let i = 0; i < found.length; i++) {
    for (const [pid, entry] of table) if (entry.ppid === found[i] && isLive(entry)) found.push(pid);
  }
  return found;
}

// The process's command line, arguments joined by spaces ('' once it is gone).
export function commandLine(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

// The process's arguments ([] once it is gone).
export function argvOf(pid) {
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
    if (args.at(-1) === '') args.pop();
    return args;
  } catch {
    return [];
  }
}

// The pids of the processes whose arguments pass test(argv).
export const processesWhere = (test) => [...processTable().keys()].filter((pid) => test(argvOf(pid)));

// True when argv holds the option name followed by value (e.g. the fake qm's
// dummy QEMU: -fake-state DIR).
export const hasOption = (argv, name, value) => argv.some((a, i) => a === name && argv[i + 1] === value);
