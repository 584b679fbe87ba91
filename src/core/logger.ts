/**
 * Logger: the structured logger a node reports through. Object first, then a
 * message (`logger.error({ err, reason }, 'server crashed')`), levels `trace`
 * to `fatal`, and `child(bindings)` for a logger that adds fields to every
 * line. pino satisfies it as it is; so does `console` (without `child` and
 * `fatal`, which Beamline fills in). The default, {@link lineLogger}, prints
 * one readable line per event on stderr.
 *
 * Every process logs through a child with its bindings: `node`, `pid`, and
 * when known `name` (its registered name) and `behavior` (`server`,
 * `supervisor`...). See `Process.logger`.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const node = new Node({ name: 'a@127.0.0.1', logger: pino() });
 * // or: new Node({ logger: console }), new Node({ logger: lineLogger({ level: 'debug' }) })
 * ```
 * @module
 */
import { formatReason } from './reasons.js';

/** Log levels, from the most verbose to the most severe (pino's names). */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** One level's method: fields first, then the message. */
export type LogMethod = (fields: object, message?: string) => void;

/** Fields a child logger adds to each of its lines. Beamline binds `node`, `pid`, `name`, `behavior`. */
export interface LogBindings {
  readonly node?: string;
  readonly pid?: string;
  readonly name?: string;
  readonly behavior?: string;
  readonly [field: string]: unknown;
}

/**
 * A structured logger: what a node accepts. pino's `Logger` and `console`
 * satisfy it. `trace`, `fatal` and `child` are optional: without them
 * Beamline uses `debug`, `error`, and merges the bindings into each line.
 */
export interface Logger {
  trace?: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  fatal?: LogMethod;
  child?(bindings: LogBindings): Logger;
}

/**
 * The logger option of the previous releases: a function of a level and a
 * line. Still accepted (`logger: () => {}` silences a node); `warn` arrives as
 * `'warning'`, `fatal` as `'error'`, and `debug`/`trace` are not passed.
 */
export type LogFunction = (level: 'error' | 'warning' | 'info', message: string) => void;

/** A complete logger (every level and `child`): what Beamline builds from the option. */
export interface NodeLogger {
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  fatal: LogMethod;
  child(bindings: LogBindings): NodeLogger;
}

const LEVELS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Options of {@link lineLogger}. */
export interface LineLoggerOptions {
  /** The least severe level printed; default `'info'`. */
  readonly level?: LogLevel;
  /** Where lines go; default `process.stderr`. */
  readonly write?: (line: string) => void;
}

/**
 * The default logger: one line per event, `[beamline LEVEL] message
 * (field=value ...)`, with an error shown by its message and where it was
 * thrown.
 *
 * @example
 * ```ts
 * const node = new Node({ logger: lineLogger({ level: 'debug' }) });
 * // [beamline error] server crashed (node=a@127.0.0.1 pid=<0.7.0> behavior=server err="Error: boom at kv.ts:12:9")
 * ```
 */
export function lineLogger(options: LineLoggerOptions = {}): NodeLogger {
  const min = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  return new LineLogger(min, write, {});
}

class LineLogger implements NodeLogger {
  readonly trace: LogMethod;
  readonly debug: LogMethod;
  readonly info: LogMethod;
  readonly warn: LogMethod;
  readonly error: LogMethod;
  readonly fatal: LogMethod;
  constructor(
    private readonly min: number,
    private readonly write: (line: string) => void,
    private readonly bindings: LogBindings,
  ) {
    const at = (level: LogLevel): LogMethod => (LEVELS[level] < min ? noop : (fields, message) => this.line(level, fields, message));
    this.trace = at('trace');
    this.debug = at('debug');
    this.info = at('info');
    this.warn = at('warn');
    this.error = at('error');
    this.fatal = at('fatal');
  }
  child(bindings: LogBindings): NodeLogger {
    return new LineLogger(this.min, this.write, { ...this.bindings, ...bindings });
  }
  private line(level: LogLevel, fields: object, message: string | undefined): void {
    const parts: string[] = [];
    for (const [k, v] of Object.entries({ ...this.bindings, ...fields })) if (v !== undefined) parts.push(`${k}=${fieldText(v)}`);
    const text = message ?? '';
    this.write(`[beamline ${level}] ${text}${parts.length === 0 ? '' : text === '' ? parts.join(' ') : ` (${parts.join(' ')})`}`);
  }
}

