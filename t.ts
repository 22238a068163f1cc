import { PairLab } from './lab/pair.ts';
const t0 = Date.now();
const lab = await PairLab.up();
console.log('up in', Date.now() - t0, 'ms');
for (const n of lab.nodes) console.log((await n.agent(['status'])).stdout);
const r = await lab.destroy();
console.log('fsck', r?.exitCode, r?.stdout.split('\n').slice(-3).join('\n'));
