/**
 * Redis' container contract: the Deployment's `sh -c` script, exactly as
 * rendered, run by busybox `sh` (the shell of `redis:7-alpine`) with the
 * real redis-server, in a "/data" that already holds `appendonlydir` (as the
 * volume does after the first start, and as a glob would find it).
 *
 * The script has no port line (the image's 6379 is the contract), so a
 * `redis-server` stand-in first on PATH execs the real one with the script's
 * arguments plus `--port <free port> --bind 127.0.0.1` (tests run beside other
 * Redis instances) and `--set-proc-title no` (Redis would otherwise overwrite
 * its argv with a title, and the cmdline check below would prove nothing).
 * `od`, `tr` and `sed` are busybox applets, as on alpine. Every stand-in
 * logs the argv it got, so the test sees every argv of every exec'd program.
 */
import * as fs from 'fs';
import * as path from 'path';
import { configGet, RespConnection } from './resp';
import {
  argvLoggingBin, cleanup, containerEnv, describeWithBinaries, findBinary, freePort, objectOf, podSpecOf, renderedObjects, startTracked, tempDir,
  TrackedProcess, waitUntil,
} from './support';

const busybox = findBinary('busybox');
const redisServer = findBinary('redis-server');

/** Passwords that broke the unquoted `$REDIS_PASSWORD` or would break a naive quoting. */
const HOSTILE_PASSWORDS: [string, string][] = [
  ['a space', 'pass word'],
  ['a lone *', '*'],
  ['a* (globbed to appendonlydir before)', 'a*'],
  ['a ? and brackets', 'x?[ab]'],
  ['single quotes', "it's 'quoted'"],
  ['double quotes', 'say "hi"'],
  ['$ and a command substitution', '$HOME$(id)`id`'],
  ['backslashes', 'back\\slash\\x41\\'],
  ['a leading -', '-requirepass'],
  ['a leading --', '--port 1'],
  ['a leading #', '# not a comment'],
  ['a newline', 'line1\nline2'],
  ['a trailing newline and tab', 'tab\tend\n'],
  ['non-ASCII bytes', 'pässwörd✓'],
  ['2000 bytes (a here-document over one pipe buffer)', `${'0123456789'.repeat(199)}"*' \\$`],
];

/** SPEC "redis": the effective configuration every start must have. */
const SPEC_CONFIG = { appendonly: 'yes', appendfsync: 'everysec', maxmemory: String(256 * 1024 * 1024), 'maxmemory-policy': 'noeviction' };

