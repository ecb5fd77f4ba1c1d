/**
 * The migrate Job's container contract: its `sh -c` script, exactly as
 * rendered, run by busybox `sh` with busybox applets (as in an alpine-based
 * api image), against a throwaway PostgreSQL with `ssl=on` and password
 * (SCRAM) auth over TLS only, because the DSN says `sslmode=require`.
 *
 * goose is not packaged in Debian, so the one token that names it (the
 * script's absolute goose path) is replaced by a stand-in that records its
 * argv and environment and then runs `psql "$GOOSE_DBSTRING"`: psql parses
 * the DSN with libpq and reads `PGPASSWORD` from the environment, as goose's
 * pgx driver does with the same keyword/value grammar. Nothing else of the
 * script changes. The ConfigMap's DB_HOST (Neon's `-pooler` host) is replaced
 * by 127.0.0.1 and DB_PORT by the local server's port for the connection
 * tests; the `-pooler` stripping runs separately with the real host value.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  argvLoggingBin, cleanup, containerEnv, describeWithBinaries, findBinary, freePort, objectOf, podSpecOf, postgresBinDir, renderedObjects, runSync,
  startTracked, tempDir, TrackedProcess, waitUntil,
} from './support';

const busybox = findBinary('busybox');
const openssl = findBinary('openssl');
const pgBin = postgresBinDir();
const initdb = pgBin && findBinary(path.join(pgBin, 'initdb'));
const psql = pgBin && findBinary(path.join(pgBin, 'psql'));
const GOOSE_PATH = '/usr/local/bin/goose';
/** Breaks an unquoted keyword/value DSN every way: a space, both quotes, a backslash, `$`, `=` and a newline. */
const HOSTILE_PASSWORD = `pa ss'wo"rd\\ $HOME =x \n'`;

/** What the stand-in recorded of one run of the script. */
interface GooseRun {
  readonly status: number | null;
  readonly output: string;
  /** The stand-in's argv (it replaces goose: `-dir /app/migrations up`). */
  readonly argv: string[];
  readonly dsn: string;
  readonly driver: string;
  /** Every argv an exec'd program of the script got (sed, the stand-in), NUL-joined. */
  readonly allArgv: string;
}

const asRoot = process.getuid?.() === 0;
// initdb and postgres refuse to run as root: as root, the tests drop to the postgres user with setpriv.
const setpriv = asRoot ? findBinary('setpriv') : 'not needed';

