/**
 * The one preload (sandboxed, contextIsolation): exposes the raw bridge `window.stemdeck`
 * (ElectronBridge in src-main/api/client.ts), which `createElectronClient` wraps into the typed
 * StemdeckApi. Only 'electron' may be imported here (sandbox); everything else is type-only.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { ElectronBridge } from '../api/client.js';

const bridge: ElectronBridge = {
  kind: 'electron',
  invoke: (method, params) => ipcRenderer.invoke('stemdeck:invoke', String(method), params),
  on(event, cb) {
    const listener = (_e: unknown, name: string, payload: unknown) => {
      if (name === event) cb(payload);
    };
    ipcRenderer.on('stemdeck:event', listener);
    return () => {
      ipcRenderer.removeListener('stemdeck:event', listener);
    };
  },
  startDrag: (file) => ipcRenderer.send('stemdeck:start-drag', String(file)),
  startDragFiles: (files) => ipcRenderer.send('stemdeck:start-drag-files', { files: Array.from(files, String) }),
  pathForFile(file) {
    // Only real File objects from a drop or <input type=file> have a path; a page cannot forge one.
    const p = webUtils.getPathForFile(file);
    if (p) ipcRenderer.sendSync('stemdeck:chosen', p);
    return p;
  },
};

contextBridge.exposeInMainWorld('stemdeck', bridge);
