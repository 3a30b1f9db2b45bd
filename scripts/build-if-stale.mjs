// `npm start` and `npm run cli` compile only when dist/ is missing or older than a source it is built from:
// a start after a start skips tsc (seconds on a loaded machine); after a pull or an edit it builds again.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stamp = join(root, 'dist', '.tsbuildinfo');

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function builtAt() {
  try {
    return statSync(stamp).mtimeMs;
  } catch {
    return -1;
  }
}

const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((name) => join(root, name));
if (builtAt() < Math.max(...inputs.map(newest))) {
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  // tsc leaves its build info untouched when nothing it emits changed (a file saved unchanged): mark the check done.
  const now = new Date();
  utimesSync(stamp, now, now);
}
