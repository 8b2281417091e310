// Installs what `npm start`, `npm test` and `npm run bench` need and is missing: Debian
// packages (when root on Debian), then the npm dev dependencies. Uses Node built-ins only,
// since it runs before node_modules exists. On other systems it says what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { PROFILES } from './requirements.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const profile = process.argv.includes('--for')
  ? process.argv[process.argv.indexOf('--for') + 1]
  : 'test';

// Debian packages per profile, with what each is for: .ci/requirements.mjs (the same tables
// hold the tests to what is installed here: .ci/check-requirements.mjs).
const wanted = PROFILES[profile];
if (!wanted) {
  console.error(`setup: unknown profile '${profile}' (start, test or bench)`);
  process.exit(2);
}

function log(msg) {
  console.log(`[setup] ${msg}`);
}

function missingDebianPackages(names) {
  return names.filter((name) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return r.status !== 0 || !r.stdout.includes('install ok installed');
  });
}

function instructions(missing) {
  const lines = missing.map((p) => `  - ${p}: ${wanted[p].why}`);
  return lines.join('\n');
}

const isDebian = existsSync('/etc/debian_version');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

if (!isDebian) {
  // Check the commands we can see; say precisely what is needed instead.
  const tools = ['cmake', 'ninja', 'em++', 'node'];
  const absent = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (absent.length) {
    console.error(`[setup] This is not Debian, so nothing is installed automatically.
Missing commands: ${absent.join(', ')}. quantlab needs:
${Object.values(wanted).map((v) => `  - ${v.why}`).join('\n')}
The headers (xsimd, protozero, catch2) must be under /usr/include/{xsimd,protozero,catch2}.`);
    process.exit(1);
  }
  log('not Debian: assuming the toolchain listed in README.md is installed');
} else {
  const missing = missingDebianPackages(Object.keys(wanted));
  if (missing.length) {
    if (!isRoot) {
      console.error(`[setup] Missing Debian packages:
${instructions(missing)}
Install them with:
  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}
then run this command again.`);
      process.exit(1);
    }
    log(`installing Debian packages: ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
    const still = missingDebianPackages(missing);
    if (still.length) {
      console.error(`[setup] apt-get did not install: ${still.join(' ')}`);
      process.exit(1);
    }
  } else {
    log(`Debian packages present (${Object.keys(wanted).length})`);
  }
}

// npm dev dependencies: install when node_modules is missing or older than the lock file.
const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
const stale = !existsSync(installed) ||
  (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs) ||
  statSync(join(root, 'package.json')).mtimeMs > statSync(installed).mtimeMs;
if (stale) {
  log('installing npm dependencies');
  const args = existsSync(lock) ? ['ci'] : ['install'];
  // --ignore-scripts: onnxruntime-node's install script downloads pieces from outside the
  // npm registry, which these machines cannot reach; no dependency of ours needs a script.
  execFileSync('npm', [...args, '--ignore-scripts', '--no-audit', '--no-fund'],
    { cwd: root, stdio: 'inherit' });
} else {
  log('npm dependencies present');
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
log(`ready (${pkg.name} ${pkg.version}, profile ${profile})`);
