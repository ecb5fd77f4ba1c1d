import { createHash } from 'crypto';

/**
 * First 16 hex digits of the SHA-256 of `content`: stamped on pod templates
 * so a changed config file changes the template and rolls the pods on apply.
 */
export function contentHash(content: string): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}
