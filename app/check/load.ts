/**
 * Reading manifests and CRDs from disk. Everything else in app/check works on
 * parsed objects and never touches the filesystem.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import { join } from 'path';
import { parseManifests } from '../../manifest-check/manifests';
import { crdCatalog } from '../../manifest-check/crd';
import type { CrdCatalog, ManifestDocument, ManifestSet } from '../../manifest-check/types';

const YAML_FILE = /\.ya?ml$/;

/** YAML files under a folder, recursively, in a stable (sorted) order. */
function yamlFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...yamlFiles(path));
    else if (entry.isFile() && YAML_FILE.test(entry.name)) files.push(path);
  }
  return files;
}

/** Every document of every *.yaml / *.yml file under `dir`, recursively. */
export function loadManifestDir(dir: string): ManifestDocument[] {
  return manifestFiles(dir).flatMap((file) => parseManifests(readFileSync(file, 'utf8'), file));
}

/** The YAML files under `dir`, which must be a folder. */
function manifestFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder of manifests`);
  return yamlFiles(dir);
}

/**
 * The environments of a dist/ folder: each sub-folder is one set, checked on its own
 * (the same Deployment in production and staging is not a duplicate). A folder that
 * holds YAML files directly is a single set.
 */
export function loadManifestSets(dir: string): ManifestSet[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder of manifests`);
  const entries = readdirSync(dir, { withFileTypes: true });
  if (entries.some((entry) => entry.isFile() && YAML_FILE.test(entry.name))) {
    return [{ name: '', docs: loadManifestDir(dir) }];
  }
  return entries
    .filter((entry) => entry.isDirectory())
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((entry) => ({ name: entry.name, docs: loadManifestDir(join(dir, entry.name)) }))
    .filter((set) => set.docs.length > 0);
}

/**
 * CustomResourceDefinitions kept in the given folders (recursively), by
 * `group/version/Kind`. Missing folders are skipped: a repo without imports/ has no CRDs.
 */
export function loadCrdCatalog(dirs: readonly string[]): CrdCatalog {
  const docs = dirs.filter((dir) => existsSync(dir)).flatMap((dir) => manifestFiles(dir).flatMap(crdFileDocs));
  return crdCatalog(docs);
}

/**
 * The documents of CRD files, by path and text. CRD files change only when a chart is
 * upgraded, yet every check parses them and compiles their schemas (the compiled
 * validators are kept per parsed schema): reusing the documents of an unchanged text
 * reuses both. An edited file is a new key, parsed again.
 */
const crdDocsByText = new Map<string, ManifestDocument[]>();

function crdFileDocs(file: string): ManifestDocument[] {
  const text = readFileSync(file, 'utf8');
  const key = `${file}\0${text}`;
  let docs = crdDocsByText.get(key);
  if (docs === undefined) crdDocsByText.set(key, (docs = parseManifests(text, file)));
  return docs;
}
