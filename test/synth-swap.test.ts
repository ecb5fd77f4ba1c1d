/**
 * Synth's swap under faults, caused for real: a synth process killed with
 * SIGKILL between the two renames, two synth processes at once, and output
 * folders on a read-only, an immutable and a full file system.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fingerprint } from './helpers';
import { synthesize } from '../app/synth';
import { NODE_TS } from './node-ts';

const ROOT = path.join(__dirname, '..');
const PAUSE_MID_SWAP = path.join(__dirname, 'fixtures', 'synth', 'pause-mid-swap.ts');
const productionYaml = fs.readFileSync(path.join(ROOT, 'config', 'production.yaml'), 'utf8');
const stagingYaml = fs.readFileSync(path.join(ROOT, 'config', 'staging.yaml'), 'utf8');
const quiet = () => undefined;

let scratch: string;
const children: ChildProcess[] = [];
const mounts: string[] = [];

beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-swap-'));
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const mount of mounts.splice(0)) spawnSync('umount', [mount]);
  spawnSync('chattr', ['-R', '-i', scratch]);
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** config/ with production and staging, and an output folder beside it. */
function workspace(root = scratch) {
  const configDir = path.join(root, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  fs.writeFileSync(path.join(configDir, 'production.yaml'), productionYaml);
  // The repository's staging: its own namespace and hosts, and its declared shares of production's data.
  fs.writeFileSync(path.join(configDir, 'staging.yaml'), stagingYaml);
  return { configDir, outDir: path.join(root, 'dist') };
}

/** Folders next to the output (and inside it) that a swap leaves when it is interrupted. */
function leftovers(outDir: string): string[] {
  const around = fs.readdirSync(path.dirname(outDir)).filter((f) => /\.(staging|retired)-\d+$/.test(f));
  const inside = fs.existsSync(outDir) && fs.statSync(outDir).isDirectory() ? fs.readdirSync(outDir).filter((f) => /\.retired-\d+$/.test(f)).map((f) => `dist/${f}`) : [];
  return [...around, ...inside].sort();
}

interface Paused {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly resume: () => void;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>;
}

/** A real synth process (started as `npm run synth` starts one: bin/node-ts), stopped between the two renames of its swap. */
async function synthPausedMidSwap(configDir: string, outDir: string, tag: string, env?: string): Promise<Paused> {
  const resumeFile = path.join(scratch, `resume-${Math.random().toString(16).slice(2)}`);
  const child = spawn(NODE_TS, [PAUSE_MID_SWAP, configDir, outDir, tag, ...(env ? [env] : [])], {
    cwd: ROOT,
    env: { ...process.env, RESUME_FILE: resumeFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout })),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('between renames ')) resolve();
    });
    exited.then(({ code, signal }) => reject(new Error(`synth child ended (${code ?? signal}) before its swap:\n${stdout}${stderr}`)));
  });
  return { child, pid: child.pid!, resume: () => fs.writeFileSync(resumeFile, ''), exited };
}

async function killed(paused: Paused) {
  paused.child.kill('SIGKILL');
  const { signal } = await paused.exited;
  expect(signal).toBe('SIGKILL');
}

