/**
 * The observer page in a real headless Chromium: it loads without console
 * errors, follows the node live (a new process, a crash and restart in the
 * supervision tree), kill needs the token and works with it, a connected
 * Erlang node's processes are listed, and with 100,000 processes the page
 * stays responsive. Screenshots of each view go to build/observer-screenshots/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'puppeteer-core';
import { chromiumSkipReason, launchBrowser, screenshot, type TestBrowser } from '../../test/browser.js';
import { erlSkipReason, startErl, type ErlNode } from '../../test/erl.js';
import { eventually, freePort, quietLogger } from '../../test/support.js';
import { loadApplication, startApplication } from '../application/controller.js';
import type { Node } from '../core/node.js';
import { rpc, startNode } from '../distribution/node-dist.js';
import { noreply, ok, reply, type ServerBehavior } from '../server/server.js';
import { serverStart } from '../supervisor/child-start.js';
import { supervisorChild } from '../supervisor/start.js';
import { atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { startObserver, type StartedObserver } from './observer.js';

// The browser globals the functions evaluated in the page use (the project has no DOM lib).
interface PageElement {
  textContent: string | null;
  value: string;
  getAttribute(name: string): string | null;
  readonly classList: { contains(name: string): boolean };
  dispatchEvent(event: Event): boolean;
}
declare const document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): Iterable<PageElement> & { readonly length: number } };
declare const sessionStorage: { clear(): void };
declare function requestAnimationFrame(callback: () => void): number;

const TOKEN = 'browser-test-token';
const COOKIE = 'observer-cookie';

type Counter = { call: [string, number]; cast: string };
const counter: ServerBehavior<Counter, number> = {
  behavior: 'counter',
  init: () => ok(0),
  handleCall: (r, _f, n) => reply(r, n, n),
  handleCast: (_m, n) => noreply(n + 1),
};

/** Text of the element matching `selector`, or '' (waits for nothing). */
function textOf(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (el) => el.textContent ?? '').catch(() => '');
}

/** Clicks the element now matching `selector` (live updates may replace elements between a lookup and a click). */
async function clickOn(page: Page, selector: string): Promise<void> {
  await page.waitForSelector(selector);
  await page.$eval(selector, (el) => (el as unknown as { click(): void }).click());
}

/** The pid shown for child `id` in the supervision tree. */
function treePid(page: Page, id: string): Promise<string | undefined> {
  return page.evaluate((i) => document.querySelector(`.tnode[data-id="${i}"]`)?.getAttribute('data-pid') ?? undefined, id);
}

