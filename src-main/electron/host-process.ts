/** The engine host as an Electron utilityProcess (same worker module as the Node fork). */
import { utilityProcess } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostChild } from '../host/engine-supervisor.js';
import type { FromHost } from '../host/protocol.js';

export function utilityHost(): HostChild {
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');
  const child = utilityProcess.fork(entry, [], { serviceName: 'Stemdeck engine', stdio: 'inherit' });
  return {
    get pid() {
      return child.pid ?? null;
    },
    send(msg) {
      child.postMessage(msg);
    },
    onMessage(cb) {
      child.on('message', (m: unknown) => cb(m as FromHost));
    },
    onExit(cb) {
      child.on('exit', (code: number) => cb(code, null));
    },
    kill() {
      child.kill();
    },
  };
}
