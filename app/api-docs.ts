/**
 * `npm run docs`: writes docs/API.md from the TSDoc of the public API
 * (everything `constructs/index.ts` exports), read with the TypeScript
 * compiler API so the reference cannot drift from the code. The same model
 * feeds the doc-coverage test: a public declaration without TSDoc, or an
 * optional prop without `@default`, is listed there by name.
 */
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from './shared/repo-root';
import * as ts from 'typescript';

const CONSTRUCTS_DIR = path.join(REPO_ROOT, 'constructs');
export const API_DOC_FILE = path.join(REPO_ROOT, 'docs', 'API.md');

/** One row of a props table, or one public property of a construct. */
export interface ApiMember {
  readonly name: string;
  readonly type: string;
  readonly optional: boolean;
  /** The `@default` tag's text, when there is one. */
  readonly defaultValue?: string;
  readonly description: string;
  readonly hasDoc: boolean;
}

/** One exported declaration of the public API. */
export interface ApiEntry {
  readonly name: string;
  readonly kind: 'construct' | 'class' | 'interface' | 'type' | 'enum' | 'constant' | 'function';
  /** Repo-relative source file. */
  readonly file: string;
  readonly description: string;
  readonly hasDoc: boolean;
  readonly examples: string[];
  /** Interfaces: the props; classes: the public readonly properties. */
  readonly members: ApiMember[];
  /** Interfaces this one extends, as written. */
  readonly extendsTypes: string[];
  /** Classes: the constructor's parameters as written. */
  readonly constructorSignature?: string;
  /** Type aliases and constants: the declared type or value as written. */
  readonly definition?: string;
}

/** Reads the public API from `constructs/index.ts`, in export order. */
export function readApi(entryFile = path.join(CONSTRUCTS_DIR, 'index.ts')): ApiEntry[] {
  const program = ts.createProgram([entryFile], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, strict: true, skipLibCheck: true, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const entry = program.getSourceFile(entryFile);
  if (!entry) throw new Error(`cannot read ${entryFile}; the public API is constructs/index.ts`);
  const moduleSymbol = checker.getSymbolAtLocation(entry)!;
  return checker.getExportsOfModule(moduleSymbol).flatMap((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declaration = symbol.declarations?.[0];
    return declaration ? [describe(declaration, exported.name, checker)] : [];
  });
}

function describe(declaration: ts.Declaration, name: string, checker: ts.TypeChecker): ApiEntry {
  const file = path.relative(REPO_ROOT, declaration.getSourceFile().fileName);
  const doc = docOf(declaration);
  const base = { name, file, description: doc.description, hasDoc: doc.hasDoc, examples: doc.examples, members: [] as ApiMember[], extendsTypes: [] as string[] };
  if (ts.isClassDeclaration(declaration)) {
    const isConstruct = extendsConstruct(declaration, checker);
    const ctor = declaration.members.find(ts.isConstructorDeclaration);
    return {
      ...base,
      kind: isConstruct ? 'construct' : 'class',
      constructorSignature: ctor ? `new ${name}(${ctor.parameters.map((p) => oneLine(p.getText())).join(', ')})` : undefined,
      members: declaration.members.filter(isPublicProperty).map((member) => memberOf(member)),
    };
  }
  if (ts.isInterfaceDeclaration(declaration)) {
    return {
      ...base,
      kind: 'interface',
      extendsTypes: (declaration.heritageClauses ?? []).flatMap((clause) => clause.types.map((t) => oneLine(t.getText()))),
      members: declaration.members.filter(ts.isPropertySignature).map((member) => memberOf(member)),
    };
  }
  if (ts.isTypeAliasDeclaration(declaration)) return { ...base, kind: 'type', definition: oneLine(declaration.type.getText()) };
  if (ts.isEnumDeclaration(declaration)) return { ...base, kind: 'enum', definition: declaration.members.map((m) => m.name.getText()).join(' \\| ') };
  if (ts.isFunctionDeclaration(declaration)) return { ...base, kind: 'function', definition: signatureOf(declaration) };
  if (ts.isVariableDeclaration(declaration)) {
    const statement = declaration.parent.parent;
    const stated = docOf(statement);
    return { ...base, kind: 'constant', description: stated.description, hasDoc: stated.hasDoc, definition: oneLine(declaration.initializer?.getText() ?? '') };
  }
  throw new Error(`${file}: '${name}' is a ${ts.SyntaxKind[declaration.kind]}, which the API reader does not know; teach app/api-docs.ts or export something else`);
}

function extendsConstruct(declaration: ts.ClassDeclaration, checker: ts.TypeChecker): boolean {
  for (let type: ts.Type | undefined = checker.getTypeAtLocation(declaration); type; ) {
    if (type.getSymbol()?.getName() === 'Construct') return true;
    const bases: ts.Type[] = type.isClassOrInterface() ? checker.getBaseTypes(type) : [];
    type = bases[0];
  }
  return false;
}

function isPublicProperty(member: ts.ClassElement): member is ts.PropertyDeclaration {
  if (!ts.isPropertyDeclaration(member)) return false;
  const flags = ts.getCombinedModifierFlags(member);
  return !(flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) && !ts.isPrivateIdentifier(member.name);
}

function memberOf(member: ts.PropertySignature | ts.PropertyDeclaration): ApiMember {
  const doc = docOf(member);
  const initializer = ts.isPropertyDeclaration(member) ? member.initializer : undefined;
  const type = member.type ? member.type.getText() : initializer ? `${initializer.getText()} (fixed)` : 'unknown';
  return {
    name: member.name.getText(),
    type: oneLine(type),
    optional: member.questionToken !== undefined,
    defaultValue: doc.defaultValue,
    description: doc.description,
    hasDoc: doc.hasDoc,
  };
}

interface Doc {
  readonly hasDoc: boolean;
  readonly description: string;
  readonly defaultValue?: string;
  readonly examples: string[];
}

/** The node's own `/** ... *\/` comment (not a parent's), split into text and the tags we render. */
function docOf(node: ts.Node): Doc {
  const jsDocs = ((node as { jsDoc?: ts.JSDoc[] }).jsDoc ?? []).filter((d) => d.parent === node);
  const last = jsDocs[jsDocs.length - 1];
  if (!last) return { hasDoc: false, description: '', examples: [] };
  const tags = last.tags ?? [];
  const tagText = (name: string) => tags.filter((t) => t.tagName.text === name).map((t) => commentText(t.comment).trim());
  const description = commentText(last.comment).trim();
  return {
    hasDoc: description.length > 0 || tags.length > 0,
    description,
    defaultValue: tagText('default')[0],
    examples: tagText('example'),
  };
}

function commentText(comment: string | ts.NodeArray<ts.JSDocComment> | undefined): string {
  if (comment === undefined) return '';
  if (typeof comment === 'string') return comment;
  return comment.map((part) => (ts.isJSDocLink(part) || ts.isJSDocLinkCode(part) || ts.isJSDocLinkPlain(part) ? `{@link ${part.name ? part.name.getText() : ''}${part.text}}` : part.text)).join('');
}

/** A function's declaration up to its body, on one line: a type literal's `{` in a parameter is not the body's. */
function signatureOf(declaration: ts.FunctionDeclaration): string {
  const text = declaration.getSourceFile().text;
  const signature = oneLine(text.slice(declaration.getStart(), declaration.body ? declaration.body.getStart() : declaration.end).replace(/;\s*$/, ''));
  // Parameters written one per line read as `( a, b, )` on one: `(a, b)`.
  return signature.replace(/\(\s+/g, '(').replace(/,\s*\)/g, ')');
}

/** Source text on one line, without the comments of nested members (their docs are rendered elsewhere). */
function oneLine(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\s+/g, ' ').trim();
}

