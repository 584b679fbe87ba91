/**
 * What Erlang asks of a node, answered by Beamline: the `net_kernel`
 * process (`{is_auth, Node}` → `yes`, so `net_adm:ping` gets `pong`), the
 * `rex` process (`features_request`, and `{call|block_call, M, F, A, GL}`
 * gen_server calls and `{cast, ...}` casts from old clients and from
 * Beamline's own {@link RpcRegistry} users), and the functions a node
 * exposes to `rpc:call` / `erpc:call` ({@link RpcRegistry}).
 *
 * Outcomes follow `erpc`: a value is `return`; a thrown {@link ErlangThrow}
 * is `throw`; a thrown {@link ErlangExit} is `exit`; any other throw is
 * `error` with the thrown value (an `Error` crosses as the codec's error
 * struct) and a one-frame stack; an unknown function is `undef`.
 * @module
 */
import type { Node } from '../core/node.js';
import type { Process, ProcessHandler } from '../core/process.js';
import { Charlist } from '../etf/charlist.js';
import { Atom, atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';

/** A function exposed to remote callers: receives the decoded arguments. */
export type RpcFunction = (...args: never[]) => unknown;

/** The functions of one exposed module, by name. */
export type RpcModule = Readonly<Record<string, RpcFunction>>;

/**
 * Throw this from an exposed function to make Erlang see `throw(Value)`
 * (`erpc:call` rethrows it; `rpc:call` returns the value).
 *
 * @example
 * ```ts
 * exposeRpc(node, 'kv', { get: (k: string) => { throw new ErlangThrow(atom('not_found')); } });
 * ```
 */
export class ErlangThrow extends Error {
  override name = 'ErlangThrow';
  constructor(readonly value: unknown) {
    super('erlang throw');
  }
}

/**
 * Throw this from an exposed function to make Erlang see `exit(Reason)`.
 *
 * @example
 * ```ts
 * exposeRpc(node, 'kv', { stop: () => { throw new ErlangExit(atom('shutdown')); } });
 * ```
 */
export class ErlangExit extends Error {
  override name = 'ErlangExit';
  constructor(readonly reason: unknown) {
    super('erlang exit');
  }
}

/** How a remote function call ended, in erpc's terms. */
export type RpcOutcome =
  | { readonly kind: 'return'; readonly value: unknown }
  | { readonly kind: 'throw'; readonly value: unknown }
  | { readonly kind: 'exit'; readonly reason: unknown }
  | { readonly kind: 'error'; readonly reason: unknown; readonly stack: unknown[] };

const A_UNDEF = atom('undef');
const A_BADARG = atom('badarg');

/** Functions a node exposes to remote callers, by module and function name. */
export class RpcRegistry {
  private readonly modules = new Map<string, RpcModule>();
  /** `connected(arg)` answers `erlang:nodes/0,1` (`arg` undefined for `nodes()`). */
  constructor(private readonly node: Node, private readonly connected: (arg?: unknown) => Atom[]) {}

  /** Adds (or replaces) the functions of `module`. */
  expose(module: string, fns: RpcModule): void {
    const prev = this.modules.get(module) ?? {};
    this.modules.set(module, { ...prev, ...fns });
  }

  /** Removes a module. */
  unexpose(module: string): boolean {
    return this.modules.delete(module);
  }

  private lookup(m: string, f: string, arity: number, self: Pid): ((args: unknown[]) => unknown) | undefined {
    if (m === 'erlang') {
      if (f === 'node' && arity === 0) return () => this.node.name;
      if (f === 'self' && arity === 0) return () => self;
      if (f === 'nodes' && arity <= 1) return (args) => this.connected(args[0]);
    }
    const mod = this.modules.get(m);
    if (mod === undefined || !Object.prototype.hasOwnProperty.call(mod, f)) return undefined;
    const fn = mod[f];
    if (typeof fn !== 'function') return undefined;
    return (args) => (fn as (...a: unknown[]) => unknown)(...args);
  }

  /** Runs `M:F(Args)` and reports the outcome; never rejects. */
  async invoke(m: unknown, f: unknown, args: unknown, self: Pid): Promise<RpcOutcome> {
    // An argument list of small integers arrives as STRING_EXT: a Charlist.
    const list = Array.isArray(args) ? (args as unknown[]) : args instanceof Charlist ? args.codes() : undefined;
    if (!(m instanceof Atom) || !(f instanceof Atom) || list === undefined) {
      return { kind: 'error', reason: A_BADARG, stack: [tuple(atom('erpc'), atom('execute_call'), 4, [])] };
    }
    const fn = this.lookup(m.name, f.name, list.length, self);
    if (fn === undefined) return { kind: 'error', reason: A_UNDEF, stack: [tuple(m, f, list, [])] };
    try {
      return { kind: 'return', value: await fn(list) };
    } catch (err) {
      if (err instanceof ErlangThrow) return { kind: 'throw', value: err.value };
      if (err instanceof ErlangExit) return { kind: 'exit', reason: err.reason };
      return { kind: 'error', reason: err ?? atom('undefined'), stack: [tuple(m, f, list.length, [])] };
    }
  }
}

/** The exit reason of an `erpc:execute_call/4` process: `{ResRef, return, V}` and the like. */
export function erpcReason(resRef: unknown, o: RpcOutcome): Tuple {
  switch (o.kind) {
    case 'return':
      return tuple(resRef, atom('return'), o.value);
    case 'throw':
      return tuple(resRef, atom('throw'), o.value);
    case 'exit':
      return tuple(resRef, atom('exit'), o.reason);
    default:
      return tuple(resRef, atom('error'), o.reason, o.stack);
  }
}

/** The reply of a rex `{call, M, F, A, GL}`, as `rpc:call` of old returns it. */
export function rexReply(o: RpcOutcome): unknown {
  switch (o.kind) {
    case 'return':
      return o.value;
    case 'throw':
      return o.value;
    case 'exit':
      return tuple(atom('badrpc'), tuple(atom('EXIT'), o.reason));
    default:
      return tuple(atom('badrpc'), tuple(atom('EXIT'), tuple(o.reason, o.stack)));
  }
}

const A_GEN_CALL = atom('$gen_call');
const A_GEN_CAST = atom('$gen_cast');
const A_IS_AUTH = atom('is_auth');
const A_YES = atom('yes');

/** The `net_kernel` process: answers `{is_auth, Node}` calls with `yes`. */
export function netKernelHandler(): ProcessHandler {
  return {
    handleMessage(msg, proc) {
      if (!(msg instanceof Tuple) || msg.elements.length !== 3 || msg.elements[0] !== A_GEN_CALL) return;
      const from = msg.elements[1] as Tuple<[Pid, unknown]>;
      const req = msg.elements[2];
      try {
        if (req instanceof Tuple && req.elements[0] === A_IS_AUTH) proc.reply(from, A_YES);
        else proc.reply(from, tuple(atom('error'), atom('notsup')));
      } catch {
        // a malformed From: nothing to answer
      }
    },
  };
}

/** The `rex` process: rpc's server. */
export function rexHandler(registry: RpcRegistry): ProcessHandler {
  const A_FEATURES_REQUEST = atom('features_request');
  const A_CALL = atom('call');
  const A_BLOCK_CALL = atom('block_call');
  const A_CAST = atom('cast');
  const A_REX = atom('rex');
  return {
    handleMessage(msg, proc: Process) {
      if (!(msg instanceof Tuple)) return;
      const e = msg.elements;
      if (e.length === 2 && e[0] instanceof Pid && e[1] === A_FEATURES_REQUEST) {
        proc.send(e[0], tuple(atom('features_reply'), proc.node.name, [atom('erpc')]));
        return;
      }
      if (e.length === 2 && e[0] instanceof Pid && e[1] instanceof Tuple) {
        // ei_rpc (erl_call -a, C nodes): {Pid, {call, M, F, A, GL}} answered with {rex, Reply}.
        const r = e[1].elements;
        const to = e[0];
        const node = proc.node;
        if (r.length === 5 && (r[0] === A_CALL || r[0] === A_BLOCK_CALL)) {
          void registry.invoke(r[1], r[2], r[3], proc.self).then((o) => node.send(to, tuple(A_REX, rexReply(o))));
        }
        return;
      }
      if (e.length === 3 && e[0] === A_GEN_CALL && e[2] instanceof Tuple) {
        const from = e[1] as Tuple<[Pid, unknown]>;
        const r = e[2].elements;
        if (r.length === 5 && (r[0] === A_CALL || r[0] === A_BLOCK_CALL)) {
          const self = proc.self;
          const node = proc.node;
          void registry.invoke(r[1], r[2], r[3], self).then((o) => {
            try {
              node.reply(from, rexReply(o));
            } catch {
              // malformed From
            }
          });
        }
        return;
      }
      if (e.length === 2 && e[0] === A_GEN_CAST && e[1] instanceof Tuple) {
        const r = e[1].elements;
        if (r.length === 5 && r[0] === A_CAST) void registry.invoke(r[1], r[2], r[3], proc.self);
      }
    },
  };
}
