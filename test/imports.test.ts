import { execFileSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { parse } from 'yaml';

const root = resolve(__dirname, '..');

/** The CRD files listed under `imports:` in cdk8s.yaml. */
function configuredImports(): string[] {
  const config = parse(readFileSync(join(root, 'cdk8s.yaml'), 'utf8')) as { imports?: string[] };
  return config.imports ?? [];
}

describe('imports/', () => {
  test('cdk8s.yaml imports the HelmChartConfig CRD', () => {
    expect(configuredImports()).toContain('imports/helm.cattle.io_helmchartconfigs.yaml');
  });

  // A hand edit of a generated file, or a CRD updated without `npm run import`, fails here.
  test('each committed generated module is what cdk8s import produces from its CRD', () => {
    const out = mkdtempSync(join(tmpdir(), 'honeydue-import-'));
    try {
      for (const crd of configuredImports()) {
        // Run outside the repo with --no-save so the check never rewrites cdk8s.yaml.
        execFileSync(
          join(root, 'node_modules', '.bin', 'cdk8s'),
          ['import', join(root, crd), '--no-check-upgrade', '--no-save', '--language', 'typescript', '--output', out],
          { cwd: out, stdio: 'pipe' },
        );
      }
      const generated = readdirSync(out);
      expect(generated).toContain('helm.cattle.io.ts');
      for (const module of generated) {
        expect(readFileSync(join(out, module), 'utf8')).toBe(readFileSync(join(root, 'imports', module), 'utf8'));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
