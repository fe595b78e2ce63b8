// Child for memory.test.ts: separates one file and prints {"hwmKB", "frames"} of this process.
// argv: <input> <outDir> <model manifest> <format>
import fs from 'node:fs';
import { separateFile } from '../../../src-main/engine/index.js';

const [input, outDir, model, format] = process.argv.slice(2);
const r = await separateFile({ input, outDir, model, format: format as 'wav16' });
const status = fs.readFileSync('/proc/self/status', 'utf8');
const hwmKB = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0);
process.stdout.write(JSON.stringify({ hwmKB, frames: r.frames }) + '\n');
