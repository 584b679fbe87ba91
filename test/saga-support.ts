/**
 * Test support for the Saga behavior: a saga whose behavior is scripted by
 * a local config and whose every callback reports an event to a probe, so
 * tests (local and across nodes) check who saw what, with which reason.
 * @module
 */
import { atom, type Atom } from '../src/terms/atom.js';
import type { Pid, Ref } from '../src/terms/identifiers.js';
import { Tuple, tuple } from '../src/terms/tuple.js';
import type { Address } from '../src/core/index.js';
import { noreply, reply, stop } from '../src/server/index.js';
import type { SagaBehavior } from '../src/saga/saga.js';
import { SagaError, voteNo, voteYes, type TxOptions } from '../src/saga/types.js';
import type { WorkerBehavior } from '../src/saga/worker.js';
import type { JournalRecord, SagaJournal } from '../src/saga/journal.js';

/** What travels: the rest of the route and a payload. */
export interface Hop {
  readonly route: readonly Address[];
  readonly payload: string;
}

/** The scripted behavior of one test saga. */
export interface TestSagaConfig {
  readonly name: string;
  /** Where events go: `{Event, SagaName, TxId, Detail}`. */
  readonly probe: Pid;
  /** Start one job per transaction; the worker does `workerMode`. */
  readonly job?: boolean;
  readonly workerMode?: 'result' | 'exit' | 'hang' | 'interim' | 'refuse';
  readonly jobTimeout?: number;
  /** Cancel the transaction in handleTxNew with this reason (after forwarding it). */
  readonly cancelOnNew?: string;
  /** Send an interim result up before forwarding. */
  readonly interim?: boolean;
  readonly nextTimeout?: number;
  readonly trapCancel?: boolean;
  /** On a trapped cancel, re-route to this saga. */
  readonly reroute?: readonly Address[];
  /** Vote no with this reason. */
  readonly refuse?: string;
  /** Do not answer prepare (vote after this long). */
  readonly slowPrepareMs?: number;
  /** Never send a result (the hop times out upstream). */
  readonly silent?: boolean;
  /** Cancel the job right after starting it, with this reason. */
  readonly cancelJob?: string;
}

export type TestTypes = {
  value: Hop;
  result: string;
  interim: string;
  nextValue: Hop;
  nextResult: string;
  nextInterim: string;
  jobValue: string;
  jobResult: string;
  jobInterim: string;
};

interface Pending {
  waiting: number;
  result: string;
}

type State = Map<string, Pending>;

export type TestSagaProtocol = { call: [Tuple<[Atom<'start'>, Hop, TxOptions]>, Ref | string] };

function key(tx: Ref): string {
  return `${tx.node.name}/${tx.creation}/${tx.ids.join('.')}`;
}