describe('the observer page in headless Chromium', { skip: chromiumSkipReason() }, () => {
  let node: Node;
  let observer: StartedObserver;
  let b: TestBrowser;
  let epmdPort = 0;

  before(async () => {
    epmdPort = await freePort();
    node = await startNode({ name: `obs${process.pid}@127.0.0.1`, cookie: COOKIE, epmdPort, node: { logger: quietLogger().log } });
    loadApplication(node, {
      name: 'shop',
      version: '1.2.0',
      description: 'a shop with a cache and workers',
      supervisor: {
        strategy: 'one_for_one',
        intensity: 10,
        period: 5,
        children: [
          { id: 'cache', start: serverStart(counter, undefined, { name: 'cache' }) },
          supervisorChild('workers', { strategy: 'one_for_one', children: [{ id: 'w1', start: serverStart(counter, undefined) }, { id: 'w2', start: serverStart(counter, undefined) }] }),
        ],
      },
    });
    await startApplication(node, 'shop');
    observer = await startObserver(node, { token: TOKEN });
    b = await launchBrowser();
  });

  after(async () => {
    await b?.close();
    await observer?.stop();
    await node?.stop();
  });

  test('the page loads with no console error and shows the overview', async () => {
    await b.page.goto(observer.url, { waitUntil: 'load' });
    await b.page.waitForSelector('#overview-cards [data-card="Processes"]');
    await b.page.waitForSelector('#live.on');
    const processes = await textOf(b.page, '[data-card="Processes"] .value');
    assert.ok(Number(processes.replace(/,/g, '')) > 5, `process count shown: ${processes}`);
    // Let the sampler fill a window so the cards show real numbers.
    await b.page.waitForFunction(() => (document.querySelector('[data-card="Event-loop utilization"] .value')?.textContent ?? '0.0 %') !== '0.0 %', { timeout: 10_000 });
    await screenshot(b.page, 'overview');
    assert.deepEqual(b.errors, []);
  });

  test('a process started after load appears in the table within 2 s, without reload', async () => {
    await b.page.goto(`${observer.url}#processes`);
    await b.page.waitForSelector('#proc-rows tr');
    await b.page.type('#filter', 'late_arrival');
    await b.page.waitForFunction(() => document.querySelector('#range')?.textContent === 'no processes', { timeout: 10_000 });
    const started = Date.now();
    node.spawn({ behavior: 'latecomer', handleMessage() {} }, { name: 'late_arrival' });
    await b.page.waitForSelector('#proc-rows tr td:nth-child(2)', { timeout: 2000 });
    const waited = Date.now() - started;
    assert.ok(waited <= 2000, `appeared after ${waited} ms`);
    assert.equal(await textOf(b.page, '#proc-rows tr td:nth-child(2)'), 'late_arrival');
    // Clear the filter and sort by memory, descending, on the server.
    await b.page.$eval('#filter', (el) => {
      (el as unknown as PageElement).value = '';
      el.dispatchEvent(new Event('input'));
    });
    await clickOn(b.page, 'th[data-sort="memory"]');
    await b.page.waitForSelector('th.sorted[data-sort="memory"]');
    await b.page.waitForFunction(() => document.querySelectorAll('#proc-rows tr').length > 10, { timeout: 10_000 });
    await screenshot(b.page, 'processes');
    assert.deepEqual(b.errors, []);
  });

  test('a crash and restart shows in the supervision tree', async () => {
    await b.page.goto(`${observer.url}#applications`);
    await b.page.waitForSelector('.app[data-app="shop"] .tnode[data-id="cache"]');
    const before = await treePid(b.page, 'cache');
    assert.match(before ?? '', /^<0\.\d+\.\d+>$/);
    const w1 = await treePid(b.page, 'w1');
    assert.ok(w1 !== undefined, 'the nested supervisor shows its children');
    node.exit(node.whereis('cache') as Pid, atom('kill'));
    await b.page.waitForFunction((old) => {
      const el = document.querySelector('.tnode[data-id="cache"]');
      return el !== null && el.getAttribute('data-pid') !== old && el.getAttribute('data-pid')?.startsWith('<') === true && el.classList.contains('restarted');
    }, { timeout: 10_000 }, before ?? '');
    const afterPid = await treePid(b.page, 'cache');
    assert.equal(afterPid, node.whereis('cache')?.toString());
    await screenshot(b.page, 'applications');
    assert.deepEqual(b.errors, []);
  });

  test('the process page: trace shows messages; kill needs the token and works with it', async () => {
    const victim = node.spawn({ behavior: 'victim', handleMessage() {} }, { name: 'victim' });
    await b.page.evaluate(() => sessionStorage.clear());
    await b.page.goto(`${observer.url}#process/${victim.toString()}`);
    await b.page.reload(); // a fresh page: no token yet
    await b.page.waitForSelector('#proc-info [data-field="registered name"]');
    assert.equal(await textOf(b.page, '#proc-info [data-field="registered name"]'), 'victim');
    // Without the token: refused in the page, and by the server.
    await b.page.click('#kill');
    await b.page.waitForFunction(() => /token/.test(document.querySelector('#action-status')?.textContent ?? ''));
    const direct = await fetch(`${observer.url}api/kill`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pid: victim.toString() }) });
    assert.equal(direct.status, 401);
    const wrong = await fetch(`${observer.url}api/kill`, { method: 'POST', headers: { authorization: 'Bearer not-the-token' }, body: JSON.stringify({ pid: victim.toString() }) });
    assert.equal(wrong.status, 403);
    assert.ok(node.isAlive(victim));
    // With the token: trace for 30 s, send messages, see them; then kill with a reason.
    await b.page.type('#token', TOKEN);
    await b.page.$eval('#token', (el) => el.dispatchEvent(new Event('change')));
    await b.page.click('#trace');
    await b.page.waitForFunction(() => /tracing until/.test(document.querySelector('#trace-log')?.textContent ?? ''), { timeout: 10_000 });
    node.send(victim, 'hello observer');
    node.send(victim, atom('ping'));
    await b.page.waitForFunction(() => /hello observer/.test(document.querySelector('#trace-log')?.textContent ?? ''), { timeout: 10_000 });
    await screenshot(b.page, 'process');
    const exited = node.waitExit(victim);
    await b.page.$eval('#kill-reason', (el) => ((el as unknown as PageElement).value = 'maintenance'));
    await b.page.click('#kill');
    assert.equal(await exited, atom('maintenance'));
    await b.page.waitForFunction(() => /no process/.test(document.querySelector('#problem')?.textContent ?? ''), { timeout: 10_000 });
    assert.deepEqual(b.errors, []);
  });

  describe('a connected Erlang node', { skip: erlSkipReason() }, () => {
    let erl: ErlNode;
    const erlName = `erlobs${process.pid}@127.0.0.1`;

    before(async () => {
      erl = startErl({ name: erlName, cookie: COOKIE, epmdPort, eval: `register(erl_observed, spawn(fun() -> receive stop -> ok end end)), io:format("READY~n").` });
      await erl.waitForOutput(/READY/);
      assert.equal(await rpc(node, erlName, 'erlang', 'node', []), atom(erlName));
    });

    after(async () => {
      await erl?.kill();
    });

    test("its processes are listed, and the distribution view shows the connection", async () => {
      await b.page.goto(`${observer.url}#distribution`);
      await b.page.waitForSelector(`#connections tr[data-node="${erlName}"]`, { timeout: 10_000 });
      await screenshot(b.page, 'distribution');
      await b.page.waitForSelector(`#node option[value="${erlName}"]`, { timeout: 10_000 });
      await b.page.select('#node', erlName);
      await b.page.goto(`${observer.url}#processes`);
      await b.page.select('#node', erlName);
      await b.page.waitForFunction(() => [...document.querySelectorAll('#proc-rows tr td:nth-child(2)')].some((td) => td.textContent === 'init'), { timeout: 15_000 });
      await b.page.type('#filter', 'erl_observed');
      await b.page.waitForFunction(() => document.querySelector('#proc-rows tr td:nth-child(2)')?.textContent === 'erl_observed', { timeout: 15_000 });
      await b.page.$eval('#filter', (el) => {
        (el as unknown as PageElement).value = '';
        el.dispatchEvent(new Event('input'));
      });
      await b.page.waitForFunction(() => document.querySelectorAll('#proc-rows tr').length > 10, { timeout: 15_000 });
      await screenshot(b.page, 'erlang-processes');
      await b.page.goto(`${observer.url}#applications`);
      await b.page.waitForSelector('.app[data-app="kernel"] .tnode[data-id="kernel"]', { timeout: 15_000 });
      await screenshot(b.page, 'erlang-applications');
      await b.page.select('#node', node.name.name);
      assert.deepEqual(b.errors, []);
    });
  });

  test('with 100,000 processes the table pages on the server and the page stays responsive', async () => {
    const idle = { behavior: 'idle', handleMessage() {} };
    const pids: Pid[] = [];
    for (let i = 0; i < 100_000; i++) pids.push(node.spawn(idle));
    try {
      await b.page.goto(`${observer.url}#processes`);
      await b.page.waitForFunction(() => /of 100,\d{3}/.test(document.querySelector('#range')?.textContent ?? ''), { timeout: 60_000 });
      assert.equal(await b.page.$$eval('#proc-rows tr', (rows) => rows.length), 50, 'one page of rows in the DOM');
      // Sorting by reductions happens on the server: the page gets the top rows.
      await clickOn(b.page, 'th[data-sort="reductions"]');
      await b.page.waitForSelector('th.sorted[data-sort="reductions"]', { timeout: 30_000 });
      await clickOn(b.page, '#next');
      await b.page.waitForFunction(() => /^51–100 of/.test(document.querySelector('#range')?.textContent ?? ''), { timeout: 30_000 });
      // The page's main thread answers while updates keep coming.
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        await b.page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve(undefined))));
        assert.ok(Date.now() - started < 5000, 'a frame within 5 s');
      }
      await screenshot(b.page, 'processes-100k');
      assert.deepEqual(b.errors, []);
    } finally {
      for (const p of pids) node.exit(p, atom('kill'));
    }
  });
});
