// A folder laid out as kubelet mounts a ConfigMap: every file lives in a
// timestamped folder, `..data` points at the current one, and the names
// the daemon reads are symlinks through `..data`. An update writes a new
// timestamped folder, swaps `..data` with one rename, and removes the old
// folder: what the daemon's scripts watcher must see (never a subPath).
import fs from 'node:fs';
import { join } from 'node:path';

/**
 * Makes the mount in dir with the files of source (a folder) and returns
 * publish(source): the same swap to a new set, resolving to its folder name.
 */
export function configMapMount(dir, source) {
  let version = 0;
  fs.mkdirSync(dir, { recursive: true });
  const publish = (from) => {
    const stamp = `..2026_06_11_08_30_${String(version++).padStart(2, '0')}.000000001`;
    fs.cpSync(from, join(dir, stamp), { recursive: true });
    const data = join(dir, '..data');
    const old = fs.existsSync(data) ? fs.readlinkSync(data) : null;
    fs.symlinkSync(stamp, join(dir, '..data_tmp'));
    fs.renameSync(join(dir, '..data_tmp'), data);
    if (old) fs.rmSync(join(dir, old), { recursive: true, force: true });
    return stamp;
  };
  publish(source);
  for (const name of fs.readdirSync(source)) fs.symlinkSync(join('..data', name), join(dir, name));
  return publish;
}
