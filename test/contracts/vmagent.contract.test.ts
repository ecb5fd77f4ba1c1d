/**
 * vmagent's container contract: the scrape config from the ConfigMap and
 * every flag of the Deployment, exactly as rendered, given to the real
 * vmagent (Debian's `victoria-metrics` package).
 *
 * Only values that point into the container's filesystem are rewritten, each
 * to a temp dir standing in for the volume mounted there:
 * `-promscrape.config` (the ConfigMap volume), `-remoteWrite.bearerTokenFile`
 * (the token Secret volume, holding a dummy token) and
 * `-remoteWrite.tmpDataPath` (the queue emptyDir). For the run that serves
 * the probes, `-httpListenAddr`'s port becomes a free one (tests run beside
 * other processes); the test first checks the probes name the same port.
 *
 * Debian 12's vmagent (1.79) is older than the image's (v1.147), so this
 * proves the flags and config parse with a real vmagent, not with exactly the
 * deployed one; every flag and field used here exists in both.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as YAML from 'yaml';
import {
  cleanup, describeWithBinaries, findBinary, freePort, objectOf, podSpecOf, renderedObjects, runSync, startTracked, tempDir, waitUntil,
} from './support';

const vmagent = findBinary('vmagent');

/**
 * One chunk file of vmagent's on-disk queue, from VictoriaMetrics'
 * lib/persistentqueue (`DefaultChunkFileSize = (MaxBlockSize + 8) * 16`,
 * `MaxBlockSize = 32 MiB`), written here from upstream, not from the construct.
 */
const UPSTREAM_CHUNK_BYTES = (32 * 1024 * 1024 + 8) * 16;

