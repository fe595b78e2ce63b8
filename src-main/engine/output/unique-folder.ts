/**
 * A new folder that no one else uses: `<parent>/<name>`, or `<name> (2)`, `<name> (3)`, … when
 * that is taken (two exports of one song in the same second). mkdir without `recursive` fails on
 * an existing folder, so two callers at once never get the same one.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { cutToLength, NAME_MAX, TEMP_AFFIX_MAX } from './file-names.js';

/** Room for the " (999)" a taken name gets. */
const COUNTER_MAX = 6;

export async function createUniqueFolder(parent: string, name: string): Promise<string> {
  await fs.mkdir(parent, { recursive: true });
  const base = cutToLength(name, NAME_MAX - TEMP_AFFIX_MAX - COUNTER_MAX).trimEnd();
  for (let n = 1; n < 1000; n++) {
    const dir = path.join(parent, n === 1 ? base : `${base} (${n})`);
    try {
      await fs.mkdir(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error(`internal: 999 folders named "${base}" in ${parent}`);
}
