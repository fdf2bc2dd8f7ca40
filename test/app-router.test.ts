import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App } from '../app/interface.ts';
import { json } from '../app/response.ts';
import { Router } from '../app/router.ts';
import { TestClient } from '../app/testing.ts';
import { validator } from '../app/validator.ts';

const echo =
  (name: string): App =>
  (req) =>
    json(200, { name, method: req.method, params: req.state.params ?? null });

const router = new Router()
  .get('/api/ping/', echo('ping'))
  .post('/api/token/', echo('token'))
  .get('/users/:id/', echo('user'))
  .put('/users/:id/', echo('user-put'))
  .get('/files/*', echo('files'));
const client = new TestClient(validator(router.app));

describe('Router', () => {
  it('routes literal paths by method', async () => {
    assert.deepEqual((await client.get('/api/ping/')).json(), { name: 'ping', method: 'GET', params: null });
    assert.equal((await client.post('/api/token/')).json().name, 'token');
  });

  it('captures :name segments (decoded) and * rests', async () => {
    assert.deepEqual((await client.get('/users/a%20b/')).json().params, { id: 'a b' });
    assert.equal((await client.put('/users/7/')).json().name, 'user-put');
    assert.deepEqual((await client.get('/files/a/b/c.txt')).json().params, { '*': 'a/b/c.txt' });
    assert.equal((await client.get('/users//')).status, 404, 'an empty :id segment does not match');
  });

  it('answers 404 for unknown paths', async () => {
    const res = await client.get('/nope');
    assert.equal(res.status, 404);
    assert.deepEqual(res.json(), { detail: 'Not found.' });
    assert.equal((await client.get('/api/ping')).status, 404, 'no trailing-slash guessing');
  });

  it('answers 405 with Allow for known paths', async () => {
    const res = await client.get('/api/token/');
    assert.equal(res.status, 405);
    assert.equal(res.header('allow'), 'POST, OPTIONS');
    assert.deepEqual(res.json(), { detail: 'Method "GET" not allowed.' });
    const put = await client.delete('/users/1/');
    assert.equal(put.header('allow'), 'GET, HEAD, PUT, OPTIONS');
  });

  it('serves HEAD with the GET app and OPTIONS with Allow', async () => {
    const head = await client.head('/api/ping/');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    const options = await client.options('/api/ping/');
    assert.equal(options.status, 204);
    assert.equal(options.header('allow'), 'GET, HEAD, OPTIONS');
  });

  it('refuses duplicate routes and malformed patterns', () => {
    assert.throws(() => new Router().get('/a/', echo('a')).get('/a/', echo('b')), /already defined/);
    assert.throws(() => new Router().get('a/', echo('a')), /must start/);
    assert.throws(() => new Router().get('/a/*/b', echo('a')), /last segment/);
  });
});
