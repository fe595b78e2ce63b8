/**
 * The API boundary: every argument is validated by the one dispatcher before any handler runs
 * (unknown methods, wrong types, unknown keys, path-like ids and media paths are refused), and
 * handler results are validated too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDispatcher, methods, MediaRefSchema, type Handlers } from '../../src-main/api/contract.js';

const calls: string[] = [];
const handlers: Partial<Handlers> = {
  'library.get': ({ id }) => {
    calls.push(`get:${id}`);
    throw Object.assign(new Error('This song is not in the library.'), { code: 'input-missing' });
  },
  'library.list': () => {
    calls.push('list');
    return [];
  },
  'settings.set': (p) => {
    calls.push('settings');
    return { model: null, device: 'auto', overlap: null, exportFormat: 'wav24', dragFormat: 'wav24', libraryFormat: 'wav32f', exportNamePattern: null, ...p };
  },
  'queue.list': () => [{ bogus: true }] as never,
  'export.run': () => {
    calls.push('export');
    return { outDir: '/x', files: [] };
  },
};
const d = createDispatcher(handlers);
const ctx = { shell: 'browser' as const };

async function refused(method: string, params: unknown, code = 'invalid-request'): Promise<string> {
  const before = calls.length;
  const r = await d.dispatch(method, params, ctx);
  assert.equal(r.ok, false, `${method} ${JSON.stringify(params)} should be refused`);
  if (!r.ok) assert.equal(r.error.code, code, r.error.message);
  assert.equal(calls.length, before, 'the handler must not run');
  return r.ok ? '' : r.error.message;
}

test('unknown methods and prototype keys are refused', async () => {
  await refused('library.nope', {});
  await refused('__proto__', {});
  await refused('constructor', {});
  await refused('toString', {});
});

test('bad arguments are refused before the handler runs', async () => {
  await refused('library.get', {});
  await refused('library.get', { id: 42 });
  await refused('library.get', { id: '../etc' });
  await refused('library.get', { id: '/etc/passwd' });
  await refused('library.get', { id: 'abc', extra: 1 });
  await refused('library.get', 'abc');
  await refused('library.list', { query: 'x'.repeat(1000) });
  await refused('settings.set', { device: 'quantum' });
  await refused('settings.set', { overlap: 2 });
  await refused('settings.set', { model: '../../evil' });
  await refused('files.open', { paths: [] });
  await refused('files.open', { paths: ['/a\0b'] });
  await refused('export.run', { songId: 'abc', format: 'wav24' }); // nothing chosen
  await refused('export.run', { songId: 'abc', format: 'ogg', mixdown: true });
  await refused('export.run', { songId: 'abc', format: 'wav24', stems: ['../vocals'] });
  await refused('library.saveMixer', { id: 'abc', mixer: { lanes: { vocals: { volumeDb: 'loud', pan: 0, mute: false, solo: false } }, masterDb: 0 } });
  await refused('library.saveMixer', { id: 'abc', mixer: { lanes: { vocals: { volumeDb: 0, pan: 3, mute: false, solo: false } }, masterDb: 0 } });
  const msg = await refused('library.get', { id: 5 });
  assert.match(msg, /library\.get/);
});

test('good arguments reach the handler; handler errors keep their code', async () => {
  const ok = await d.dispatch('library.list', {}, ctx);
  assert.equal(ok.ok, true);
  const r = await d.dispatch('library.get', { id: 'abc-123' }, ctx);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.error.code, 'input-missing');
  const s = await d.dispatch('settings.set', { overlap: 0.5 }, ctx);
  assert.equal(s.ok, true);
  const e = await d.dispatch('export.run', { songId: 'abc', format: 'flac', preset: 'instrumental' }, ctx);
  assert.equal(e.ok, true);
});

test('invalid handler results are not passed on', async () => {
  const r = await d.dispatch('queue.list', {}, ctx);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.error.code, 'internal');
});

test('missing handlers answer "not available"', async () => {
  const r = await d.dispatch('catalogue.list', {}, ctx);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error.message, /not available/);
});

test('media references refuse escapes', () => {
  for (const p of ['../x', 'a/../../x', '/etc/passwd', 'a//b', './a', 'a\\..\\b', 'a/\0'])
    assert.equal(MediaRefSchema.safeParse({ root: 'library', path: p }).success, false, p);
  assert.equal(MediaRefSchema.safeParse({ root: 'home', path: 'a' }).success, false);
  assert.equal(MediaRefSchema.safeParse({ root: 'library', path: 'abc/stems/vocals.wav' }).success, true);
});

test('every method has strict params and a result schema', () => {
  for (const [name, spec] of Object.entries(methods)) {
    assert.ok(spec.params && spec.result, name);
    assert.match(name, /^[a-z]+\.[a-zA-Z]+$/);
  }
});