/** A saga that follows `config`; call it with `{start, Hop, Options}` to start a transaction here. */
export function testSaga(config: TestSagaConfig): SagaBehavior<State, TestTypes, undefined, TestSagaProtocol> {
  const report = (saga: { process: { send(to: Pid, m: unknown): void } }, event: string, tx: Ref, detail: unknown): void =>
    saga.process.send(config.probe, tuple(atom(event), config.name, tx, detail));
  const worker: WorkerBehavior<TestTypes, string> = {
    handleJobStart(job, w) {
      const mode = config.workerMode ?? 'result';
      if (mode === 'exit') return stop('normal');
      if (mode === 'hang') return noreply('hanging');
      if (mode === 'interim') w.sendInterim(`${job.value}:interim`);
      w.sendResult(`${job.value}:done`);
      return noreply('ok');
    },
    handleJobCancel(reason, _state, w) {
      w.process.send(config.probe, tuple(atom('job_cancel'), config.name, w.job.tx, reason));
    },
    handleJobPrepare(state) {
      return config.workerMode === 'refuse' ? voteNo('worker_refuses', state) : voteYes(state);
    },
    handleJobCommit(final, _state, w) {
      w.process.send(config.probe, tuple(atom('job_commit'), config.name, w.job.tx, final));
    },
  };
  const finishOne = (tx: Ref, part: string, state: State, saga: Parameters<SagaBehavior<State, TestTypes>['handleTxNew']>[3]): void => {
    const p = state.get(key(tx));
    if (p === undefined) return;
    p.result += part;
    if (--p.waiting === 0) {
      state.delete(key(tx));
      saga.sendResult(tx, p.result);
    }
  };
  return {
    worker,
    init: () => ({ type: 'ok', state: new Map() }),
    handleCall(request, _from, state, saga) {
      const [, hop, options] = request.elements;
      try {
        return reply(request, saga.startTransaction(hop, options), state);
      } catch (err) {
        return reply(request, `error: ${(err as Error).message}`, state);
      }
    },
    handleTxNew(tx, value, state, saga) {
      report(saga, 'new', tx, value.payload);
      const p: Pending = { waiting: 0, result: config.name };
      state.set(key(tx), p);
      if (config.interim === true && saga.transactions().length > 0) {
        try {
          saga.sendInterim(tx, `${config.name}:interim`);
        } catch {
          // the origin has no parent
        }
      }
      const [first, ...rest] = value.route;
      if (first !== undefined) {
        p.waiting++;
        try {
          saga.next(tx, {
            saga: first,
            value: { route: rest, payload: value.payload },
            ...(config.nextTimeout === undefined ? {} : { timeout: config.nextTimeout }),
            ...(config.trapCancel === true ? { trapCancel: true } : {}),
          });
        } catch (err) {
          // A refused hop (hop_limit, lifespan...) cancels the transaction with the error's code.
          if (!(err instanceof SagaError)) throw err;
          saga.cancelTransaction(tx, atom(err.code));
          return noreply(state);
        }
      }
      if (config.job === true) {
        p.waiting++;
        const job = saga.startJob(tx, { value: config.name, ...(config.jobTimeout === undefined ? {} : { timeout: config.jobTimeout }) });
        if (config.cancelJob !== undefined) {
          saga.cancelJob(tx, job, config.cancelJob);
          p.waiting--;
        }
      }
      if (config.cancelOnNew !== undefined) {
        saga.cancelTransaction(tx, config.cancelOnNew);
        return noreply(state);
      }
      if (p.waiting === 0 && config.silent !== true) {
        state.delete(key(tx));
        saga.sendResult(tx, config.name);
      }
      return noreply(state);
    },
    handleTxResult(tx, _from, result, state, saga) {
      report(saga, 'result', tx, result);
      finishOne(tx, `>${result}`, state, saga);
      return noreply(state);
    },
    handleTxInterim(tx, _from, interim, state, saga) {
      report(saga, 'interim', tx, interim);
      return noreply(state);
    },
    handleTxCancel(tx, reason, state, saga) {
      state.delete(key(tx));
      report(saga, 'cancel', tx, reason);
      return noreply(state);
    },
    handleTxDone(tx, result, state, saga) {
      report(saga, 'done', tx, result);
      return noreply(state);
    },
    async handleTxPrepare(tx, state, saga) {
      report(saga, 'prepare', tx, undefined);
      if (config.slowPrepareMs !== undefined) await new Promise((r) => setTimeout(r, config.slowPrepareMs));
      return config.refuse === undefined ? voteYes(state) : voteNo(config.refuse, state);
    },
    handleTxCommit(tx, final, state, saga) {
      report(saga, 'commit', tx, final);
      return noreply(state);
    },
    handleNextCancel(tx, _next, reason, state, saga) {
      report(saga, 'next_cancel', tx, reason);
      const [first, ...rest] = config.reroute ?? [];
      if (first !== undefined) saga.next(tx, { saga: first, value: { route: rest, payload: 'rerouted' } });
      return noreply(state);
    },
    handleJobResult(tx, _job, result, state, saga) {
      report(saga, 'job_result', tx, result);
      finishOne(tx, `+${result}`, state, saga);
      return noreply(state);
    },
    handleJobInterim(tx, _job, interim, state, saga) {
      report(saga, 'job_interim', tx, interim);
      return noreply(state);
    },
    handleJobFailed(tx, _job, reason, state, saga) {
      report(saga, 'job_failed', tx, reason);
      return noreply(state);
    },
  };
}

/** An event a test saga reported. */
export interface SagaEvent {
  readonly event: string;
  readonly saga: string;
  readonly tx: Ref;
  readonly detail: unknown;
}

/** Reads a probe message as an event. */
export function asEvent(m: unknown): SagaEvent {
  if (!(m instanceof Tuple) || m.elements.length !== 4) throw new Error(`not a saga event: ${String(m)}`);
  const [e, saga, tx, detail] = m.elements as [Atom, string, Ref, unknown];
  return { event: e.name, saga, tx, detail };
}

/** Collects probe events until `done(events)` holds. */
export async function until(probe: { next(deadlineMs?: number): Promise<unknown> }, done: (events: SagaEvent[]) => boolean, events: SagaEvent[] = []): Promise<SagaEvent[]> {
  while (!done(events)) events.push(asEvent(await probe.next()));
  return events;
}

/** The first `event` reported by `saga`. */
export function has(events: readonly SagaEvent[], event: string, saga: string): SagaEvent | undefined {
  return events.find((e) => e.event === event && e.saga === saga);
}

/**
 * A journal that "crashes" its saga at a chosen record: the record is kept
 * (it reached the disk), the append never completes, and `crash()` runs on
 * the next turn (the test kills the saga there). With `after`, the append
 * completes first, so the message that follows the record goes out.
 */
export class CrashingJournal implements SagaJournal {
  private armed: { match: (r: JournalRecord) => boolean; after: boolean; crash: () => void } | undefined;
  constructor(readonly inner: SagaJournal) {}
  crashAt(match: (r: JournalRecord) => boolean, crash: () => void, after = false): void {
    this.armed = { match, after, crash };
  }
  load(): Promise<readonly JournalRecord[]> {
    return this.inner.load();
  }
  async append(record: JournalRecord, sync: boolean): Promise<void> {
    await this.inner.append(record, sync);
    const a = this.armed;
    if (a === undefined || !a.match(record)) return;
    this.armed = undefined;
    if (a.after) {
      setTimeout(a.crash, 5);
      return;
    }
    setImmediate(a.crash);
    await new Promise<never>(() => {});
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