/** `npm run synth`'s command, as a real process; returns its exit code and output. */
function synthCommand(configDir: string, outDir: string, ...args: string[]) {
  const run = spawnSync(NODE_TS, ['main.ts', '--config', configDir, '--out', outDir, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('a synth killed between the two renames of its swap', () => {
  test('leaves the output folder missing; the next synth restores it, removes the staging folder and says so', async () => {
    const { configDir, outDir } = workspace();
    synthesize({ configDir, outDir, log: quiet });
    const before = fingerprint(outDir);

    const paused = await synthPausedMidSwap(configDir, outDir, 'dead0000');
    await killed(paused);
    // The fault as it was: no dist/, the old output and the unfinished new one beside it.
    expect(fs.existsSync(outDir)).toBe(false);
    expect(leftovers(outDir)).toEqual([`dist.retired-${paused.pid}`, `dist.staging-${paused.pid}`]);

    // The next run fails (bad config), so what is left in dist/ is the restored previous output alone.
    fs.writeFileSync(path.join(configDir, 'production.yaml'), productionYaml.replace('maxMemory: 256mb', 'maxMemory: 256Mi'));
    const next = synthCommand(configDir, outDir);
    expect(next.code).toBe(1);
    expect(next.stdout).toContain(`recovered: restored ${outDir} from ${outDir}.retired-${paused.pid}: a synth (pid ${paused.pid}) was stopped between the two renames of its swap`);
    expect(next.stdout).toContain(`recovered: removed ${outDir}.staging-${paused.pid}, the unfinished output of a synth (pid ${paused.pid}) that was stopped before its swap`);
    expect(fingerprint(outDir)).toEqual(before);
    expect(leftovers(outDir)).toEqual([]);
  });

  test('a first synth into no output at all: the next run removes the staging folder and writes the output', async () => {
    const { configDir, outDir } = workspace();
    const paused = await synthPausedMidSwap(configDir, outDir, 'dead0000');
    await killed(paused);
    expect(leftovers(outDir)).toEqual([`dist.staging-${paused.pid}`]);

    const next = synthCommand(configDir, outDir);
    expect(next.code).toBe(0);
    expect(next.stdout).toContain(`recovered: removed ${outDir}.staging-${paused.pid}`);
    expect(next.stdout).not.toContain('recovered: restored');
    expect(fs.readdirSync(outDir).sort()).toEqual(['production', 'staging']);
    expect(leftovers(outDir)).toEqual([]);
  });

  test('an --env run: the environment folder comes back, the others were never touched', async () => {
    const { configDir, outDir } = workspace();
    synthesize({ configDir, outDir, log: quiet });
    const before = fingerprint(outDir);

    const paused = await synthPausedMidSwap(configDir, outDir, 'dead0000', 'production');
    await killed(paused);
    expect(fs.existsSync(path.join(outDir, 'production'))).toBe(false);
    expect(leftovers(outDir)).toEqual([`dist.staging-${paused.pid}`, `dist/production.retired-${paused.pid}`]);

    const lines: string[] = [];
    expect(() => synthesize({ configDir, outDir, log: (line) => lines.push(line), beforeWrite: () => { throw new Error('check failed'); } })).toThrow('check failed');
    expect(lines).toContain(
      `recovered: restored ${outDir}/production from ${outDir}/production.retired-${paused.pid}: a synth (pid ${paused.pid}) was stopped between the two renames of its swap`,
    );
    expect(fingerprint(outDir)).toEqual(before);
    expect(leftovers(outDir)).toEqual([]);
  });

  test('a retired folder beside an output that is in place (killed after the swap) is removed', () => {
    const { configDir, outDir } = workspace();
    synthesize({ configDir, outDir, log: quiet });
    // The pid of a process that really ran and ended, as a killed synth's would be.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const retired = `${outDir}.retired-${dead.stdout}`;
    fs.cpSync(outDir, retired, { recursive: true });

    const lines: string[] = [];
    synthesize({ configDir, outDir, log: (line) => lines.push(line) });
    expect(lines).toContain(`recovered: removed ${retired}, the previous output a synth (pid ${dead.stdout}) had replaced before it was stopped`);
    expect(leftovers(outDir)).toEqual([]);
  });
});

describe('concurrent synths', () => {
  test("a running synth's folders are left alone, and the one that swaps last wins without error or leftovers", async () => {
    const { configDir, outDir } = workspace();
    synthesize({ configDir, outDir, imageTag: 'aaaa0001', log: quiet });
    const paused = await synthPausedMidSwap(configDir, outDir, 'bbbb0002');

    // A second synth while the first one is between its renames: it does not take the first one's folders for leftovers.
    const lines: string[] = [];
    synthesize({ configDir, outDir, imageTag: 'cccc0003', log: (line) => lines.push(line) });
    expect(lines.filter((line) => line.startsWith('recovered:'))).toEqual([]);
    expect(leftovers(outDir)).toEqual([`dist.retired-${paused.pid}`, `dist.staging-${paused.pid}`]);
    expect(fs.readFileSync(path.join(outDir, 'production', '40-api.yaml'), 'utf8')).toContain('honeydue-api:cccc0003');

    // The first one resumes: its rename meets the second one's output, which it retires in turn.
    paused.resume();
    const first = await paused.exited;
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('synth finished');
    expect(fs.readFileSync(path.join(outDir, 'production', '40-api.yaml'), 'utf8')).toContain('honeydue-api:bbbb0002');
    expect(fs.readdirSync(path.join(outDir, 'production'))).toHaveLength(11);
    expect(leftovers(outDir)).toEqual([]);
  });

  test('two synth commands started at once both succeed, into one complete output', async () => {
    const { configDir, outDir } = workspace();
    synthesize({ configDir, outDir, log: quiet });
    const expected = fingerprint(outDir);
    const start = () =>
      new Promise<number | null>((resolve) => {
        const child = spawn(NODE_TS, ['main.ts', '--config', configDir, '--out', outDir], { cwd: ROOT, stdio: 'ignore' });
        children.push(child);
        child.on('exit', (code) => resolve(code));
      });
    expect(await Promise.all([start(), start()])).toEqual([0, 0]);
    expect(fingerprint(outDir)).toEqual(expected);
    expect(leftovers(outDir)).toEqual([]);
  });
});

/** Mounts a tmpfs of `size` on a new folder (tests run as root here; say so plainly where that is not possible). */
function tmpfs(size: string): string {
  const mount = path.join(scratch, 'mnt');
  fs.mkdirSync(mount);
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mount], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`this test mounts a tmpfs and needs root with CAP_SYS_ADMIN: ${result.stderr || result.error}`);
  mounts.push(mount);
  return mount;
}

describe('an output folder the file system refuses', () => {
  test('on a read-only file system: the message names the folder, EROFS and the fix; the previous output stays', () => {
    const mount = tmpfs('4m');
    const { configDir, outDir } = workspace(mount);
    synthesize({ configDir, outDir, log: quiet });
    const before = fingerprint(outDir);
    expect(spawnSync('mount', ['-o', 'remount,ro', mount]).status).toBe(0);

    expect(() => synthesize({ configDir, outDir, log: quiet })).toThrow(
      `cannot write the output folder ${outDir}: mkdir ${outDir}.staging-${process.pid}: EROFS (read-only file system); ` +
        `remount the file system holding ${outDir} read-write, or write elsewhere with --out <dir>. The previous output was left as it was.`,
    );
    expect(fingerprint(outDir)).toEqual(before);
  });

  test('in an immutable folder (chattr +i, which stops root too): EPERM and the fix; the previous output stays', () => {
    const parent = path.join(scratch, 'locked');
    const { configDir, outDir } = workspace(parent);
    synthesize({ configDir, outDir, log: quiet });
    const before = fingerprint(outDir);
    const chattr = spawnSync('chattr', ['+i', parent], { encoding: 'utf8' });
    if (chattr.status !== 0) throw new Error(`chattr +i failed (${chattr.stderr}): this test needs a file system with immutable attributes and CAP_LINUX_IMMUTABLE`);

    const run = synthCommand(configDir, outDir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`synth failed; ${outDir} was left as it was.`);
    expect(run.stderr).toMatch(
      new RegExp(`cannot write the output folder ${outDir}: mkdir ${outDir}\\.staging-\\d+: EPERM \\(operation not permitted\\); let this user write to ${outDir} and to ${parent} \\(synth stages beside the output folder\\), clear an immutable attribute \\(lsattr -d, chattr -i\\), or write elsewhere with --out <dir>\\. The previous output was left as it was\\.`),
    );
    expect(fingerprint(outDir)).toEqual(before);
  });

  test('on a full file system: ENOSPC and the fix; the previous output stays and the staging folder is gone', () => {
    const mount = tmpfs('1m');
    const { configDir, outDir } = workspace(mount);
    synthesize({ configDir, outDir, log: quiet });
    const before = fingerprint(outDir);
    // Fill the rest of the tmpfs: a write past its size fails with ENOSPC, keeping what fit.
    expect(() => fs.writeFileSync(path.join(mount, 'filler'), Buffer.alloc(2 * 1024 * 1024))).toThrow(/ENOSPC/);

    expect(() => synthesize({ configDir, outDir, log: quiet })).toThrow(
      new RegExp(`^cannot write the output folder ${outDir}: (write|mkdir) ${outDir}\\.staging-${process.pid}/\\S+: ENOSPC \\(no space left on device\\); free space on the file system holding ${outDir} \\(df -h ${mount}\\)`),
    );
    expect(fingerprint(outDir)).toEqual(before);
    expect(leftovers(outDir)).toEqual([]);
  });

  test('under a file where a folder should be: ENOTDIR names the path', () => {
    const file = path.join(scratch, 'not-a-folder');
    fs.writeFileSync(file, 'keep me');
    const { configDir } = workspace();
    const outDir = path.join(file, 'dist');
    expect(() => synthesize({ configDir, outDir, log: quiet })).toThrow(
      `cannot write the output folder ${outDir}: mkdir ${outDir}.staging-${process.pid}: ENOTDIR (a part of the path is a file, not a folder); ` +
        'move the file in the path away, or write elsewhere with --out <dir>. The previous output was left as it was.',
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
  });

  test('an output path that is a file is refused, and the file is kept', () => {
    const { configDir } = workspace();
    const outDir = path.join(scratch, 'out.txt');
    fs.writeFileSync(outDir, 'keep me');
    expect(() => synthesize({ configDir, outDir, log: quiet })).toThrow(`${outDir} is a file, not a folder: synth writes a folder there; move the file away or pass --out <dir>`);
    expect(fs.readFileSync(outDir, 'utf8')).toBe('keep me');
    expect(leftovers(outDir)).toEqual([]);
  });

  test('an --env run into an output path that is a file is refused the same way', () => {
    const { configDir } = workspace();
    const outDir = path.join(scratch, 'out.txt');
    fs.writeFileSync(outDir, 'keep me');
    expect(() => synthesize({ configDir, outDir, envs: ['production'], log: quiet })).toThrow(`${outDir} is a file, not a folder`);
    expect(fs.readFileSync(outDir, 'utf8')).toBe('keep me');
  });
});
