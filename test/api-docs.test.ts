import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { API_DOC_FILE, ApiEntry, docProblems, readApi, renderApiMarkdown } from '../app/api-docs';

let api: ApiEntry[];
beforeAll(() => {
  api = readApi();
});

test('every public construct, props type and field has TSDoc, and every optional prop a @default', () => {
  expect(docProblems(api)).toEqual([]);
});

test('docs/API.md is what `npm run docs` generates from the current sources', () => {
  const committed = fs.existsSync(API_DOC_FILE) ? fs.readFileSync(API_DOC_FILE, 'utf8') : '(missing)';
  if (committed !== renderApiMarkdown(api)) {
    throw new Error('docs/API.md is stale: the TSDoc in constructs/ changed; run `npm run docs` and commit docs/API.md');
  }
});

test('the reference covers every construct of the public API with its props table', () => {
  const markdown = renderApiMarkdown(api);
  for (const name of ['HoneydueStack', 'HoneydueApi', 'NextjsApp', 'Worker', 'Redis', 'MigrateJob', 'HoneydueConfigMap', 'HoneydueNamespace']) {
    expect(api.find((e) => e.name === name)?.kind).toBe('construct');
    expect(markdown).toContain(`### ${name}\n`);
    expect(markdown).toContain(`#### ${name}Props\n`);
  }
  expect(markdown).toMatch(/\| `replicas` \| `number` \| 3 \| Pods when no autoscaler runs/);
});

test('fails naming each undocumented declaration, prop without @default, and construct missing from index.ts', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-docs-'));
  try {
    fs.writeFileSync(path.join(dir, 'index.ts'), "export { Thing, ThingProps } from './thing';\n");
    fs.writeFileSync(
      path.join(dir, 'thing.ts'),
      [
        'export interface ThingProps {',
        '  readonly size?: number;',
        '  /** Paint. */',
        '  readonly color?: string;',
        '}',
        'export class Thing {',
        '  public readonly size = 1;',
        '}',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, 'hidden.ts'), '/** Forgotten. */\nexport class Hidden {}\n');
    const problems = docProblems(readApi(path.join(dir, 'index.ts')), dir);
    expect(problems).toEqual([
      expect.stringMatching(/class Thing has no TSDoc description/),
      expect.stringMatching(/Thing\.size has no TSDoc comment/),
      expect.stringMatching(/interface ThingProps has no TSDoc description/),
      expect.stringMatching(/ThingProps\.size has no TSDoc comment/),
      expect.stringMatching(/ThingProps\.size is optional but has no @default/),
      expect.stringMatching(/ThingProps\.color is optional but has no @default/),
      expect.stringMatching(/class Hidden is exported but not from constructs\/index\.ts/),
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every function signature in docs/API.md is whole: its brackets balance', () => {
  const markdown = fs.readFileSync(API_DOC_FILE, 'utf8');
  const signatures = [...markdown.matchAll(/^\| `\w+` \| `(export (?:declare )?function (?:[^`\\]|\\.)*)` \|/gm)].map((m) => m[1].replace(/\\\|/g, '|'));
  expect(signatures.length).toBe(api.filter((e) => e.kind === 'function').length);
  const unbalanced = signatures.filter((signature) => {
    const open: string[] = [];
    for (const char of signature.replace(/=>/g, '')) {
      if ('({[<'.includes(char)) open.push(char);
      else if (')}]>'.includes(char) && open.pop() !== '({[<'[')}]>'.indexOf(char)]) return true;
    }
    return open.length > 0;
  });
  expect(unbalanced).toEqual([]);
});
