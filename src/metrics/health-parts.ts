// Which part of the node each problem of a health verdict is about (src/health.ts words its
// problems for people), as a small fixed set: the `part` label of
// `fence_agent_health_problem`. A label value must come from a closed set (one time series per
// value), so the free text is classified here by the fixed beginnings and phrases health.ts uses;
// test/unit/metrics/health-parts.test.ts runs evaluate() on each case so that a rewording there
// shows up as `other` in a failing test, not silently in production.

/** The parts a problem can be about; `other` for wording this table does not know. */
export const HEALTH_PARTS = [
  'vip',
  'mount',
  'device',
  'mysqld',
  'sql',
  'fence',
  'fenced-in',
  'self-fence',
  'hold-down',
  'start-hold',
  'switchover',
  'maintenance',
  'other',
] as const;

export type HealthPart = (typeof HEALTH_PARTS)[number];

/** Checked in order; the first match wins. */
const RULES: readonly (readonly [RegExp, HealthPart])[] = [
  [/^SWITCHOVER: /, 'switchover'],
  [/^MAINTENANCE since /, 'maintenance'],
  [/^FENCED: /, 'self-fence'],
  [/^fenced-in: /, 'fenced-in'],
  [/^HOLD-DOWN: /, 'hold-down'],
  [/^START HOLD: /, 'start-hold'],
  [/^mount probe failed: /, 'mount'],
  [/^mysqld probe failed: /, 'mysqld'],
  [/^fence probe failed: /, 'fence'],
  [/^interface \S+ not found/, 'vip'],
  [/^VIP \S+ is on /, 'vip'],
  [/^device \S+ (unusable|is )/, 'device'],
  [/^fence (not held|held without the VIP)/, 'fence'],
  [/^mysqld pid \d+ not answering SQL/, 'sql'],
  [/^mysqld (not running|running)/, 'mysqld'],
  [/^\d+ mysqld processes/, 'mysqld'],
  [/ (also mounted on|is mounted read-only on|not mounted on|mounted on \S+ without the VIP)/, 'mount'],
  [/ \(not \S+\) is mounted on /, 'mount'],
];

/** The part `problem` (one entry of `Verdict.problems`) is about. */
export function healthPart(problem: string): HealthPart {
  for (const [pattern, part] of RULES) if (pattern.test(problem)) return part;
  return 'other';
}

/** The set of parts a verdict's problems are about. */
export const failingParts = (problems: readonly string[]): Set<HealthPart> => new Set(problems.map(healthPart));