function noop(): void {}

/** A field as one token: plain words stay bare, the rest is quoted; an Error is its message and where it was thrown. */
function fieldText(v: unknown): string {
  let s: string;
  if (v instanceof Error) {
    const where = /\n\s+at (?:.*\()?([^()\s]+)\)?/.exec(v.stack ?? '')?.[1];
    s = `${v.name}: ${v.message}${where === undefined ? '' : ` at ${where}`}`;
  } else s = typeof v === 'string' ? v : formatReason(v);
  return /^[\w.@<>:/-]+$/.test(s) ? s : JSON.stringify(s);
}

/** Turns the `logger` option (a {@link Logger}, a {@link LogFunction} or nothing) into a complete logger. */
export function toNodeLogger(option: Logger | LogFunction | undefined): NodeLogger {
  if (option === undefined) return lineLogger();
  if (typeof option === 'function') return fromFunction(option, {});
  return complete(option);
}

function complete(logger: Logger): NodeLogger {
  // A logger that is already complete (pino, lineLogger) is used as it is: its own child() keeps its bindings.
  if (typeof logger.trace === 'function' && typeof logger.fatal === 'function' && typeof logger.child === 'function') return logger as NodeLogger;
  return new Completed(logger, {});
}

/** A partial logger (console...) made complete: trace as debug, fatal as error, bindings merged into each call. */
class Completed implements NodeLogger {
  constructor(
    private readonly inner: Logger,
    private readonly bindings: LogBindings,
  ) {}
  private fields(fields: object): object {
    return Object.keys(this.bindings).length === 0 ? fields : { ...this.bindings, ...fields };
  }
  trace: LogMethod = (f, m) => this.call(this.inner.trace ?? this.inner.debug, f, m);
  debug: LogMethod = (f, m) => this.call(this.inner.debug, f, m);
  info: LogMethod = (f, m) => this.call(this.inner.info, f, m);
  warn: LogMethod = (f, m) => this.call(this.inner.warn, f, m);
  error: LogMethod = (f, m) => this.call(this.inner.error, f, m);
  fatal: LogMethod = (f, m) => this.call(this.inner.fatal ?? this.inner.error, f, m);
  private call(method: LogMethod, fields: object, message: string | undefined): void {
    const f = this.fields(fields);
    if (message === undefined) method.call(this.inner, f);
    else method.call(this.inner, f, message);
  }
  child(bindings: LogBindings): NodeLogger {
    if (typeof this.inner.child === 'function') return complete(this.inner.child(bindings));
    return new Completed(this.inner, { ...this.bindings, ...bindings });
  }
}

/** The old `(level, message)` function: fields are appended to the message as `key=value`. */
function fromFunction(fn: LogFunction, bindings: LogBindings): NodeLogger {
  const text = (fields: object, message: string | undefined): string => {
    const parts: string[] = [];
    for (const [k, v] of Object.entries({ ...bindings, ...fields })) if (v !== undefined) parts.push(`${k}=${fieldText(v)}`);
    return parts.length === 0 ? (message ?? '') : `${message ?? ''} (${parts.join(' ')})`;
  };
  return {
    trace: noop,
    debug: noop,
    info: (f, m) => fn('info', text(f, m)),
    warn: (f, m) => fn('warning', text(f, m)),
    error: (f, m) => fn('error', text(f, m)),
    fatal: (f, m) => fn('error', text(f, m)),
    child: (b) => fromFunction(fn, { ...bindings, ...b }),
  };
}