describeWithBinaries('vmagent container contract (victoria-metrics vmagent)', { vmagent }, () => {
  const objects = renderedObjects('production');
  const deployment = objectOf(objects, 'Deployment', 'vmagent');
  const pod = podSpecOf(deployment);
  const container = pod.containers[0];
  const args: string[] = container.args;
  const flag = (name: string) => {
    const matches = args.filter((arg) => arg.startsWith(`-${name}=`));
    expect(matches).toHaveLength(1);
    return matches[0].slice(name.length + 2);
  };

  afterAll(cleanup);

  /** The volumes mounted in the container, as temp dirs holding what the kubelet would put there. */
  function mountedVolumes(scrapeYaml: string): Map<string, string> {
    const byMount = new Map<string, string>();
    for (const mount of container.volumeMounts) {
      const volume = pod.volumes.find((v: any) => v.name === mount.name);
      const dir = tempDir(`vmagent-${mount.name}`);
      if (volume.configMap) {
        const data = objectOf(objects, 'ConfigMap', volume.configMap.name).data;
        for (const [key, value] of Object.entries<string>(data)) fs.writeFileSync(path.join(dir, key), key === 'scrape.yaml' ? scrapeYaml : value);
      }
      if (volume.secret) for (const item of volume.secret.items) fs.writeFileSync(path.join(dir, item.path), 'dummy-token-not-a-secret');
      byMount.set(mount.mountPath, dir);
    }
    return byMount;
  }

  /** The Deployment's args with container paths replaced by the stand-in dirs. */
  function localArgs(byMount: Map<string, string>, extra: string[] = []): string[] {
    return [
      ...args.map((arg) => {
        const [name, value] = [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)];
        for (const [mountPath, dir] of byMount) {
          if (value === mountPath || value.startsWith(`${mountPath}/`)) return `${name}=${dir}${value.slice(mountPath.length)}`;
        }
        return arg;
      }),
      ...extra,
    ];
  }

  const scrapeYaml: string = objectOf(objects, 'ConfigMap', 'vmagent-config').data['scrape.yaml'];
  const dryRun = (scrape: string, extra: string[] = []) => {
    const byMount = mountedVolumes(scrape);
    return runSync(vmagent!, localArgs(byMount, [...extra, '-promscrape.config.strictParse', '-dryRun']), { timeoutMs: 15000 });
  };

  test('the rewritten flags are exactly the three paths into mounted volumes', () => {
    const byMount = mountedVolumes(scrapeYaml);
    const changed = localArgs(byMount).map((arg, i) => (arg === args[i] ? undefined : arg.slice(0, arg.indexOf('=')))).filter(Boolean);
    expect(changed).toEqual(['-promscrape.config', '-remoteWrite.bearerTokenFile', '-remoteWrite.tmpDataPath']);
  });

  test('the scrape config and every flag pass vmagent -promscrape.config.strictParse -dryRun', () => {
    const result = dryRun(scrapeYaml);
    expect(result.stdout + result.stderr).toMatch(/all the configs are ok/);
    expect(result.status).toBe(0);
  });

  test('negative control: an unknown field in the scrape config fails the same check', () => {
    const parsed = YAML.parse(scrapeYaml);
    parsed.scrape_configs[0].relabel_configs[0].sourceLabels = parsed.scrape_configs[0].relabel_configs[0].source_labels;
    const result = dryRun(YAML.stringify(parsed));
    expect(result.stdout + result.stderr).toMatch(/field sourceLabels not found/);
    expect(result.status).not.toBe(0);
  });

  test('negative control: an unknown flag and an unreadable size fail the same check', () => {
    const unknown = dryRun(scrapeYaml, ['-remoteWrite.maxDiskUsagePerUrl=1']);
    expect(unknown.stdout + unknown.stderr).toMatch(/flag provided but not defined: -remoteWrite.maxDiskUsagePerUrl/);
    expect(unknown.status).not.toBe(0);
    const unreadable = dryRun(scrapeYaml, ['-remoteWrite.maxDiskUsagePerURL=1 chunk']);
    expect(unreadable.stdout + unreadable.stderr).toMatch(/invalid value "1 chunk" for flag -remoteWrite.maxDiskUsagePerURL/);
    expect(unreadable.status).not.toBe(0);
  });

  test('the on-disk queue can never outgrow the emptyDir: flag (at least one chunk) plus one chunk fits its sizeLimit', () => {
    const queue = pod.volumes.find((v: any) => v.name === container.volumeMounts.find((m: any) => m.mountPath === flag('remoteWrite.tmpDataPath')).name);
    const sizeLimit = /^(\d+)Mi$/.exec(queue.emptyDir.sizeLimit);
    expect(sizeLimit).not.toBeNull();
    const limitBytes = Number(sizeLimit![1]) * 1024 * 1024;
    const maxDisk = vmagentBytes(flag('remoteWrite.maxDiskUsagePerURL'));
    // vmagent rounds a smaller flag up to one chunk, and keeps the read part of the oldest chunk until its reader leaves it.
    const worstCase = Math.max(maxDisk, UPSTREAM_CHUNK_BYTES) + UPSTREAM_CHUNK_BYTES;
    expect(worstCase).toBeLessThan(limitBytes);
    // VictoriaMetrics: the flag should be a multiple of the chunk size.
    expect(maxDisk % UPSTREAM_CHUNK_BYTES).toBe(0);
  });

  test('started with every flag, vmagent answers the probes\' GET /health and keeps its queue in the emptyDir', async () => {
    const listen = flag('httpListenAddr');
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health', port: Number(listen.replace(/^.*:/, '')) });
    expect(container.livenessProbe.httpGet).toEqual(container.readinessProbe.httpGet);
    const port = await freePort();
    const byMount = mountedVolumes(scrapeYaml);
    const agent = startTracked(vmagent!, localArgs(byMount).map((arg) => (arg === `-httpListenAddr=${listen}` ? `-httpListenAddr=127.0.0.1:${port}` : arg)), {
      cwd: tempDir('vmagent-cwd'),
      env: { PATH: process.env.PATH },
      stopSignal: 'SIGINT',
    });
    let body = '';
    await waitUntil(
      async () => {
        if (agent.exited) throw new Error(`vmagent exited: ${agent.output}`);
        body = await get(`http://127.0.0.1:${port}${container.readinessProbe.httpGet.path}`).catch(() => '');
        return body !== '';
      },
      10000,
      () => agent.output,
    );
    expect(body).toBe('OK');
    expect(fs.readdirSync(byMount.get(flag('remoteWrite.tmpDataPath'))!)).toContain('persistent-queue');
  });

  test('premise of the sizing, with the real vmagent: the files outgrow the flag by the chunk being read, the pending bytes do not', async () => {
    // Not the manifest's values: a 2 MB flag, a dead local remote end, and a tiny memory budget, so blocks go
    // to the disk queue at once (vmagent keeps up to ~100 blocks per queue in memory first) and it fills in a second.
    const flagBytes = 2_000_000;
    const [port, deadPort] = [await freePort(), await freePort()];
    const byMount = mountedVolumes(scrapeYaml);
    const queueDir = byMount.get(flag('remoteWrite.tmpDataPath'))!;
    const agentArgs = localArgs(byMount).map((arg) => {
      if (arg.startsWith('-remoteWrite.url=')) return `-remoteWrite.url=http://127.0.0.1:${deadPort}/api/v1/write`;
      if (arg.startsWith('-remoteWrite.maxDiskUsagePerURL=')) return `-remoteWrite.maxDiskUsagePerURL=${flagBytes}`;
      if (arg.startsWith('-httpListenAddr=')) return `-httpListenAddr=127.0.0.1:${port}`;
      return arg;
    });
    const agent = startTracked(vmagent!, [...agentArgs, '-memory.allowedBytes=1MB', '-loggerLevel=ERROR'], { cwd: tempDir('vmagent-cwd'), env: { PATH: process.env.PATH }, stopSignal: 'SIGINT' });
    await waitUntil(async () => (await get(`http://127.0.0.1:${port}/health`).catch(() => '')) === 'OK', 10000, () => agent.output);
    let series = 0;
    for (let batch = 0; batch < 80 && bytesUnder(queueDir) <= 4 * flagBytes; batch++) {
      const lines: string[] = [];
      for (let i = 0; i < 20000; i++, series++) lines.push(`contract_queue{series="${series}",batch="${batch}"} ${Math.random()}`);
      await post(`http://127.0.0.1:${port}/api/v1/import/prometheus`, `${lines.join('\n')}\n`);
    }
    const onDisk = bytesUnder(queueDir);
    const metrics = await get(`http://127.0.0.1:${port}/metrics`);
    // The on-disk queue's pending bytes (vmagent_remotewrite_pending_data_bytes adds the in-memory blocks).
    const pendingOnDisk = Number(/^vm_persistentqueue_bytes_pending\{[^}]*\} (\d+)$/m.exec(metrics)?.[1]);
    expect(pendingOnDisk).toBeGreaterThan(0);
    expect(pendingOnDisk).toBeLessThanOrEqual(flagBytes);
    expect(Number(/^vm_persistentqueue_bytes_dropped_total\{[^}]*\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    // Oldest blocks were dropped, yet the one chunk file still holds them: the flag alone does not bound the disk.
    expect(onDisk).toBeGreaterThan(4 * flagBytes);
    expect(onDisk).toBeLessThan(UPSTREAM_CHUNK_BYTES);
  }, 30000);
});

/** Bytes of every file under `dir`, as the kubelet's emptyDir accounting counts them (give or take blocks). */
function bytesUnder(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .reduce((sum, entry) => sum + fs.statSync(path.join(entry.parentPath ?? (entry as any).path, entry.name)).size, 0);
}

function post(url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', timeout: 5000 }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode! < 300 ? resolve() : reject(new Error(`${url}: ${response.statusCode}`))));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end(body);
  });
}

/** A size as vmagent's flags read it: bytes, or a KB/MB/GB (powers of 1000) or KiB/MiB/GiB suffix. */
function vmagentBytes(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(KB|MB|GB|KiB|MiB|GiB)?$/.exec(value);
  if (!match) throw new Error(`'${value}' is not a size vmagent reads`);
  const unit = { KB: 1e3, MB: 1e6, GB: 1e9, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * unit;
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: 1000 }, (response) => {
      let data = '';
      response.on('data', (chunk) => (data += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(data) : reject(new Error(`${url}: ${response.statusCode}`))));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}
