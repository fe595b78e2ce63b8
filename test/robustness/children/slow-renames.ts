// Child for output-swap.test.ts: finishes a song folder with every rename(2) followed by a pause,
// reported to the parent ({ renamed: n, to }), so the parent can SIGKILL it between any two renames.
// The renames themselves are real; only the time between them is stretched.
// argv: separate <input> <outDir> <model manifest>   |   library-commit <library root> <staging>
import fsp from 'node:fs/promises';

const pauseMs = Number(process.env.STEMDECK_TEST_RENAME_PAUSE_MS ?? 300);
const rename = fsp.rename.bind(fsp);
let n = 0;
fsp.rename = async (from, to) => {
  await rename(from, to);
  n++;
  process.send?.({ renamed: n, to: String(to) });
  await new Promise((r) => setTimeout(r, pauseMs));
};

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'separate') {
  const { separateFile } = await import('../../../src-main/engine/index.js');
  await separateFile({ input: a, outDir: b, model: c, format: 'wav' });
} else if (mode === 'library-commit') {
  const { Library } = await import('../../../src-main/library/library.js');
  await new Library(a).commit(b);
} else throw new Error(`unknown mode ${mode}`);
process.send?.({ done: n });
process.disconnect?.();
