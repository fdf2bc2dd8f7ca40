/** Parsing wrk's output, and the Lua the bench writes for it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { luaString, parseTimes, parseWrkOutput, wrkArgs, wrkScript } from '../bench/loaders/wrk.ts';
import type { LoadPlan } from '../bench/loaders/load-plan.ts';

const WRK_STDOUT = `Running 10s test @ http://127.0.0.1:8000/api/ping/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us  300.00us  12.00ms   90.00%
    Req/Sec    78.90k     2.00k   81.00k    70.00%
  789000 requests in 10.00s, 120.00MB read
  Non-2xx or 3xx responses: 12
Requests/sec:  78900.00
Transfer/sec:     12.00MB
WRKJSON {"requests":789000,"duration_us":10000000,"bytes":125829120,"connect":0,"read":2,"write":0,"status":12,"timeout":1,"lat_p50_us":790,"lat_p97_5_us":1500,"lat_p99_us":2100,"lat_max_us":12000}
`;
const TIMES = '0m0.002s 0m0.001s\n0m3.500s 0m4.250s\n';

describe('parseWrkOutput', () => {
  it('reads the summary line into the common result shape', () => {
    const r = parseWrkOutput(WRK_STDOUT, TIMES);
    assert.equal(r.requests, 789000);
    assert.equal(r.seconds, 10);
    assert.equal(r.bytes, 125829120);
    assert.deepEqual(r.latency, { p50: 0.79, p97_5: 1.5, p99: 2.1, max: 12 });
    assert.equal(r.errors, 3, 'read + timeout (status errors are counted apart)');
    assert.equal(r.non2xx, 12);
    assert.equal(r.loaderCpuSeconds, 7.75);
  });
  it('says what wrk printed when the summary line is missing', () => {
    assert.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n', TIMES), /wrk printed no summary line: unable to connect/);
    assert.throws(() => parseWrkOutput('', ''), /\(no output\)/);
  });
});

describe('parseTimes', () => {
  it('takes the children line (the last one) and adds user and system', () => {
    assert.equal(parseTimes(TIMES), 7.75);
    assert.equal(parseTimes('0m0.000s 0m0.000s\n1m2.500s 0m0.500s'), 63);
  });
  it('is NaN without times output', () => {
    assert.ok(Number.isNaN(parseTimes('no times here')));
  });
});

describe('luaString', () => {
  it('escapes quotes, backslashes, control and non-ASCII bytes', () => {
    assert.equal(luaString('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(luaString('x\ny'), '"x\\010y"');
    assert.equal(luaString('é'), '"\\195\\169"');
  });
});

describe('wrkScript', () => {
  const plan: LoadPlan = {
    url: 'http://127.0.0.1:1/api/token/', method: 'POST', headers: { 'content-type': 'application/json' },
    body: '{"username":"u"}', connections: 8, pipelining: 1, durationSeconds: 2.4,
  };
  it('sets method, headers and body statically (wrk keeps its fast path) and reports in done()', () => {
    const s = wrkScript(plan);
    assert.match(s, /^wrk\.method = "POST"$/m);
    assert.match(s, /^wrk\.headers\["content-type"\] = "application\/json"$/m);
    assert.match(s, /^wrk\.body = "\{\\"username\\":\\"u\\"\}"$/m);
    assert.match(s, /^done = function/m);
    assert.doesNotMatch(s, /^request = function/m);
  });
  it('chains tokens through request()/response() when the plan has a chain', () => {
    const s = wrkScript({ ...plan, body: undefined, chain: { tokens: ['t1'], before: '{"refresh":"', after: '"}', responseField: 'refresh' } }, '/tmp/tokens.txt');
    assert.match(s, /^CHAIN_TOKENS_FILE = "\/tmp\/tokens\.txt"$/m);
    assert.match(s, /^request = function/m);
    assert.match(s, /^response = function/m);
    assert.throws(() => wrkScript({ ...plan, chain: { tokens: [], before: '', after: '', responseField: 'r' } }), /tokens file/);
  });
  it('passes whole seconds to wrk, one thread', () => {
    assert.deepEqual(wrkArgs(plan, 's.lua'), ['-t1', '-c8', '-d2s', '--timeout', '10s', '-s', 's.lua', plan.url]);
  });
});
