#!/usr/bin/env node
'use strict';
/**
 * `node bin/run.js <file.ts> [args...]`: runs a TypeScript entry point of this
 * repository (and every `.ts` module it requires) as CommonJS compiled once and
 * cached, in this one process. tsx's loader costs every start about 0.3 s
 * before any of our code runs; a synth that is served from the cache compiles
 * nothing and never loads a compiler.
 *
 * - Each `.ts` module is compiled on its own by @swc/core with the repository's
 *   .swcrc, the compiler the tests already run through, and runs under its real
 *   path: `__dirname`, `require.main` and the source-mapped stack traces name the
 *   `.ts` file.
 * - A compiled module is cached by the SHA-256 of its source text, its path and
 *   the compiler (its version, .swcrc, this file's format), never by mtime: an
 *   edited file is a new key and is compiled again, so stale code is never run.
 * - V8's compiled code of every JavaScript module (node_modules': cdk8s, yaml,
 *   the generated k8s classes) is cached too, keyed the same way by content and
 *   the Node version, and written at exit so it holds the functions the run
 *   actually compiled. Loading those modules is most of a synth's start-up.
 * - Where each `require` into node_modules led is kept too, per installed tree
 *   (npm's record of it, node_modules/.package-lock.json) and Node version.
 * - Every cache file is written under a temporary name and renamed into place,
 *   so runs at once never read a half-written file; at worst both compile.
 * - Entries are removed 7 days after they were written, by the next run that
 *   compiles anything. The cache (.cache/run/, or HONEYDUE_RUN_CACHE) is
 *   disposable: deleting it costs the next run its compiles, a few tenths of a second.
 *
 * Plain JavaScript, so it runs before anything is compiled.
 */
const crypto = require('crypto');
const fs = require('fs');
const Module = require('module');
const path = require('path');
const vm = require('vm');

const ROOT = path.resolve(__dirname, '..');
const CACHE_DIR = process.env.HONEYDUE_RUN_CACHE || path.join(ROOT, '.cache', 'run');
const JS_DIR = path.join(CACHE_DIR, 'js');
const CODE_DIR = path.join(CACHE_DIR, `v8-${process.version}-${process.arch}`);
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;
const SWCRC = fs.readFileSync(path.join(ROOT, '.swcrc'), 'utf8');
// Read, not required: a run served from the cache loads nothing of @swc/core.
const SWC_VERSION = JSON.parse(fs.readFileSync(require.resolve('@swc/core/package.json', { paths: [ROOT] }), 'utf8')).version;
/** Everything besides the source and its path that decides the compiled text. */
const COMPILER_ID = ['run.js format 2', SWC_VERSION, SWCRC].join('\0');

let wroteCache = false;

function keyOf(...parts) {
  const hash = crypto.createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

/** A cache entry, or undefined when it cannot be read for any reason (absent, a file in the path): then it is a miss. */
function readCached(file, encoding) {
  try {
    return fs.readFileSync(file, encoding);
  } catch {
    return undefined;
  }
}

/** Writes `file` whole or not at all: a reader sees the old file, the new one, or none. */
function writeAtomically(file, data) {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(temporary, data);
    fs.renameSync(temporary, file);
    wroteCache = true;
  } catch {
    // A cache that cannot be written (a read-only checkout, a full disk) only costs the next run a compile.
  }
}

let transform;
function compileTypeScript(source, filename) {
  if (transform === undefined) {
    const swc = require(require.resolve('@swc/core', { paths: [ROOT] }));
    // The map points at the .ts file, which Node reads for an error's source line: embedding the
    // source in the map too doubled each compiled file, which every run reads and decodes.
    const options = { ...JSON.parse(SWCRC), swcrc: false, configFile: false, sourceMaps: 'inline', inlineSourcesContent: false };
    transform = (text, file) => swc.transformSync(text, { ...options, filename: file }).code;
  }
  return transform(source, filename);
}

function compiledTypeScript(filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const cached = path.join(JS_DIR, `${keyOf(COMPILER_ID, filename, source)}.js`);
  const hit = readCached(cached, 'utf8');
  if (hit !== undefined) return hit;
  const code = compileTypeScript(source, filename);
  writeAtomically(cached, code);
  return code;
}

Module._extensions['.ts'] = function loadTypeScript(module, filename) {
  module._compile(compiledTypeScript(filename), filename);
};

/** Scripts compiled without a usable code cache: their cache is written at exit. */
const uncached = [];
const nodeCompile = Module.prototype._compile;

/**
 * Node's own compile step, with V8's code cache. The module wrapper and the
 * `require` it gets are Node's documented CommonJS ones. Two kinds of module
 * keep Node's compile: `.ts` modules, because Node registers their inline
 * source map (the `.ts` line in a stack trace) only there, and a module that
 * uses `import()`, because a vm.Script has no loader for it.
 */