/**
 * Everything that keeps the reference honest: public declarations without
 * TSDoc, optional props without `@default`, constructs a file exports but
 * index.ts does not.
 */
export function docProblems(api: ApiEntry[] = readApi(), constructsDir = CONSTRUCTS_DIR): string[] {
  const problems: string[] = [];
  // Declarations from elsewhere (cdk8s-imported CRD classes in imports/) are generated; their docs are upstream's.
  const ours = (entry: ApiEntry) => path.resolve(REPO_ROOT, entry.file).startsWith(constructsDir + path.sep);
  for (const entry of api.filter(ours)) {
    if (!entry.hasDoc || entry.description === '') problems.push(`${entry.file}: ${entry.kind} ${entry.name} has no TSDoc description; say what it is and why`);
    for (const member of entry.members) {
      const where = `${entry.file}: ${entry.name}.${member.name}`;
      if (!member.hasDoc) problems.push(`${where} has no TSDoc comment`);
      else if (member.description === '') problems.push(`${where} has tags but no description; say what it is in a sentence`);
      if (entry.kind === 'interface' && member.optional && member.defaultValue === undefined) {
        problems.push(`${where} is optional but has no @default; state what applies when it is left out, and why`);
      }
    }
  }
  const exported = new Set(api.map((e) => e.name));
  for (const file of fs.readdirSync(constructsDir).filter((f) => f.endsWith('.ts') && f !== 'index.ts').sort()) {
    const source = ts.createSourceFile(file, fs.readFileSync(path.join(constructsDir, file), 'utf8'), ts.ScriptTarget.ES2022, true);
    for (const statement of source.statements) {
      const isExportedClass = ts.isClassDeclaration(statement) && statement.name && ts.getCombinedModifierFlags(statement) & ts.ModifierFlags.Export;
      if (isExportedClass && !exported.has(statement.name!.text)) {
        problems.push(`constructs/${file}: class ${statement.name!.text} is exported but not from constructs/index.ts; add it there (the public API) or stop exporting it`);
      }
    }
  }
  return problems;
}

const anchor = (name: string) => `#${name.toLowerCase()}`;

