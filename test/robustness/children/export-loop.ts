// Child for output-sweep.test.ts: exports a song's stems again and again (a mixdown, then NI Stems)
// into <out dir> until it is killed. argv: <out dir> <stem wav>...
import { exportSong } from '../../../src-main/engine/export.js';

const [outDir, ...files] = process.argv.slice(2);
const stems = files.map((file, i) => ({ name: ['vocals', 'drums', 'bass', 'other'][i], file }));
const mixer = { masterDb: 0, lanes: {} };
process.send?.('started');
for (;;) {
  for (const format of ['wav32f', 'ni-stems'] as const)
    await exportSong({ stems, title: 'Song', select: [], mixdown: true, preset: null, mixer, format, outDir });
}