Module.prototype._compile = function compileWithCodeCache(content, filename) {
  if (filename.endsWith('.ts') || content.includes('import(')) return nodeCompile.call(this, content, filename);
  const body = content.startsWith('#!') ? content.replace(/^#!.*/, '') : content;
  const file = path.join(CODE_DIR, keyOf(filename, body));
  const cachedData = readCached(file);
  const script = new vm.Script(Module.wrap(body), { filename, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) uncached.push({ file, script });
  const wrapper = script.runInThisContext({ displayErrors: true });
  const module = this;
  const require = (id) => module.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, module);
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return wrapper.call(module.exports, module.exports, require, module, filename, path.dirname(filename));
};

/**
 * Where each `require` from a dependency (or of a package by name) led, from
 * earlier runs: finding a file in node_modules (paths tried, package.json
 * `exports` read) is a tenth of a synth's start-up, spent again on every run.
 * Only resolutions into node_modules are kept, and only for one installed tree:
 * the file is named by npm's record of that tree (node_modules/.package-lock.json,
 * rewritten by every install), the Node version and its flags, so an install, an
 * upgrade or a new Node starts from an empty map. Without that record nothing is cached.
 * A kept file that is gone is resolved again; a failed resolution is never kept.
 * A package edited in place by hand (its package.json `main` or `exports`
 * changed, no install run) is not noticed: delete .cache/run/ after such an edit.
 */
const INSTALLED_TREE = readCached(path.join(ROOT, 'node_modules', '.package-lock.json'));
// Node's flags (`--conditions`, `--preserve-symlinks`) and NODE_PATH change where a require leads too.
const NODE_FLAGS = [...process.execArgv, process.env.NODE_OPTIONS ?? '', process.env.NODE_PATH ?? ''].join('\0');
const RESOLVE_FILE = INSTALLED_TREE && path.join(CACHE_DIR, 'resolve', `${keyOf('run.js resolve format 1', process.version, NODE_FLAGS, INSTALLED_TREE)}.json`);
const resolutions = new Map(RESOLVE_FILE ? readResolutions(RESOLVE_FILE) : []);
let resolutionsAdded = false;
const nodeResolve = Module._resolveFilename;
const IN_NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/** The kept resolutions, or none when the file is absent or not what this format wrote. */
function readResolutions(file) {
  try {
    const kept = JSON.parse(readCached(file, 'utf8') ?? '{}');
    return Object.entries(kept).filter(([, filename]) => typeof filename === 'string');
  } catch {
    return [];
  }
}

Module._resolveFilename = function resolveWithCache(request, parent, isMain, options) {
  const from = parent?.filename;
  const cacheable = RESOLVE_FILE && !isMain && options === undefined && typeof from === 'string' && !Module.isBuiltin(request) &&
    (from.includes(IN_NODE_MODULES) || !(request.startsWith('.') || path.isAbsolute(request)));
  if (!cacheable) return nodeResolve.apply(this, arguments);
  const key = `${path.dirname(from)}\0${request}`;
  const kept = resolutions.get(key);
  if (kept !== undefined && fs.existsSync(kept)) return kept;
  const filename = nodeResolve.apply(this, arguments);
  if (filename.includes(IN_NODE_MODULES)) {
    resolutions.set(key, filename);
    resolutionsAdded = true;
  }
  return filename;
};

function removeExpired(dir) {
  const now = Date.now();
  for (const name of readIfPresentDir(dir)) {
    const file = path.join(dir, name);
    try {
      if (now - fs.statSync(file).mtimeMs > MAX_AGE_MS) fs.rmSync(file, { force: true });
    } catch {
      // Removed meanwhile by another run.
    }
  }
}

function readIfPresentDir(dir) {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

process.on('exit', () => {
  for (const { file, script } of uncached) writeAtomically(file, script.createCachedData());
  if (resolutionsAdded) writeAtomically(RESOLVE_FILE, JSON.stringify(Object.fromEntries(resolutions)));
  if (wroteCache) {
    removeExpired(JS_DIR);
    removeExpired(path.join(CACHE_DIR, 'resolve'));
    for (const dir of readIfPresentDir(CACHE_DIR).filter((name) => name.startsWith('v8-'))) removeExpired(path.join(CACHE_DIR, dir));
  }
});
process.setSourceMapsEnabled(true);

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node bin/run.js <file.ts> [args...]: runs a TypeScript file of this repository\n');
  process.exit(2);
}
const main = path.resolve(entry);
if (!fs.existsSync(main)) {
  process.stderr.write(`bin/run.js: ${entry}: no such file (resolved to ${main}); give the path of a .ts file\n`);
  process.exit(2);
}
// The entry sees itself as the script that was run, followed by its own arguments.
process.argv = [process.argv[0], main, ...args];
// Loaded as the main module; an entry that exports `main` (the commands bin/run starts from
// the snapshot) does nothing at load and is called here, with its arguments.
const exported = Module._load(main, null, true);
if (typeof exported?.main === 'function') exported.main(args);
