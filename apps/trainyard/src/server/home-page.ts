import type { DoorSettings } from './door-services.js';

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page at `/` until the console lands: what is running and where the docs are. */
export function homePage(config: DoorSettings, version: string): string {
  const rows = [
    ['Version', version],
    // Kinds only: where the server keeps its database and files is no visitor's business.
    ['Metadata', config.metadata.startsWith('sqlite:') ? 'SQLite' : 'PostgreSQL'],
    ['Blobs', config.blobs.startsWith('file:') ? 'filesystem' : (config.blobs.split(':')[0] ?? '')],
    ['Auth', config.auth ? 'bearer access keys' : 'off (loopback only)'],
  ]
    .map(([k, v]) => `<tr><th>${escapeHtml(k ?? '')}</th><td><code>${escapeHtml(v ?? '')}</code></td></tr>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Trainyard</title>
<style>body{font:15px system-ui,sans-serif;max-width:46rem;margin:3rem auto;color:#1d2433}th{text-align:left;padding-right:1rem}code{background:#f2f4f7;padding:0 .3rem}</style>
</head><body><h1>Trainyard is running</h1>
<p>A self-hosted machine-learning platform. Use the <code>trainyard</code> CLI, the TypeScript SDK, or the REST API below.</p>
<table>${rows}</table>
<ul>
<li><a href="/api/v1/openapi.json">REST API (OpenAPI 3.1)</a>: every call needs <code>Authorization: Bearer &lt;access key&gt;</code></li>
<li><a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a> (Prometheus)</li>
</ul></body></html>`;
}
