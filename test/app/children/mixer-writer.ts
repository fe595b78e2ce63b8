// Child for library.test.ts: saves the mixer state of one song as fast as it can until killed.
// argv: <library root> <song id>
import { Library } from '../../../src-main/library/library.js';

const [root, id] = process.argv.slice(2);
const lib = new Library(root);
await lib.init();
let i = 0;
process.send?.('ready');
for (;;) {
  i++;
  await lib.saveMixer(id, { masterDb: -(i % 50), lanes: { vocals: { volumeDb: i % 7, pan: 0, mute: i % 2 === 0, solo: false } }, loop: null });
}
