import { mount } from 'svelte';
import App from './App.svelte';
import OpenWithToken from './components/OpenWithToken.svelte';
import { browserToken } from '$api/client.js';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('#app missing');

/**
 * The browser shell needs the session token of the address `npm start` printed. Without it (or
 * with an earlier session's) every call is refused: say how to open the app instead of showing an
 * empty library, three banners and a green "Engine ready" (issue 14.8).
 */
async function tokenProblem(): Promise<'missing' | 'expired' | null> {
  if ((globalThis as { stemdeck?: unknown }).stemdeck) return null; // Electron: no token
  const token = browserToken();
  if (!token) return 'missing';
  const r = await fetch('/api/doctor.info', { method: 'POST', headers: { 'x-stemdeck-token': token, 'content-type': 'application/json' }, body: '{}' }).catch(
    () => null,
  );
  await r?.text().catch(() => undefined); // read the body: an unread one keeps the request open
  return r?.status === 401 ? 'expired' : null;
}

const problem = await tokenProblem();
export default problem ? mount(OpenWithToken, { target, props: { reason: problem } }) : mount(App, { target });