/** docs/API.md's content. Deterministic: the same sources give the same bytes. */
export function renderApiMarkdown(api: ApiEntry[] = readApi()): string {
  // Only entries with a heading of their own can be linked to; constants are table rows.
  const names = new Set(api.filter((e) => e.kind !== 'constant' && e.kind !== 'function').map((e) => e.name));
  const cell = (text: string) => linkify(text, names).replace(/\|/g, '\\|').replace(/\n\s*\n/g, '<br><br>').replace(/\s*\n\s*/g, ' ');
  const code = (text: string) => '`' + text.replace(/\|/g, '\\|') + '`';
  // A type that is one documented name (or a list of it) links to its section.
  const typeCell = (type: string) => {
    const bare = type.replace(/^readonly /, '').replace(/\[\]$/, '');
    return names.has(bare) ? `[${code(type)}](${anchor(bare)})` : code(type);
  };
  const paragraph = (text: string) => linkify(text, names);
  const byName = new Map(api.map((e) => [e.name, e]));
  const constructs = api.filter((e) => e.kind === 'construct');
  const propsNames = new Set(constructs.map((c) => `${c.name}Props`).filter((n) => byName.has(n)));
  const lines: string[] = [
    '# honeydue-k8s API reference',
    '',
    '<!-- Generated by `npm run docs` (app/api-docs.ts) from the TSDoc in constructs/. Do not edit by hand: change the comments and rerun; a test fails while this file is stale. -->',
    '',
    "The package's public API is `constructs/index.ts`: everything below, and nothing else. Every construct takes",
    '`(scope, id, props)`; every default is the production value and the reason for it.',
    '',
    '## Contents',
    '',
    ...constructs.map((c) => `- [${c.name}](${anchor(c.name)})`),
    '- [Supporting types](#supporting-types)',
    '- [Constants](#constants)',
    '',
    '## Constructs',
    '',
  ];

  const propsTable = (entry: ApiEntry) => {
    const out: string[] = [];
    if (entry.extendsTypes.length > 0) {
      out.push(`Also takes every prop of ${entry.extendsTypes.map((t) => (names.has(t) ? `[${t}](${anchor(t)})` : code(t))).join(', ')}.`, '');
    }
    if (entry.members.length > 0) {
      out.push('| Prop | Type | Default | Description |', '| --- | --- | --- | --- |');
      for (const m of entry.members) {
        const defaultText = m.optional ? cell(m.defaultValue ?? '') : '*required*';
        out.push(`| \`${m.name}\` | ${typeCell(m.type)} | ${defaultText} | ${cell(m.description)} |`);
      }
      out.push('');
    }
    return out;
  };

  for (const construct of constructs) {
    lines.push(`### ${construct.name}`, '', paragraph(construct.description), '');
    if (construct.constructorSignature) lines.push('```ts', construct.constructorSignature, '```', '');
    for (const example of construct.examples) lines.push('Example:', '', '```ts', example.replace(/^\s+/gm, ''), '```', '');
    const props = byName.get(`${construct.name}Props`);
    if (props) {
      lines.push(`#### ${props.name}`, '', paragraph(props.description), '', ...propsTable(props));
    }
    if (construct.members.length > 0) {
      lines.push(`Properties of a \`${construct.name}\`:`, '', '| Property | Type | Description |', '| --- | --- | --- |');
      for (const m of construct.members) lines.push(`| \`${m.name}${m.optional ? '?' : ''}\` | ${typeCell(m.type)} | ${cell(m.description)} |`);
      lines.push('');
    }
  }

  lines.push('## Supporting types', '');
  for (const entry of api.filter((e) => (e.kind === 'interface' && !propsNames.has(e.name)) || e.kind === 'type' || e.kind === 'enum' || e.kind === 'class')) {
    lines.push(`### ${entry.name}`, '', paragraph(entry.description), '');
    if (entry.kind === 'interface') lines.push(...propsTable(entry));
    else if (entry.definition) lines.push('```ts', `${entry.kind === 'enum' ? 'enum' : 'type'} ${entry.name} = ${entry.definition.replace(/\\\|/g, '|')}`, '```', '');
  }

  const constants = api.filter((e) => e.kind === 'constant' || e.kind === 'function');
  lines.push('## Constants', '', '| Name | Value | Description |', '| --- | --- | --- |');
  for (const entry of constants) lines.push(`| \`${entry.name}\` | ${code(entry.definition ?? '')} | ${cell(entry.description)} |`);
  lines.push('');
  return lines.join('\n');
}

/** `{@link Name}` becomes a link to Name's section when the reference has one. */
function linkify(text: string, names: Set<string>): string {
  return text.replace(/\{@link\s+([\w.]+)\s*([^}]*)\}/g, (_all, target: string, label: string) => {
    const shown = label.trim() || target;
    return names.has(target) ? `[${shown}](${anchor(target)})` : `\`${shown}\``;
  });
}

if (require.main === module) {
  const problems = docProblems();
  for (const problem of problems) console.warn(`warning: ${problem}`);
  fs.mkdirSync(path.dirname(API_DOC_FILE), { recursive: true });
  fs.writeFileSync(API_DOC_FILE, renderApiMarkdown());
  console.log(`wrote ${path.relative(process.cwd(), API_DOC_FILE)}${problems.length ? ` (${problems.length} doc problem(s) above; the test fails on them)` : ''}`);
}
