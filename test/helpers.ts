import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { HoneydueStack, HoneydueStackProps } from '../constructs';

/** A pinned tag for tests. */
export const TAG = '237c6b8';

/** Manifests a construct built in a fresh chart synthesizes to. */
export function synthOf(build: (chart: Chart) => Construct | void): any[] {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart);
}

/** Every manifest of a whole stack, across its charts. */
export function synthStack(props: Partial<HoneydueStackProps> = {}): any[] {
  const app = Testing.app();
  new HoneydueStack(app, 'production', { imageTag: TAG, ...props });
  return app.charts.flatMap((chart) => chart.toJson());
}

/** The one object of `kind` named `name`; fails loudly when absent or ambiguous. */
export function find(objects: any[], kind: string, name: string): any {
  const matches = objects.filter((o) => o.kind === kind && o.metadata?.name === name);
  if (matches.length !== 1) {
    throw new Error(`expected one ${kind} '${name}', found ${matches.length} among: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  }
  return matches[0];
}

/** The first container of a workload's pod template. */
export function container(workload: any): any {
  return workload.spec.template.spec.containers[0];
}

/** Env var `name` of a container. */
export function envVar(c: any, name: string): any {
  return (c.env ?? []).find((e: any) => e.name === name);
}

/** Every file under `dir` with a digest of its bytes: equal fingerprints mean byte-identical trees. */
export function fingerprint(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else result[path.relative(dir, full)] = crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return result;
}
