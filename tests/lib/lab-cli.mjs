// The lab's hosts as a process, for scripts/lab.sh:
//
//   node tests/lib/lab-cli.mjs [--dir DIR] [--netns | --no-netns]
//
// Prints the daemon's BREAKGLASS_* settings as KEY=VALUE lines, then
// `ready`, and runs until SIGTERM or SIGINT, when it stops every process
// and removes what it made. SIGUSR1 wedges the VM, SIGUSR2 un-wedges it.
// Runs as root.
import { startLab } from './lab.mjs';

function parseArgs(argv) {
  const opts = { useNetns: 'auto' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--dir' && argv[i + 1]) opts.dir = argv[++i];
    else if (argv[i] === '--netns') opts.useNetns = true;
    else if (argv[i] === '--no-netns') opts.useNetns = false;
    else throw new Error(`usage: lab-cli.mjs [--dir DIR] [--netns | --no-netns] (not: ${argv[i]})`);
  }
  return opts;
}

let lab;
try {
  lab = await startLab(parseArgs(process.argv.slice(2)));
} catch (e) {
  process.stderr.write(`lab: ${e.message}\n`);
  process.exit(1);
}
for (const [key, value] of Object.entries(lab.env())) process.stdout.write(`${key}=${value}\n`);
process.stdout.write('ready\n');

const quit = () => {
  lab.stop();
  process.exit(0);
};
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
process.on('SIGUSR1', () => lab.wedge());
process.on('SIGUSR2', () => lab.unwedge());
// Nothing else holds the loop open: wait for a signal.
setInterval(() => {}, 1 << 30);
