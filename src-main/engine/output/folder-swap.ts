/**
 * Replacing a folder as a whole (a song's stems): the new set is written into a hidden staging
 * folder beside the target, then swapped in with two renames. Nothing here relies on replacing a
 * directory atomically (POSIX rename(2) cannot replace a non-empty one, Windows cannot replace
 * one at all), so it works the same on Linux, macOS and Windows.
 *
 *   1. write the journal `.<name>.<token>.swap` (the target's name; written atomically)
 *   2. rename `<name>` → `.<name>.<token>.old`        (skipped when there is no old folder)
 *   3. rename the staging folder → `<name>`
 *   4. remove `.<name>.<token>.old`, then the journal
 *
 * A kill between any two steps leaves the old set or the new set under `<name>`, never a mix;
 * sweepFolderSwaps (run before the next job in that parent folder, and at the app's start) ends
 * what was cut short:
 *   - before 2: `<name>` is the old set; the staging folder and journal are removed;
 *   - between 2 and 3: no `<name>`; the old set is renamed back (the job never reported success,
 *     so the old set is the right one) and the staging folder removed;
 *   - after 3: `<name>` is the new set; the old folder and journal are removed.
 * The journal exists because a cut-down name cannot be turned back into the target's name.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { StemdeckError } from '../errors.js';
import { fsyncDir, writeFileAtomic } from './atomic.js';
import { cutToLength, NAME_MAX, TEMP_AFFIX_MAX } from './file-names.js';
import { isStale, newToken, releaseToken, TOKEN_PATTERN } from './temp-tokens.js';

const SWAP_ENTRY = new RegExp(`^\\..*\\.${TOKEN_PATTERN}\\.(staging|old|swap)$`);
/** writeFileAtomic's temp file of a journal: `.<journal name>.<pid>.<hex8>.tmp`. */
const JOURNAL_TEMP = new RegExp(`^\\..*\\.${TOKEN_PATTERN}\\.swap\\.\\d+\\.[0-9a-f]{8}\\.tmp$`);

/**
 * The target's name in a hidden name is only for people looking at the folder (the journal holds
 * the real one): cut so that even the journal's own temp file, `.<journal name>.<pid>.<hex8>.tmp`,
 * stays within NAME_MAX.
 */
const NAME_IN_HIDDEN_MAX = NAME_MAX - 2 * TEMP_AFFIX_MAX;

function hiddenName(target: string, token: string, kind: 'staging' | 'old' | 'swap'): string {
  const short = cutToLength(path.basename(target), NAME_IN_HIDDEN_MAX);
  return path.join(path.dirname(target), `.${short}.${token}.${kind}`);
}

/** Windows refuses to rename a folder while an indexer or antivirus has a file in it open for a moment: retry briefly. */
async function rename(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fs.rename(from, to);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (process.platform !== 'win32' || attempt >= 8 || !(code === 'EPERM' || code === 'EACCES' || code === 'EBUSY')) throw e;
      await new Promise((r) => setTimeout(r, 25 * 2 ** Math.min(attempt, 5)));
    }
  }
}

function swapError(e: unknown, target: string): StemdeckError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (e instanceof StemdeckError) return e;
  if (code === 'EPERM' || code === 'EACCES' || code === 'EBUSY')
    return new StemdeckError(
      'output-unwritable',
      `Cannot replace "${target}" (${code}): a file in it may be open in another program (a DAW or player). Close it and try again.`,
      { cause: e },
    );
  if (code === 'ENOSPC') return new StemdeckError('disk-full', `The disk is full while writing "${target}". Free some space and try again.`, { cause: e });
  return new StemdeckError('output-unwritable', `Cannot replace "${target}" (${code ?? (e as Error)?.message}). Choose an output folder you can write to.`, {
    cause: e,
  });
}

/** A new, empty staging folder beside `target` (which need not exist); its parent must exist. */
export async function createStaging(target: string): Promise<{ dir: string; token: string }> {
  const token = newToken();
  const dir = hiddenName(target, token, 'staging');
  await fs.mkdir(dir);
  return { dir, token };
}

/** Removes a staging folder that will not be swapped in (a failed or cancelled job). */
export async function discardStaging(staging: { dir: string; token: string }): Promise<void> {
  await fs.rm(staging.dir, { recursive: true, force: true }).catch(() => undefined);
  releaseToken(staging.token);
}

/**
 * Makes the complete folder `staging` be `target`, replacing what was there as a whole (see the
 * file comment for the steps and crash windows). `staging` must be in the same folder as `target`.
 * On failure the old folder is back under `target` and `staging` is left for the caller.
 */
export async function replaceFolder(staging: string, target: string): Promise<void> {
  const token = newToken();
  const journal = hiddenName(target, token, 'swap');
  const old = hiddenName(target, token, 'old');
  const parent = path.dirname(target);
  let moved = false;
  try {
    await writeFileAtomic(journal, JSON.stringify({ target: path.basename(target) }));
    try {
      await rename(target, old);
      moved = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await rename(staging, target);
  } catch (e) {
    if (moved) await rename(old, target).catch(() => undefined);
    await fs.rm(journal, { force: true }).catch(() => undefined);
    releaseToken(token);
    throw swapError(e, target);
  }
  await fsyncDir(parent);
  await fs.rm(old, { recursive: true, force: true }).catch(() => undefined);
  await fs.rm(journal, { force: true }).catch(() => undefined);
  releaseToken(token);
}

/**
 * Ends the swaps that killed processes left in `parent` (see the file comment) and removes their
 * staging folders. Swaps of live processes are left alone. Returns the names it acted on.
 */
export async function sweepFolderSwaps(parent: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch {
    return [];
  }
  const done: string[] = [];
  const stale = names.filter((n) => {
    const m = SWAP_ENTRY.exec(n);
    return m !== null && isStale(m[1]);
  });
  // journals first: an old folder whose target is missing goes back (step 2 happened, 3 did not)
  for (const name of stale.filter((n) => n.endsWith('.swap'))) {
    const journal = path.join(parent, name);
    const old = journal.replace(/\.swap$/, '.old');
    try {
      const { target } = JSON.parse(await fs.readFile(journal, 'utf8')) as { target: string };
      const dest = path.join(parent, path.basename(target));
      const hasOld = await fs.stat(old).then(
        () => true,
        () => false,
      );
      const hasTarget = await fs.lstat(dest).then(
        () => true,
        () => false,
      );
      if (hasOld && !hasTarget) await rename(old, dest);
    } catch {
      // an unreadable journal, or the rename back failed: keep the old folder, never guess
      if (await fs.stat(old).then(() => true, () => false)) continue;
    }
    await fs.rm(old, { recursive: true, force: true }).catch(() => undefined);
    await fs.rm(journal, { force: true }).catch(() => undefined);
    done.push(name);
  }
  for (const name of stale.filter((n) => n.endsWith('.staging'))) {
    await fs.rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
    done.push(name);
  }
  for (const name of names) {
    const m = JOURNAL_TEMP.exec(name);
    if (m && isStale(m[1])) {
      await fs.rm(path.join(parent, name), { force: true }).catch(() => undefined);
      done.push(name);
    }
  }
  // an old folder without its journal was already placed (or its journal was lost): leave it
  await fsyncDir(parent);
  return done;
}
