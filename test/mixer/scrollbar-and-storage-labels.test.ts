/**
 * Issue 14 polish and 14.11, the renderer's pure parts: the timeline's scroll bar thumb is the
 * visible part of the song (a scroll bar, not a slider's knob), and Settings' library formats
 * say what a minute of stems takes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scrollThumbWidth } from '../../src-renderer/lib/scrollbar.js';
import { LIBRARY_FORMATS, formatBytes, libraryBytesPerMinute } from '../../src-renderer/lib/format.js';
import { LibraryFormatSchema } from '../../src-main/api/contract.js';

test('scroll bar thumb: the visible share of the track, at least 24 px, at most the track', () => {
  assert.equal(scrollThumbWidth(600, 30, 240), 75); // 1/8 of the song shown → 1/8 of the track
  assert.equal(scrollThumbWidth(600, 240, 240), 600); // all of it: the whole track
  assert.equal(scrollThumbWidth(600, 1, 3600), 24); // an hour zoomed to a second: still grabbable
  assert.equal(scrollThumbWidth(0, 10, 100), 24); // not laid out yet
  assert.equal(scrollThumbWidth(600, 10, 0), 24); // nothing loaded
});

test('library formats: every one the API accepts, with its size per minute of a 4-stem song', () => {
  assert.deepEqual(LIBRARY_FORMATS.map((f) => f.id).sort(), [...LibraryFormatSchema.options].sort());
  // 44.1 kHz stereo, 4 stems: 32-bit float 84.7 MB/min (a 20-min song ≈ 1.7 GB), 24-bit 3/4, 16-bit 1/2
  assert.equal(formatBytes(libraryBytesPerMinute('wav32f')), '84.7 MB');
  assert.equal(formatBytes(libraryBytesPerMinute('wav24')), '63.5 MB');
  assert.equal(formatBytes(libraryBytesPerMinute('wav16')), '42.3 MB');
  assert.equal(libraryBytesPerMinute('wav16', 2), libraryBytesPerMinute('wav16') / 2);
});
