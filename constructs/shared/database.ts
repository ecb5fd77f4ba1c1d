/**
 * Neon's pooled endpoint is the direct endpoint's host with `-pooler` after its
 * first label (`ep-x-pooler.region.aws.neon.tech` -> `ep-x.region.aws.neon.tech`).
 * The app reaches Postgres through the pooler (PgBouncer); goose must not, since its
 * session-scoped advisory lock does not survive transaction mode.
 */
export const POOLER_SEGMENT = '-pooler';

/**
 * The direct endpoint of a database host: the first `-pooler.` becomes `.`, the
 * rule the migrate Job's script applies to `DB_HOST` at run time
 * (`sed "s/-pooler\././"`, held equal by test/environments.test.ts). Two hosts
 * with the same direct endpoint are one Postgres server.
 *
 * @example directDatabaseHost('ep-example-123-pooler.us-east-1.aws.neon.tech') // 'ep-example-123.us-east-1.aws.neon.tech'
 */
export function directDatabaseHost(host: string): string {
  return host.replace(`${POOLER_SEGMENT}.`, '.');
}
