#!/usr/bin/env node
'use strict';
/**
 * `node bin/build-snapshot.js --node-id ID [--node-flags FLAGS] ENTRY...`: builds the start-up snapshot
 * bin/run starts the listed entries from, and records what it was built from.
 * bin/run runs it when the snapshot is missing or stale; nothing else needs to.
 *
 * 1. esbuild bundles bin/snapshot.ts into one file (a snapshot holds one script,
 *    and its builder can load no file of its own). Every `.ts` module of this
 *    repository keeps its own `__dirname` and `__filename`. Two modules are made
 *    here: `snapshot:entries` (the entries) and `snapshot:models` (the
 *    kubernetes-models kind of every object in dist/, which the check validates).
 * 2. `node --build-snapshot` runs the bundle (bin/snapshot.ts warms it up) and
 *    writes the snapshot, under FLAGS (V8's), which every start from it must repeat.
 * 3. Next to the snapshot: `inputs`, the SHA-256 of every repository file the
 *    bundle was made from, with node_modules/.package-lock.json (npm rewrites it
 *    on every install) standing for node_modules; `entries`; and `node`, the
 *    identity of the Node binary and the flags (a snapshot only starts the Node
 *    that wrote it, under the same V8 flags).
 *    bin/run starts from the snapshot only when `sha256sum -c inputs` passes and
 *    the entry and Node are the ones recorded: edited code is never run stale.
 *
 * Each build is its own folder, made whole and then pointed at by the `current`
 * link, replaced in one rename: builds at once never mix, and a start reads one
 * build or another, never half of one. Folders of older builds are removed after
 * ten minutes (a process starting from one has long read it).
 *
 * Exit 0 when built; otherwise 1 with the reason on stderr (bin/run then runs the
 * entry without a snapshot, as it would without this file).
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const SNAPSHOT_DIR = path.join(process.env.HONEYDUE_RUN_CACHE || path.join(ROOT, '.cache', 'run'), 'snapshot');
const OLD_BUILD_MS = 10 * 60 * 1000;
/**
 * Files besides the bundle's own inputs that decide what the snapshot holds. npm's record of
 * the installed tree stands for node_modules: without it an install could not be told from
 * another, and no snapshot is built.
 */
const ALSO_INPUTS = ['node_modules/.package-lock.json', 'package.json', 'bin/run', 'bin/build-snapshot.js'];
/** Read by esbuild when it is there. */
const OPTIONAL_INPUTS = ['tsconfig.json'];

function fail(message) {
  process.stderr.write(`bin/run: no start-up snapshot (${message}); running without it\n`);
  process.exit(1);
}

const USAGE = 'usage: node bin/build-snapshot.js --node-id ID [--node-flags FLAGS] ENTRY...';

function parseArgs(argv) {
  const options = { '--node-id': undefined, '--node-flags': '' };
  const entries = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] in options) {
      if (argv[i + 1] === undefined) fail(USAGE);
      options[argv[i]] = argv[++i];
    } else {
      entries.push(argv[i]);
    }
  }
  if (options['--node-id'] === undefined || entries.length === 0) fail(USAGE);
  return { nodeId: options['--node-id'], nodeFlags: options['--node-flags'].split(' ').filter(Boolean), entries };
}

/** Every `apiVersion/kind` of the objects in dist/ (top-level keys of each YAML document). */
function kindsInDist() {
  const kinds = new Set();
  const dist = path.join(ROOT, 'dist');
  let files = [];
  try {
    files = fs.readdirSync(dist, { recursive: true }).filter((file) => file.endsWith('.yaml'));
  } catch {
    return [];
  }
  for (const file of files) {
    for (const doc of fs.readFileSync(path.join(dist, file), 'utf8').split(/^---$/m)) {
      const apiVersion = /^apiVersion: *(\S+)$/m.exec(doc)?.[1];
      const kind = /^kind: *(\S+)$/m.exec(doc)?.[1];
      if (apiVersion && kind) kinds.add(`${apiVersion}/${kind}`);
    }
  }
  return [...kinds].sort();
}

/** The module path of a kind that kubernetes-models has, or undefined. */
function modelPath(key) {
  try {
    return require.resolve(`kubernetes-models/${key}`, { paths: [ROOT] });
  } catch {
    return undefined;
  }
}

