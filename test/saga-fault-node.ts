/**
 * One node of the saga fault test, run as its own OS process:
 * `node build/test/saga-fault-node.js '<json config>'`. It starts a Beamline
 * node, opens a file journal per saga and runs the sagas of its role
 * (`bank`; on the leaf also `audit`). With `kill`, it SIGKILLs itself at
 * that point of the protocol. Every outcome is appended to `outcomes.log`
 * as `<saga>@<role> <tx> commit|cancel`. Prints `ready` once up.
 * @module
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Atom } from '../src/terms/atom.js';
import type { Ref } from '../src/terms/identifiers.js';
import type { Tuple } from '../src/terms/tuple.js';
import type { Node } from '../src/core/index.js';
import { noreply, reply } from '../src/server/index.js';
import { startNode } from '../src/distribution/node-dist.js';
import { startSaga, type SagaBehavior } from '../src/saga/saga.js';
import { FileJournal } from '../src/saga/file-journal.js';
import type { SagaTracePoint } from '../src/saga/types.js';
import { refKey } from '../src/saga/protocol.js';

/** The tree a transaction follows: each entry is a next saga and its own subtree. */
export interface FaultTree {
  readonly to: readonly { readonly name: string; readonly node: string; readonly to: FaultTree['to'] }[];
}

/** Where a fault node kills itself. */
export interface FaultKill {
  readonly saga: string;
  /** A trace point (SIGKILL when it is reached; `voted` waits 20 ms so the vote leaves), or `new` (in handleTxNew). */
  readonly point: SagaTracePoint | 'new';
}

export interface FaultNodeConfig {
  readonly role: 'o' | 'm' | 'l';
  readonly name: string;
  readonly epmdPort: number;
  readonly dir: string;
  readonly kill?: FaultKill;
}

type FaultProtocol = { call: [Tuple<[Atom<'start'>, FaultTree]>, Ref] };

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

function faultSaga(cfg: FaultNodeConfig, saga: string): SagaBehavior<Map<string, number>, { value: FaultTree; nextValue: FaultTree; result: string; nextResult: string }, undefined, FaultProtocol> {
  const outcome = (tx: Ref, what: string): void => appendFileSync(join(cfg.dir, 'outcomes.log'), `${saga}@${cfg.role} ${refKey(tx)} ${what}\n`);
  return {
    init: () => ({ type: 'ok', state: new Map() }),
    handleCall(request, _from, state, s) {
      const tx = s.startTransaction(request.elements[1], { twoPhaseCommit: true, lifespan: 30_000 });
      return reply(request, tx, state);
    },
    handleTxNew(tx, value, state, s) {
      if (cfg.kill?.saga === saga && cfg.kill.point === 'new') die();
      for (const c of value.to) s.next(tx, { saga: { name: c.name, node: c.node }, value: { to: c.to } });
      if (value.to.length === 0) s.sendResult(tx, saga);
      else state.set(refKey(tx), value.to.length);
      return noreply(state);
    },
    handleTxResult(tx, _from, _result, state, s) {
      const left = (state.get(refKey(tx)) ?? 1) - 1;
      state.set(refKey(tx), left);
      if (left === 0) {
        state.delete(refKey(tx));
        s.sendResult(tx, saga);
      }
      return noreply(state);
    },
    handleTxCancel(tx, _reason, state) {
      state.delete(refKey(tx));
      outcome(tx, 'cancel');
      return noreply(state);
    },
    handleTxCommit(tx, _final, state) {
      outcome(tx, 'commit');
      return noreply(state);
    },
  };
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as FaultNodeConfig;
  let node: Node | undefined;
  // After a SIGKILL, EPMD may take a moment to drop the old registration of this name.
  for (let attempt = 0; node === undefined; attempt++) {
    try {
      node = await startNode({ name: cfg.name, cookie: 'fault', epmdPort: cfg.epmdPort, node: { logger: () => {} } });
    } catch (err) {
      if (attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  for (const saga of cfg.role === 'l' ? ['bank', 'audit'] : ['bank']) {
    const journal = await FileJournal.open(join(cfg.dir, `${cfg.role}-${saga}.journal`));
    const point = cfg.kill?.saga === saga ? cfg.kill.point : undefined;
    await startSaga(node, faultSaga(cfg, saga), undefined, {
      name: saga,
      journal,
      retryInterval: 100,
      prepareTimeout: 5000,
      trace: (p) => {
        if (p !== point) return;
        if (p === 'voted') setTimeout(die, 20);
        else die();
      },
    });
  }
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`fault node failed: ${String(err)}\n`);
  process.exit(1);
});