describeWithBinaries('migrate Job container contract (busybox sh + PostgreSQL over TLS)', { busybox, openssl, initdb, psql, setpriv }, () => {
  const objects = renderedObjects('production');
  const job = objectOf(objects, 'Job', 'honeydue-migrate');
  const container = podSpecOf(job).containers[0];
  const configMap = objectOf(objects, 'ConfigMap', 'honeydue-config').data as Record<string, string>;
  const script: string = container.command[2];
  let server: TrackedProcess;
  let port: number;
  let socketDir: string;

  afterAll(cleanup);

  /** Runs `argv` as the postgres user when the tests run as root (initdb and postgres refuse root). */
  const asPostgres = (argv: string[]) => (asRoot ? [setpriv!, '--reuid=postgres', '--regid=postgres', '--init-groups', '--', ...argv] : argv);

  beforeAll(async () => {
    const root = tempDir('pg');
    socketDir = path.join(root, 'sock');
    const data = path.join(root, 'data');
    fs.mkdirSync(socketDir);
    const cert = path.join(root, 'server.crt');
    const key = path.join(root, 'server.key');
    const made = runSync(openssl!, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-days', '1']);
    if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
    fs.chmodSync(key, 0o600);
    if (asRoot) for (const file of [root, socketDir, cert, key]) runSync('chown', ['postgres:postgres', file]);
    const [initCommand, ...initArgs] = asPostgres([initdb!, '-D', data, '-U', 'postgres', '-E', 'UTF8', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync']);
    const init = runSync(initCommand, initArgs, { timeoutMs: 60000 });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stdout}${init.stderr}`);
    // TLS only over TCP: a connection without TLS has no matching line and is refused.
    fs.writeFileSync(path.join(data, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n');
    port = await freePort();
    const [serverCommand, ...serverArgs] = asPostgres([
      path.join(pgBin!, 'postgres'), '-D', data, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1',
      '-c', 'ssl=on', '-c', `ssl_cert_file=${cert}`, '-c', `ssl_key_file=${key}`, '-c', 'fsync=off',
    ]);
    // setpriv execs (no parent left behind), so the tracked pid is the postmaster itself and cleanup's signal reaches it.
    server = startTracked(serverCommand, serverArgs, { stopSignal: 'SIGQUIT' });
    await waitUntil(
      () => {
        if (server.exited) throw new Error(`postgres exited: ${server.output}`);
        return runSync(path.join(pgBin!, 'pg_isready'), ['-h', socketDir, '-p', String(port), '-q']).status === 0;
      },
      15000,
      () => server.output,
    );
    createRoleAndDatabase(configMap.POSTGRES_USER, configMap.POSTGRES_DB, HOSTILE_PASSWORD);
  }, 60000);

  /** Creates a login role and its database over the local socket (SQL on stdin, quoted for SQL). */
  function createRoleAndDatabase(user: string, database: string, password: string): void {
    const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
    const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;
    const sql = `CREATE ROLE ${ident(user)} LOGIN PASSWORD ${literal(password)};\nCREATE DATABASE ${ident(database)} OWNER ${ident(user)};\n`;
    const result = runSync(psql!, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', 'postgres'], { input: sql });
    if (result.status !== 0) throw new Error(`creating role ${user}: ${result.stderr}`);
  }

  /** Runs the Job's script with the ConfigMap (edited by `configChanges`) and the Secret as the pod gets them. */
  function runScript(configChanges: Record<string, string>, secretData: Record<string, string>, goose: 'psql' | 'print'): GooseRun {
    const dir = tempDir('migrate');
    const bin = path.join(dir, 'bin');
    const argvLog = path.join(dir, 'argv.log');
    fs.writeFileSync(argvLog, '');
    argvLoggingBin(bin, argvLog, { sed: `${busybox} sed "$@"` });
    const standIn = path.join(dir, 'goose');
    const record = (name: string) => path.join(dir, name);
    fs.writeFileSync(
      standIn,
      [
        '#!/bin/sh',
        `printf '%s\\0' "$0" "$@" >> '${argvLog}'`,
        `printf '%s\\0' "$@" > '${record('argv')}'`,
        `printf %s "$GOOSE_DBSTRING" > '${record('dsn')}'`,
        `printf %s "$GOOSE_DRIVER" > '${record('driver')}'`,
        goose === 'psql'
          ? `exec ${psql} "$GOOSE_DBSTRING" -X -A -t -v ON_ERROR_STOP=1 -c "select current_user || '|' || current_database() || '|' || ssl from pg_stat_ssl where pid = pg_backend_pid()"`
          : 'exit 0',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    expect(script.split(GOOSE_PATH)).toHaveLength(2);
    const env = containerEnv(container, { 'honeydue-config': { ...configMap, ...configChanges } }, { 'honeydue-secrets': secretData });
    const [shell, ...args] = [busybox!, ...container.command.slice(0, 2), script.replace(GOOSE_PATH, standIn)];
    const result = runSync(shell, args, { cwd: dir, env: { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, ...env }, timeoutMs: 20000 });
    const read = (name: string) => (fs.existsSync(record(name)) ? fs.readFileSync(record(name), 'utf8') : '');
    return {
      status: result.status,
      output: result.stdout + result.stderr,
      argv: read('argv').split('\0').slice(0, -1),
      dsn: read('dsn'),
      driver: read('driver'),
      allArgv: fs.readFileSync(argvLog, 'utf8'),
    };
  }

  test('the Job reads only POSTGRES_PASSWORD from the Secret: a Secret without SMTP or B2 keys still starts the pod', () => {
    expect(container.env).toEqual([{ name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'honeydue-secrets', key: 'POSTGRES_PASSWORD' } } }]);
    expect(() => containerEnv(container, { 'honeydue-config': configMap }, { 'honeydue-secrets': { POSTGRES_PASSWORD: 'x' } })).not.toThrow();
  });

  test('connects as the ConfigMap\'s user to its database over TLS with a hostile password; the password is in no DSN and no argv', () => {
    const run = runScript({ DB_HOST: '127.0.0.1', DB_PORT: String(port) }, { POSTGRES_PASSWORD: HOSTILE_PASSWORD }, 'psql');
    expect(run.output).toContain(`${configMap.POSTGRES_USER}|${configMap.POSTGRES_DB}|t`);
    expect(run.status).toBe(0);
    expect(run.argv).toEqual(['-dir', '/app/migrations', 'up']);
    expect(run.driver).toBe('postgres');
    expect(run.dsn).toMatch(/sslmode=require/);
    expect(run.dsn).not.toMatch(/password/i);
    expect(run.dsn).not.toContain('pa ss');
    expect(run.allArgv).not.toContain('pa ss');
  });

  test('a wrong password is refused: the connection really authenticates', () => {
    const run = runScript({ DB_HOST: '127.0.0.1', DB_PORT: String(port) }, { POSTGRES_PASSWORD: `${HOSTILE_PASSWORD}x` }, 'psql');
    expect(run.output).toMatch(/password authentication failed/);
    expect(run.status).not.toBe(0);
  });

  test('a user and database name with spaces, quotes and backslashes reach the server intact (libpq quoting in the DSN)', () => {
    const user = `mig 'r\\ "x"`;
    const database = `honey Due 'db'\\`;
    createRoleAndDatabase(user, database, 'plain-password');
    const run = runScript({ DB_HOST: '127.0.0.1', DB_PORT: String(port), POSTGRES_USER: user, POSTGRES_DB: database }, { POSTGRES_PASSWORD: 'plain-password' }, 'psql');
    expect(run.output).toContain(`${user}|${database}|t`);
    expect(run.status).toBe(0);
  });

  test('DB_HOST\'s -pooler segment is stripped: goose connects to the direct endpoint', () => {
    const run = runScript({}, { POSTGRES_PASSWORD: HOSTILE_PASSWORD }, 'print');
    expect(configMap.DB_HOST).toBe('ep-floral-truth-amttbc5a-pooler.c-5.us-east-1.aws.neon.tech');
    expect(run.status).toBe(0);
    expect(run.output).toContain('goose up against ep-floral-truth-amttbc5a.c-5.us-east-1.aws.neon.tech');
    expect(run.dsn).toBe(
      `host='ep-floral-truth-amttbc5a.c-5.us-east-1.aws.neon.tech' port='5432' user='${configMap.POSTGRES_USER}' dbname='${configMap.POSTGRES_DB}' sslmode=require`,
    );
  });
});