function virtualModules(entries) {
  const entriesSource = `module.exports = {\n${entries
    .map((entry) => `  ${JSON.stringify(entry)}: require(${JSON.stringify(path.join(ROOT, entry))}),`)
    .join('\n')}\n};\n`;
  const models = kindsInDist().filter((key) => modelPath(key) !== undefined);
  const modelsSource = `module.exports = {\n${models
    .map((key) => `  ${JSON.stringify(key)}: () => require(${JSON.stringify(`kubernetes-models/${key}`)}),`)
    .join('\n')}\n};\n`;
  return { 'snapshot:entries': entriesSource, 'snapshot:models': modelsSource };
}

/** esbuild plugin: the generated modules, and each repository `.ts` module's own `__dirname` and `__filename`. */
function plugin(modules) {
  return {
    name: 'honeydue-snapshot',
    setup(build) {
      build.onResolve({ filter: /^snapshot:/ }, (args) => ({ path: args.path, namespace: 'snapshot' }));
      build.onLoad({ filter: /.*/, namespace: 'snapshot' }, (args) => ({ contents: modules[args.path], loader: 'js', resolveDir: ROOT }));
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = fs.readFileSync(args.path, 'utf8');
        const names = `const __filename = ${JSON.stringify(args.path)}; const __dirname = ${JSON.stringify(path.dirname(args.path))};\n`;
        return { contents: names + source, loader: 'ts' };
      });
    },
  };
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(path.join(ROOT, file))).digest('hex');
}

function removeOldBuilds(keep) {
  for (const name of fs.readdirSync(SNAPSHOT_DIR)) {
    if (name === keep || name === 'current' || !name.startsWith('build-')) continue;
    const dir = path.join(SNAPSHOT_DIR, name);
    try {
      if (Date.now() - fs.statSync(dir).mtimeMs > OLD_BUILD_MS) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Removed meanwhile by another build.
    }
  }
}

async function main() {
  const { nodeId, nodeFlags, entries } = parseArgs(process.argv.slice(2));
  const missing = ALSO_INPUTS.find((file) => !fs.existsSync(path.join(ROOT, file)));
  if (missing) fail(`no ${missing}, so a later change of it could not be noticed; run npm ci`);
  let esbuild;
  try {
    esbuild = require(require.resolve('esbuild', { paths: [ROOT] }));
  } catch (error) {
    fail(`esbuild is not installed: ${error.message.split('\n')[0]}; run npm ci`);
  }
  const name = `build-${Date.now()}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const dir = path.join(SNAPSHOT_DIR, name);
  fs.mkdirSync(dir, { recursive: true });
  try {
    const bundle = path.join(dir, 'bundle.js');
    const result = await esbuild.build({
      entryPoints: [path.join(ROOT, 'bin', 'snapshot.ts')],
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: `node${process.versions.node.split('.')[0]}`,
      outfile: bundle,
      write: false,
      metafile: true,
      logLevel: 'error',
      plugins: [plugin(virtualModules(entries))],
    });
    // esbuild escapes every non-ASCII character of the code, not of the comments it keeps: one
    // `—` in a comment makes V8 hold the whole script as two bytes a character, and the snapshot
    // holds the script: escaped too, the snapshot is a quarter smaller (16.6 to 12.7 MB) and starts sooner.
    fs.writeFileSync(bundle, result.outputFiles[0].text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
    // Under the V8 flags every start from it will have: a snapshot starts under no others.
    const built = spawnSync(process.execPath, ['--no-warnings', ...nodeFlags, '--snapshot-blob', path.join(dir, 'blob'), '--build-snapshot', bundle], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (built.status !== 0) throw new Error(`node --build-snapshot exited ${built.status ?? built.signal}: ${built.stderr.trim().split('\n').slice(-3).join(' ')}`);
    const inputs = Object.keys(result.metafile.inputs)
      .filter((file) => !file.startsWith('snapshot:') && !file.split('/').includes('node_modules'))
      .concat(ALSO_INPUTS, OPTIONAL_INPUTS.filter((file) => fs.existsSync(path.join(ROOT, file))));
    fs.writeFileSync(path.join(dir, 'inputs'), [...new Set(inputs)].sort().map((file) => `${sha256(file)}  ${file}\n`).join(''));
    fs.writeFileSync(path.join(dir, 'entries'), entries.map((entry) => `${entry}\n`).join(''));
    fs.writeFileSync(path.join(dir, 'node'), `${nodeId}\n`);
    const link = path.join(SNAPSHOT_DIR, `current.${process.pid}.tmp`);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(name, link);
    fs.renameSync(link, path.join(SNAPSHOT_DIR, 'current'));
    removeOldBuilds(name);
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    fail(error.message.split('\n').slice(0, 3).join(' '));
  }
}

main().catch((error) => fail(String(error)));
