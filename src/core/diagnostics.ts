/**
 * Diagnostics: what the runtime publishes on `node:diagnostics_channel`, for
 * tracing and metrics without a dependency. Nothing is built or published
 * while a channel has no subscriber.
 *
 * | Channel | Message |
 * |---|---|
 * | `beamline:process:spawn` | {@link SpawnEvent} |
 * | `beamline:process:exit` | {@link ExitEvent} |
 * | `beamline:supervisor:restart` | {@link RestartEvent} |
 * | `beamline:call:start` | {@link CallEvent} (no `reply`/`error` yet) |
 * | `beamline:call:end` | the same {@link CallEvent} object, with `reply` or `error` and `durationMs` |
 * | `beamline:connection:up` | {@link ConnectionEvent} |
 * | `beamline:connection:down` | {@link ConnectionEvent} with `reason` |
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe('beamline:process:exit', (e) => console.log('exit', (e as ExitEvent).pid, (e as ExitEvent).reason));
 * ```
 * @module
 */
import { channel } from 'node:diagnostics_channel';
import type { Atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import type { Address } from './protocol.js';
import type { ExitReason } from './reasons.js';

/** The names of the channels, to subscribe with `diagnostics_channel.subscribe(name, fn)`. */
export const diagnosticChannels = {
  spawn: 'beamline:process:spawn',
  exit: 'beamline:process:exit',
  restart: 'beamline:supervisor:restart',
  callStart: 'beamline:call:start',
  callEnd: 'beamline:call:end',
  connectionUp: 'beamline:connection:up',
  connectionDown: 'beamline:connection:down',
} as const;

/** A process was spawned. */
export interface SpawnEvent {
  readonly node: Atom;
  readonly pid: Pid;
  /** The spawning process; undefined when spawned from outside any process. */
  readonly parent: Pid | undefined;
  /** The registered name it was spawned with. */
  readonly name: Atom | undefined;
  /** Its behavior (`server`, `supervisor`...) when it has one. */
  readonly behavior: string | undefined;
}

/** A process exited with `reason`. */
export interface ExitEvent {
  readonly node: Atom;
  readonly pid: Pid;
  readonly name: Atom | undefined;
  readonly behavior: string | undefined;
  readonly reason: ExitReason;
}

/** A supervisor restarts child `childId`, whose process ended with `reason`. */
export interface RestartEvent {
  readonly node: Atom;
  readonly supervisor: Pid;
  /** The supervisor's registered name. */
  readonly name: Atom | undefined;
  readonly childId: string;
  /** The pid that ended. */
  readonly child: Pid | undefined;
  readonly reason: ExitReason;
}

/** A call (`$gen_call`): published at start, and the same object again at its end. */
export interface CallEvent {
  readonly node: Atom;
  /** The calling process; the node's `<0.0.0>` for a call from outside any process. */
  readonly caller: Pid;
  readonly target: Address;
  readonly request: unknown;
  /** At the end: the reply, when the call succeeded. */
  reply?: unknown;
  /** At the end: why the call failed (CallExitError, CallTimeoutError...). */
  error?: Error;
  /** At the end: how long the call took, in ms. */
  durationMs?: number;
}

/** A connection to another node came up or went down. */
export interface ConnectionEvent {
  readonly node: Atom;
  readonly peer: Atom;
  /** Why it went down (`noconnection`...). */
  readonly reason?: ExitReason;
  /** The error behind a down: the EPMD, socket or handshake error, when known. */
  readonly cause?: Error;
}

/** @internal The channels, as the runtime publishes on them. */
export const diagnostics = {
  spawn: channel(diagnosticChannels.spawn),
  exit: channel(diagnosticChannels.exit),
  restart: channel(diagnosticChannels.restart),
  callStart: channel(diagnosticChannels.callStart),
  callEnd: channel(diagnosticChannels.callEnd),
  connectionUp: channel(diagnosticChannels.connectionUp),
  connectionDown: channel(diagnosticChannels.connectionDown),
};
