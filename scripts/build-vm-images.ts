// Builds the two-VM lab's guest images — the pair's and the plain one of the install test — or
// finds them cached (lab/vm/image.ts: keyed by their recipes). .ci/run runs it at nice 19 in the
// background while scripts/test.sh runs: cold, the two take ~8 min, mostly debootstrap waiting on
// the mirror and dpkg, which would otherwise add to CI's wall time. The VM tests build whatever it
// did not (ensureImage), so a failure here costs time, not correctness. Exit 0 when both are there.
import { ensureImage } from '../lab/vm/image.ts';

const log = (line: string): void => console.log(`${new Date().toISOString()} ${line}`);
const started = Date.now();
const pair = await ensureImage({ log });
const plain = await ensureImage({ variant: 'plain', log });
log(`images ready in ${((Date.now() - started) / 1000).toFixed(1)} s: pair ${pair.hash}, plain ${plain.hash}`);
