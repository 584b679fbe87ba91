/**
 * One HTTP request in flight at the gateway: its deadline (in the gateway's
 * {@link DeadlineQueue}, no timer of its own), the handler process that took
 * it, and writing the response (with backpressure for streams). A whole
 * response is written at the end of the event-loop turn it is answered in
 * (turn-writes.ts), in one socket write (status line, headers and body
 * together, with its Content-Length).
 * @module
 */
import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Pid } from '../terms/identifiers.js';
import type { Exchange } from './request.js';
import type { WebResponse } from './response.js';
import type { DeadlineQueue } from './deadlines.js';
import { type TurnWrite, writeAtTurnEnd } from './turn-writes.js';

/** What an exchange needs from its gateway. */
export interface ExchangeOwner {
  /** A request arrived: `ex` is in flight until its response closes ({@link ExchangeOwner.closed}). */
  opened(ex: RequestExchange): void;
  /** `ex`'s response closed (sent, or its connection went away). */
  closed(ex: RequestExchange): void;
  /** The handler `worker` took `ex`: watch the worker, answer 500 if it dies first. */
  watch(worker: Pid, ex: RequestExchange): void;
  /** Responses in flight that are event streams (`text/event-stream`): they never end on their own, so a stopping gateway ends them. */
  readonly eventStreams: Set<ServerResponse>;
  /** True while the gateway drains for shutdown (responses then close their connection). */
  readonly stopping: boolean;
  /** The gateway's request deadlines (undefined: no timeout). */
  readonly deadlines: DeadlineQueue<RequestExchange> | undefined;
  log(message: string): void;
}

/**
 * The headers of a whole (not streamed) response as `writeHead`'s flat list, with
 * `content-length` added unless the handler set it (or a transfer-encoding): the
 * status line, headers and body then leave in one write, not as a chunked body.
 */
function headerList(status: number, headers: OutgoingHttpHeaders | undefined, body: string | Uint8Array | undefined): OutgoingHttpHeader[] {
  const list: OutgoingHttpHeader[] = [];
  let framed = false;
  if (headers !== undefined)
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      list.push(name, value);
      if ((name.length === 14 || name.length === 17) && !framed) {
        const lower = name.toLowerCase();
        framed = lower === 'content-length' || lower === 'transfer-encoding';
      }
    }
  // 1xx, 204 and 304 have no body and must not announce one.
  if (!framed && status >= 200 && status !== 204 && status !== 304)
    list.push('content-length', body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
  return list;
}

function waitWritable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * @internal The requests one handler process has taken and not answered yet, linked
 * through the exchanges themselves: taking and answering a request allocates nothing.
 */
export class TakenRequests {
  head: RequestExchange | undefined;

  add(ex: RequestExchange): void {
    ex.list = this;
    ex.next = this.head;
    if (this.head !== undefined) this.head.prev = ex;
    this.head = ex;
  }

  remove(ex: RequestExchange): void {
    if (ex.prev !== undefined) ex.prev.next = ex.next;
    else this.head = ex.next;
    if (ex.next !== undefined) ex.next.prev = ex.prev;
    ex.prev = ex.next = ex.list = undefined;
  }

  /** Finishes every request still here with `response` (their handler exited). */
  finishAll(response: WebResponse): void {
    for (let ex = this.head; ex !== undefined; ex = this.head) ex.finish(response);
  }
}

/** @internal The gateway's record of one request, from its arrival until its response closes. */
export class RequestExchange implements Exchange, TurnWrite {
  done = false;
  worker: Pid | undefined;
  /** The handler's {@link TakenRequests} while taken and not answered, and the neighbours there. */
  list: TakenRequests | undefined;
  prev: RequestExchange | undefined;
  next: RequestExchange | undefined;
  private abort: AbortController | undefined;
  /** A whole response waiting for the end of the turn. */
  private answer: WebResponse | undefined;
  /** The response closed: a request not answered yet is finished (its client went away first). */
  private readonly onClose = (): void => {
    if (!this.done) this.finish(undefined);
    this.owner.eventStreams.delete(this.res);
    this.owner.closed(this);
  };

  constructor(
    private readonly owner: ExchangeOwner,
    readonly res: ServerResponse,
  ) {
    owner.opened(this);
    res.on('close', this.onClose);
  }

  /** The request goes to a handler: its timeout starts. */
  dispatched(): void {
    this.owner.deadlines?.add(this);
  }

  /** The request timeout passed. Nobody took it: every handler is busy (503). Taken but not answered: the handler is too slow (504). */
  expire(): void {
    if (this.worker === undefined) this.finish({ status: 503, headers: { 'content-type': 'text/plain', 'retry-after': '1' }, body: 'no handler available\n' });
    else this.finish({ status: 504, headers: { 'content-type': 'text/plain' }, body: 'handler timed out\n' });
  }

  get signal(): AbortSignal {
    this.abort ??= new AbortController();
    if (this.done && !this.abort.signal.aborted) this.abort.abort();
    return this.abort.signal;
  }

  take(worker: Pid): void {
    if (this.done || this.worker !== undefined) return;
    this.worker = worker;
    this.owner.watch(worker, this);
  }

  complete(response: WebResponse): boolean {
    if (this.done) return false;
    this.finish(response);
    return true;
  }

  /** Ends the exchange; writes `response` unless the client is gone. */
  finish(response: WebResponse | undefined): void {
    if (this.done) return;
    this.done = true;
    this.abort?.abort();
    this.list?.remove(this);
    if (response === undefined) return;
    const body = response.body;
    if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
      // A whole response leaves with the other answers of this event-loop turn, once its reads are served.
      this.answer = response;
      writeAtTurnEnd(this);
    } else this.write(response);
  }

  /** @internal Writes the answer queued by {@link RequestExchange.finish} (see turn-writes.ts). */
  writeNow(): void {
    const r = this.answer as WebResponse;
    this.answer = undefined;
    try {
      this.write(r);
    } catch (err) {
      this.owner.log(`web: writing a response failed: ${(err as Error).message}`);
      this.res.destroy();
    }
  }

  private write(r: WebResponse): void {
    const res = this.res;
    if (res.destroyed || res.headersSent) return;
    const status = r.status ?? 200;
    const body = r.body;
    const whole = body === undefined || typeof body === 'string' || body instanceof Uint8Array;
    try {
      if (this.owner.stopping) res.setHeader('connection', 'close');
      res.writeHead(status, whole ? headerList(status, r.headers, body) : r.headers);
    } catch (err) {
      // Bad status or header from the handler.
      this.owner.log(`web: bad response: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('bad response\n');
      return;
    }
    if (body === undefined) res.end();
    else if (whole) res.end(body);
    else {
      if (String(r.headers?.['content-type'] ?? '').startsWith('text/event-stream')) this.owner.eventStreams.add(res);
      void this.pump(body);
    }
  }

  private async pump(chunks: AsyncIterable<string | Uint8Array>): Promise<void> {
    const res = this.res;
    try {
      for await (const chunk of chunks) {
        if (res.destroyed || res.writableEnded) break;
        if (!res.write(chunk)) await waitWritable(res);
      }
      if (!res.destroyed && !res.writableEnded) res.end();
    } catch (err) {
      this.owner.log(`web: response stream failed: ${(err as Error).message}`);
      res.destroy();
    }
  }
}
