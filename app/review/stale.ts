/**
 * Whether the working tree's dist/ is what the sources synthesize, the
 * comparison CI makes (`.ci/run`: "dist/ matches a fresh synth"), in memory: a
 * config edited and not synthesized would otherwise review as `no change`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { staleOutput } from '../synth';
import type { ReviewFormat } from './render';

/**
 * The line printed before the review when `<repoDir>/dist` is stale, naming the
 * files and the fix; undefined when it is current, or when the repository has no
 * config folder to synthesize (a checkout of dist/ alone has no sources to compare).
 *
 * @param configDir the config folder synth reads. @default config/ of the repository
 */
export function staleDistWarning(repoDir: string, configDir: string | undefined, format: ReviewFormat): string | undefined {
  const config = configDir ?? join(repoDir, 'config');
  if (!existsSync(config)) return undefined;
  let headline: string;
  let detail: string;
  try {
    const { changed, added, removed } = staleOutput({ outDir: join(repoDir, 'dist'), configDir: config });
    const parts = [
      changed.length > 0 ? `differ: ${changed.join(', ')}` : undefined,
      added.length > 0 ? `missing: ${added.join(', ')}` : undefined,
      removed.length > 0 ? `not synthesized: ${removed.join(', ')}` : undefined,
    ].filter((part) => part !== undefined);
    if (parts.length === 0) return undefined;
    headline = 'dist/ is stale';
    detail = `it is not what config/ and the constructs synthesize (${parts.join('; ')}). Run npm run synth to write it`;
  } catch (error) {
    // The sources do not synthesize (a config error): the review of dist/ still runs, and says it is unchecked.
    headline = 'dist/ cannot be compared with the sources';
    detail = `they do not synthesize (${(error as Error).message.split('\n')[0]}). Fix that and run npm run synth`;
  }
  const tail = '; the review below is of dist/ as it is on disk, not of the sources.';
  return format === 'markdown' ? `**Warning: ${headline}:** ${detail}${tail}\n\n` : `WARNING: ${headline}: ${detail}${tail}\n`;
}
