// Runs a catalog scenario (lab/scenario/catalog.ts) on a fresh netns pair and fails the test with
// everything that went wrong; the nodes' logs go to stderr (the reporter shows an error's message,
// not the logs a long scenario needs).
import { NetnsCluster } from '../../lab/pair-cluster.ts';
import { runScenario, type Scenario } from '../../lab/scenario/harness.ts';

export async function runOnNetns(scenario: Scenario): Promise<void> {
  const result = await runScenario(scenario, (options) => NetnsCluster.up(options));
  if (result.passed) return;
  if (result.logs !== null) process.stderr.write(`\n${result.logs}\n`);
  throw new Error(`${scenario.id}: ${result.error ?? 'failed'}`);
}
