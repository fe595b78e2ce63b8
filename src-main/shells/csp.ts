/**
 * The one Content-Security-Policy of the renderer, used by the browser shell (HTTP header) and
 * the Electron shell (session header + protocol responses). No remote content, no eval, no inline scripts.
 */
export function contentSecurityPolicy(opts: { shell: 'browser' | 'electron'; origin?: string }): string {
  const media = opts.shell === 'electron' ? "'self' stems: blob:" : "'self' blob:";
  const connect =
    opts.shell === 'electron' ? "'self' stems:" : `'self'${opts.origin ? ` ${opts.origin.replace(/^http/, 'ws')}` : ''}`;
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Svelte sets inline style attributes for dynamic sizes/colours.
    "style-src 'self' 'unsafe-inline'",
    `img-src ${media} data:`,
    `media-src ${media}`,
    `connect-src ${connect}`,
    "font-src 'self' data:",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
