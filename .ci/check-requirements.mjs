// Holds the tests and benchmarks to what set-up installs (.ci/requirements.mjs), so a test that
// needs a program, a Python module or a system folder that a fresh machine does not get fails
// here, naming it, instead of passing on a machine that has it by accident (issue 8: a test ran
// PyTorch, which nothing installed).
//
// 1. Static: every program the test sources start (spawn / execFile / execSync / popen /
//    system with a literal name), every absolute system path they name and every Python module
//    they import must be provided by a package of their profile (tests/bench: 'bench'; the rest
//    of tests/: 'test') or by the base system.
// 2. On Debian: each declared program and path exists and dpkg says it belongs to the package
//    that declares it (so the tables cannot drift from the truth).
//
// Usage: node .ci/check-requirements.mjs [--static]   (exit 1 with the list of problems)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BASE, PROFILES } from './requirements.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(mjs|cjs|js|cpp|hpp|h|py|sh)$/;

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (SOURCE.test(name)) out.push(path);
  }
  return out;
}

/** What the profile (plus the base system) provides: program names, paths, Python modules. */
function provided(profile) {
  const packages = { ...BASE, ...PROFILES[profile] };
  const programs = new Map(), paths = new Map(), python = new Map();
  for (const [pkg, p] of Object.entries(packages)) {
    for (const prog of p.programs ?? []) {
      programs.set(basename(prog), pkg);
      if (prog.startsWith('/')) paths.set(prog, pkg);
    }
    for (const path of p.paths ?? []) paths.set(path, pkg);
    for (const mod of p.python ?? []) python.set(mod, pkg);
  }
  return { packages, programs, paths, python };
}

/** Uses found in one source file: {kind: 'program' | 'path' | 'python', name, line}. */
function usesIn(file) {
  const text = readFileSync(file, 'utf8');
  const uses = [];
  const lineOf = (index) => text.slice(0, index).split('\n').length;
  const add = (kind, name, index) => uses.push({ kind, name, line: lineOf(index) });
  if (file.endsWith('.py')) {
    // A Python script under tests/ is a fixture generator (its output is committed), not a
    // test; it may import what it likes, but nothing in the tests may run it (rule below).
    return uses;
  }
  const js = /\b(?:spawnSync|execFileSync|execFile|spawn|execSync|exec|fork)\(\s*(['"`])([^'"`]+)\1/g;
  for (const m of text.matchAll(js)) add('program', m[2].trim().split(/\s+/)[0], m.index);
  const cpp = /\b(?:popen|system)\(\s*\(?\s*"([^"]+)"/g;
  for (const m of text.matchAll(cpp)) add('program', m[1].trim().split(/\s+/)[0], m.index);
  const sys = /(['"`])(\/(?:usr|bin|sbin|opt|lib)\/[^'"`\s$]*)/g;
  for (const m of text.matchAll(sys)) add('path', m[2].replace(/\/+$/, ''), m.index);
  const script = /(['"`])([^'"`\s]+\.py)\1/g;
  for (const m of text.matchAll(script)) add('program', 'python3', m.index);
  return uses;
}

function staticCheck() {
  const problems = [];
  let counted = 0;
  for (const file of walk(join(root, 'tests'))) {
    const rel = relative(root, file);
    const profile = rel.startsWith('tests/bench/') ? 'bench' : 'test';
    const have = provided(profile);
    for (const use of usesIn(file)) {
      counted += 1;
      const where = `${rel}:${use.line}`;
      if (use.kind === 'program') {
        if (!have.programs.has(basename(use.name))) {
          problems.push(`${where} runs '${use.name}', which no package of the '${profile}' profile ` +
            'installs (.ci/requirements.mjs)');
        }
      } else if (use.kind === 'path') {
        const ok = [...have.paths.keys()].some((p) => use.name === p || use.name.startsWith(`${p}/`)) ||
          have.programs.has(basename(use.name)) && use.name.startsWith('/usr/bin/');
        if (!ok) {
          problems.push(`${where} reads '${use.name}', which no package of the '${profile}' profile ` +
            'provides (.ci/requirements.mjs)');
        }
      }
    }
  }
  return { problems, counted };
}

/** path -> owning packages, for many paths in one dpkg-query call. */
function ownersOf(paths) {
  const r = spawnSync('dpkg-query', ['-S', ...paths], { encoding: 'utf8' });
  const map = new Map(paths.map((p) => [p, []]));
  for (const line of (r.stdout ?? '').split('\n')) {
    const at = line.lastIndexOf(': ');
    if (at < 0 || line.startsWith('diversion')) continue;
    const path = line.slice(at + 2);
    const pkgs = line.slice(0, at).split(',').map((s) => s.trim().split(':')[0]);
    if (map.has(path)) map.get(path).push(...pkgs);
  }
  return map;
}

function which(program) {
  if (program.startsWith('/')) return existsSync(program) ? program : null;
  const r = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function installedCheck(profile) {
  const problems = [];
  const { packages } = provided(profile);
  let counted = 0;
  const wantedOwner = [];  // [package, description, candidate paths]
  for (const [pkg, p] of Object.entries(packages)) {
    for (const prog of p.programs ?? []) {
      counted += 1;
      const found = which(prog);
      if (!found) {
        problems.push(`'${prog}' (package ${pkg}) is not installed: run node .ci/setup.mjs --for ${profile}`);
        continue;
      }
      // The file as found, its real path, and its /bin <-> /usr/bin twin (merged /usr).
      wantedOwner.push([pkg, `'${prog}' is at ${found}, which dpkg does not list as package ${pkg}'s`,
        [...new Set([found, realpathSync(found), found.replace(/^\/usr\/bin\//, '/bin/'),
          found.replace(/^\/bin\//, '/usr/bin/')])]]);
    }
    for (const path of p.paths ?? []) {
      counted += 1;
      if (!existsSync(path)) problems.push(`${path} (package ${pkg}) is missing`);
      else wantedOwner.push([pkg, `${path} does not belong to package ${pkg}`, [path]]);
    }
    for (const mod of p.python ?? []) {
      counted += 1;
      const r = spawnSync('/usr/bin/python3', ['-c', `import ${mod}`], { encoding: 'utf8' });
      if (r.status !== 0) problems.push(`Python module '${mod}' (package ${pkg}) does not import`);
    }
  }
  const owners = ownersOf([...new Set(wantedOwner.flatMap(([, , c]) => c))]);
  for (const [pkg, message, candidates] of wantedOwner) {
    if (!candidates.some((c) => owners.get(c).includes(pkg))) problems.push(message);
  }
  return { problems, counted };
}

export function checkRequirements({ installed = existsSync('/etc/debian_version'), profile = 'test' } = {}) {
  const s = staticCheck();
  const i = installed ? installedCheck(profile) : { problems: [], counted: 0 };
  return { problems: [...s.problems, ...i.problems], uses: s.counted, declared: i.counted };
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const profileArg = process.argv.indexOf('--for');
  const r = checkRequirements({
    installed: !process.argv.includes('--static') && existsSync('/etc/debian_version'),
    profile: profileArg > 0 ? process.argv[profileArg + 1] : 'test',
  });
  for (const p of r.problems) console.error(`[requirements] ${p}`);
  console.log(`[requirements] ${r.uses} uses in tests/ checked, ${r.declared} declared programs, ` +
    `paths and modules verified, ${r.problems.length} problems`);
  process.exit(r.problems.length ? 1 : 0);
}
