/**
 * The upstream of the edge bench: the demo app's ping, plus GET /api/json/ answering a fixed
 * JSON document of about 20 KB (a page of user records), the body the compression scenario
 * measures. Hosted by the worker pool like any app: `--app bench/edge/json-app.ts#app`.
 */
import type { App } from '../../app/interface.ts';
import { ping } from '../../app/demo.ts';
import { Router } from '../../app/router.ts';

const records = [];
for (let i = 0; records.length === 0 || JSON.stringify(records).length < 20_000; i++) {
  records.push({ id: i, username: `user${i}`, email: `user${i}@example.com`, active: i % 7 !== 0, joined: `2026-01-${String((i % 28) + 1).padStart(2, '0')}T12:00:00Z` });
}
/** About 20 KB of JSON, built once. */
export const JSON_20K = JSON.stringify({ count: records.length, results: records });

const page: App = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON_20K });

export const app: App = new Router().get('/api/ping/', ping).get('/api/json/', page).app;
