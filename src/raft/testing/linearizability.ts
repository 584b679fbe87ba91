/**
 * A linearizability checker in the style of Wing and Gong with Lowe's
 * memoization, as Porcupine does it: depth-first search over the order in
 * which concurrent operations may take effect, caching (linearized set,
 * state) pairs already explored. Histories split per key first when the
 * model allows (P-compositionality), and operations with an unknown outcome
 * (a timeout) stay open to the end of the history: they may take effect at
 * any point after their call, or never.
 * @module
 */

/** Marks an output that was never observed (a timeout). */
export const unknown: unique symbol = Symbol('unknown');
export type Unknown = typeof unknown;

/** One operation of a history; `ret` is Infinity when its outcome is unknown. */
export interface Operation<I, O> {
  readonly client: number;
  readonly input: I;
  readonly output: O | Unknown;
  readonly call: number;
  readonly ret: number;
}

/** A sequential specification. `step` says whether `input` giving `output` is legal in `state`, and the state after. */
export interface Model<S, I, O> {
  readonly init: () => S;
  readonly step: (state: S, input: I, output: O | Unknown) => { readonly ok: boolean; readonly state: S };
  /** A string equal for equal states (the memo key). */
  readonly key: (state: S) => string;
  /** Splits a history into independent ones (per key); default: one. */
  readonly partition?: (ops: readonly Operation<I, O>[]) => Operation<I, O>[][];
}

/** The verdict: `ok` linearizable, `illegal` not, `unknown` when the time budget ran out. */
export type Verdict = 'ok' | 'illegal' | 'unknown';

interface Node {
  readonly id: number;
  readonly isCall: boolean;
  match: Node | null;
  prev: Node | null;
  next: Node | null;
}

/** Checks a whole history; `illegal` as soon as one partition is, `unknown` if the budget ran out before a verdict. */
export function checkOperations<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], timeoutMs = 10_000): Verdict {
  const deadline = Date.now() + timeoutMs;
  const parts = model.partition === undefined ? [[...ops]] : model.partition(ops);
  let verdict: Verdict = 'ok';
  for (const part of parts) {
    const v = checkPartition(model, part, deadline);
    if (v === 'illegal') return 'illegal';
    if (v === 'unknown') verdict = 'unknown';
  }
  return verdict;
}

function buildList<I, O>(ops: readonly Operation<I, O>[]): Node {
  const events: { time: number; node: Node }[] = [];
  ops.forEach((op, id) => {
    const call: Node = { id, isCall: true, match: null, prev: null, next: null };
    const ret: Node = { id, isCall: false, match: null, prev: null, next: null };
    call.match = ret;
    events.push({ time: op.call, node: call }, { time: op.ret, node: ret });
  });
  // By time; at equal times calls come first (they overlap), then by operation for stability.
  events.sort((a, b) => a.time - b.time || (a.node.isCall === b.node.isCall ? a.node.id - b.node.id : a.node.isCall ? -1 : 1));
  const head: Node = { id: -1, isCall: false, match: null, prev: null, next: null };
  let last = head;
  for (const e of events) {
    last.next = e.node;
    e.node.prev = last;
    last = e.node;
  }
  return head;
}

function lift(call: Node): void {
  call.prev!.next = call.next;
  if (call.next !== null) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

function unlift(call: Node): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next !== null) call.next.prev = call;
}

function checkPartition<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], deadline: number): Verdict {
  if (ops.length === 0) return 'ok';
  const head = buildList(ops);
  const linearized = new Uint32Array(Math.ceil(ops.length / 32));
  const cache = new Set<string>();
  const stack: { node: Node; state: S }[] = [];
  let state = model.init();
  let node: Node | null = head.next;
  let steps = 0;
  while (head.next !== null) {
    if ((++steps & 0x3ff) === 0 && Date.now() > deadline) return 'unknown';
    if (node === null) return 'illegal'; // cannot happen: a return always precedes the end
    if (node.isCall) {
      const op = ops[node.id]!;
      const r = model.step(state, op.input, op.output);
      if (r.ok) {
        const w = node.id >>> 5;
        const bit = 1 << (node.id & 31);
        linearized[w]! |= bit;
        const key = `${linearized.join(',')}|${model.key(r.state)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ node, state });
          state = r.state;
          lift(node);
          node = head.next;
          continue;
        }
        linearized[w]! &= ~bit;
      }
      node = node.next;
    } else {
      // A return whose call is not linearized yet: undo the last choice.
      const top = stack.pop();
      if (top === undefined) return 'illegal';
      state = top.state;
      linearized[top.node.id >>> 5]! &= ~(1 << (top.node.id & 31));
      unlift(top.node);
      node = top.node.next;
    }
  }
  return 'ok';
}
