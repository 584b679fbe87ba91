// Run: npx tsc -p . && node build/examples/saga.js
/**
 * Example: a money transfer between two banks on two Beamline nodes, as a
 * saga with a two-phase commit and file journals. Bank A debits (holding the
 * money), bank B credits; both commit together, or both undo
 * (compensation in handleTxCancel): a transfer to an account B does not
 * have is cancelled by B, and A gives the money back.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import {
  type Atom,
  atom,
  isAtom,
  FileJournal,
  type From,
  noreply,
  reply,
  type SagaBehavior,
  startNode,
  startSaga,
  type Tuple,
  tuple,
  type TxId,
} from '../src/index.js';

/** What travels from bank A to bank B. */
interface Transfer {
  readonly from: string;
  readonly to: string;
  readonly amount: number;
}
type Bank = { value: Transfer; nextValue: Transfer; result: Atom<'ok'>; nextResult: Atom<'ok'> };
type Reply = Atom<'committed'> | Tuple<[Atom<'cancelled'>, unknown]>;
type BankApi = { call: [Tuple<[Atom<'transfer'>, Transfer]>, Reply] | [Atom<'balances'>, Record<string, number>] };

interface BankState {
  readonly accounts: Map<string, number>;
  /** Money held by a transaction until it commits or is undone. */
  readonly held: Map<TxId, { account: string; delta: number }>;
  /** Callers waiting for the outcome of their transfer. */
  readonly callers: Map<TxId, From<Reply>>;
}

/** A bank: as the origin it debits and forwards; as the next hop it credits. */
function bank(accounts: Record<string, number>, creditor: { name: string; node: string } | undefined): SagaBehavior<BankState, Bank, undefined, BankApi> {
  const settle = (state: BankState, tx: TxId, undo: boolean): void => {
    for (const [id, h] of state.held)
      if (id.equals(tx)) {
        if (undo) state.accounts.set(h.account, (state.accounts.get(h.account) ?? 0) - h.delta);
        state.held.delete(id);
      }
  };
  const answer = (state: BankState, tx: TxId, reply: Reply, saga: { process: { reply<R>(f: From<R>, r: R): void } }): void => {
    for (const [id, from] of state.callers)
      if (id.equals(tx)) {
        saga.process.reply(from, reply);
        state.callers.delete(id);
      }
  };
  return {
    init: () => ({ type: 'ok', state: { accounts: new Map(Object.entries(accounts)), held: new Map(), callers: new Map() } }),
    handleCall(request, from, state, saga) {
      if (isAtom(request, 'balances')) return reply(request, Object.fromEntries(state.accounts), state);
      const tx = saga.startTransaction(request.elements[1], { twoPhaseCommit: true, lifespan: 5000 });
      state.callers.set(tx, from as From<Reply>);
      return noreply(state);
    },
    handleTxNew(tx, t, state, saga) {
      if (creditor !== undefined) {
        // Bank A: debit now (held until the commit), then ask bank B to credit.
        const balance = state.accounts.get(t.from) ?? 0;
        if (balance < t.amount) {
          saga.cancelTransaction(tx, atom('insufficient_funds'));
          return noreply(state);
        }
        state.accounts.set(t.from, balance - t.amount);
        state.held.set(tx, { account: t.from, delta: -t.amount });
        saga.next(tx, { saga: creditor, value: t, timeout: 2000 });
        return noreply(state);
      }
      // Bank B: credit, or refuse an unknown account.
      if (!state.accounts.has(t.to)) {
        saga.cancelTransaction(tx, atom('no_such_account'));
        return noreply(state);
      }
      state.accounts.set(t.to, (state.accounts.get(t.to) ?? 0) + t.amount);
      state.held.set(tx, { account: t.to, delta: t.amount });
      saga.sendResult(tx, atom('ok'));
      return noreply(state);
    },
    handleTxResult(tx, _from, _result, state, saga) {
      saga.sendResult(tx, atom('ok')); // bank A: the whole transfer is done; the vote follows
      return noreply(state);
    },
    handleTxCommit(tx, _final, state, saga) {
      settle(state, tx, false);
      answer(state, tx, atom('committed'), saga);
      return noreply(state);
    },
    handleTxCancel(tx, reason, state, saga) {
      settle(state, tx, true); // compensation: give the held money back
      answer(state, tx, tuple(atom('cancelled'), reason), saga);
      return noreply(state);
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'saga-example-'));
// ERL_EPMD_PORT when set (the examples test gives each example its own), else a random port below
// Linux's ephemeral range (32768-60999), where an outgoing connection may hold the port.
const epmdPort = Number(process.env['ERL_EPMD_PORT'] ?? randomInt(10_000, 32_000));
const a = await startNode({ name: 'bank_a@127.0.0.1', cookie: 'bank', epmdPort });
const b = await startNode({ name: 'bank_b@127.0.0.1', cookie: 'bank', epmdPort });
try {
  await startSaga(b, bank({ bob: 0 }, undefined), undefined, { name: 'bank', journal: await FileJournal.open(join(dir, 'b.journal')) });
  const bankA = await startSaga(a, bank({ alice: 100 }, { name: 'bank', node: 'bank_b@127.0.0.1' }), undefined, {
    name: 'bank',
    journal: await FileJournal.open(join(dir, 'a.journal')),
  });
  const bankB = { name: 'bank', node: 'bank_b@127.0.0.1' };

  console.log('alice -> bob 30:', String(await a.call(bankA, tuple(atom('transfer'), { from: 'alice', to: 'bob', amount: 30 }))));
  console.log('alice -> carol 50:', String(await a.call(bankA, tuple(atom('transfer'), { from: 'alice', to: 'carol', amount: 50 }))));
  console.log('alice -> bob 500:', String(await a.call(bankA, tuple(atom('transfer'), { from: 'alice', to: 'bob', amount: 500 }))));
  console.log('bank A:', await a.call(bankA, atom('balances')), 'bank B:', await a.call(bankB, atom('balances')));
  // alice -> bob 30: committed
  // alice -> carol 50: {cancelled,no_such_account}
  // alice -> bob 500: {cancelled,insufficient_funds}
  // bank A: { alice: 70 } bank B: { bob: 30 }
} finally {
  await b.stop();
  await a.stop();
  rmSync(dir, { recursive: true, force: true });
}
