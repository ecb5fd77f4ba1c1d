/**
 * What a deploy costs on the local control plane: a first deploy, three that
 * change nothing, one that changes the image. Prints each one's time, the part
 * spent in the cluster's own waits (rollouts, the migration Job, the health
 * check), the rest, and the kubectl calls it made. Figures only: no assertion
 * on time (the machine decides those).
 */
import { DeployResult, TestEnvironment, useClusterFixtures } from './harness';

useClusterFixtures();

/** Seconds of the steps that wait on the cluster rather than on kubectl's own work. */
function clusterWaits(run: DeployResult): number {
  return [...run.stdout.matchAll(/==> step \d+: ([^\n]+)\n[\s\S]*?<== step \d+ done in ([\d.]+)s/g)]
    .filter(([, title]) => /^(wait for|run the migration gate|health check)/.test(title))
    .reduce((sum, [, , seconds]) => sum + Number(seconds), 0);
}

test('deploy figures', async () => {
  const env = new TestEnvironment('bench');
  env.prepare();
  const runs: Array<[string, DeployResult]> = [['first deploy', await env.deploy(env.release())]];
  for (let i = 1; i <= 3; i++) runs.push([`no change ${i}`, await env.deploy(env.release())]);
  runs.push(['new image', await env.deploy(env.release('feed123'))]);
  const lines = runs.map(([what, run]) => {
    const waits = clusterWaits(run);
    if (run.code !== 0) throw new Error(`${what} failed:\n${run.stderr}`);
    return `| ${what} | ${run.seconds.toFixed(2)} s | ${waits.toFixed(1)} s | ${(run.seconds - waits).toFixed(2)} s | ${run.calls.length} |`;
  });
  process.stdout.write(
    `\n| deploy | total | cluster's own waits | outside them | kubectl calls |\n| --- | --- | --- | --- | --- |\n${lines.join('\n')}\n\n`,
  );
  env.remove();
});