describeWithBinaries('Redis container contract (busybox sh + redis-server)', { busybox, 'redis-server': redisServer }, () => {
  const objects = renderedObjects('production');
  const pod = podSpecOf(objectOf(objects, 'Deployment', 'redis'));
  const container = pod.containers[0];

  afterAll(cleanup);
  afterEach(cleanup);

  /** Starts the container's command as the kubelet would (cwd = the image's WORKDIR /data, env from the manifest). */
  async function startRedis(secretData: Record<string, string>): Promise<{ process: TrackedProcess; port: number; argvLog: string }> {
    const port = await freePort();
    const data = tempDir('redis-data');
    fs.mkdirSync(path.join(data, 'appendonlydir'));
    const bin = tempDir('redis-bin');
    const argvLog = path.join(bin, 'argv.log');
    fs.writeFileSync(argvLog, '');
    argvLoggingBin(bin, argvLog, {
      'redis-server': `${redisServer} "$@" --port ${port} --bind 127.0.0.1 --set-proc-title no`,
      od: `${busybox} od "$@"`,
      tr: `${busybox} tr "$@"`,
      sed: `${busybox} sed "$@"`,
    });
    const env = containerEnv(container, {}, { 'honeydue-secrets': secretData });
    expect(container.command.slice(0, 2)).toEqual(['sh', '-c']);
    // busybox as argv[0], the manifest's command after it: `busybox sh -c <script>`.
    const process = startTracked(busybox!, container.command, { cwd: data, env: { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, ...env } });
    let connected = false;
    await waitUntil(
      async () => {
        if (process.exited) throw new Error(`Redis exited (${JSON.stringify(process.exited)}) before accepting connections:\n${process.output}`);
        connected = await RespConnection.connect(port, 200).then((c) => (c.close(), true), () => false);
        return connected;
      },
      5000,
      () => `Redis did not accept connections on ${port}:\n${process.output}`,
    );
    return { process, port, argvLog };
  }

  async function expectSpecConfig(connection: RespConnection): Promise<void> {
    for (const [name, value] of Object.entries(SPEC_CONFIG)) expect(await configGet(connection, name)).toBe(value);
  }

  test('the password comes from the optional REDIS_PASSWORD key of the Secret, not from argv', () => {
    expect(container.env).toEqual([
      { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'honeydue-secrets', key: 'REDIS_PASSWORD', optional: true } } },
    ]);
    expect(container.args).toBeUndefined();
  });

  test('the pod runs as the image\'s redis user: uid 999, gid 1000', () => {
    expect(pod.securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 1000, fsGroup: 1000 });
  });

  test.each(HOSTILE_PASSWORDS)('a password with %s: AUTH with exactly it works, nothing else does, and no argv or environ holds it', async (_label, password) => {
    const { process, port, argvLog } = await startRedis({ REDIS_PASSWORD: password });
    const connection = await RespConnection.connect(port);
    try {
      expect(await connection.command('PING')).toEqual({ error: expect.stringMatching(/^NOAUTH/) });
      expect(await connection.command('AUTH', `${password}x`)).toEqual({ error: expect.stringMatching(/^WRONGPASS/) });
      expect(await connection.command('AUTH', password.slice(0, -1))).toEqual({ error: expect.stringMatching(/^WRONGPASS/) });
      expect(await connection.command('AUTH', password)).toEqual({ ok: 'OK' });
      expect(await connection.command('PING')).toEqual({ ok: 'PONG' });
      expect(await connection.command('CONFIG', 'GET', 'requirepass')).toEqual({ array: [Buffer.from('requirepass'), Buffer.from(password)] });
      await expectSpecConfig(connection);
    } finally {
      connection.close();
    }
    const secret = Buffer.from(password);
    const pid = process.child.pid!;
    // The running redis-server is the script's process (exec, twice): its argv and environ hold no password.
    expect(fs.readFileSync(`/proc/${pid}/cmdline`).toString()).toMatch(/redis-server/);
    expect(fs.readFileSync(`/proc/${pid}/cmdline`).includes(secret)).toBe(false);
    expect(fs.readFileSync(`/proc/${pid}/environ`).includes(Buffer.from('REDIS_PASSWORD='))).toBe(false);
    expect(fs.readFileSync(`/proc/${pid}/environ`).includes(secret)).toBe(false);
    // Every program the script exec'd (redis-server, od, tr, sed) got an argv without it.
    const argvs = fs.readFileSync(argvLog);
    expect(argvs.includes(Buffer.from('redis-server'))).toBe(true);
    expect(argvs.includes(secret)).toBe(false);
  });

  test.each([
    ['the Secret has no REDIS_PASSWORD key', {}],
    ['REDIS_PASSWORD is empty', { REDIS_PASSWORD: '' }],
  ])('%s: no requirepass, commands work without AUTH', async (_label, secretData) => {
    const { port } = await startRedis(secretData as Record<string, string>);
    const connection = await RespConnection.connect(port);
    try {
      expect(await connection.command('PING')).toEqual({ ok: 'PONG' });
      expect(await connection.command('SET', 'contract', 'ok')).toEqual({ ok: 'OK' });
      expect(await configGet(connection, 'requirepass')).toBe('');
      await expectSpecConfig(connection);
    } finally {
      connection.close();
    }
  });

  test('the TCP probes point at the port the script leaves Redis on (the image default, 6379)', () => {
    expect(container.readinessProbe.tcpSocket).toEqual({ port: 6379 });
    expect(container.livenessProbe.tcpSocket).toEqual({ port: 6379 });
    expect(container.command[2]).not.toMatch(/port/);
  });
});
