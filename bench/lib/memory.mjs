// A process's memory as the kernel counts it (/proc/PID/smaps_rollup):
// resident, private (what this process alone costs: the pages it has
// written, Private_Dirty) and the rest of the resident set (file pages,
// shared or not), in KiB. A clean file page counts as private only while
// no other process maps it, so Private_Clean moves with what else runs
// (10 MB on an idle machine, near 0 beside another breakglass): it is
// page cache the kernel can drop, not what the daemon costs.
import { readFileSync } from 'node:fs';

export function memoryKib(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? NaN);
  const priv = field('Private_Dirty');
  return { rss: field('Rss'), pss: field('Pss'), private: priv, shared: field('Rss') - priv,
    anonymous: field('Anonymous') };
}

/** Seconds of CPU the process's main thread (the daemon's event loop) has
 * run: the scheduler's own count, in nanoseconds, where the kernel keeps
 * it; else user + system time in clock ticks. */
export function loopCpuSeconds(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
  } catch {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const CLOCK_TICKS_PER_SECOND = 100; // Linux's USER_HZ
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  }
}
