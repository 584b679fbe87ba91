/**
 * How a JavaScript `Error` travels as an Erlang term. The runtime uses thrown
 * errors as exit reasons, and exit reasons cross the wire.
 *
 * An Error encodes as an Elixir-exception-like struct:
 *
 * ```elixir
 * %{__struct__: :"Elixir.Beamline.Error", __exception__: true,
 *   message: "boom", name: "TypeError", stack: "TypeError: boom\n    at ..."}
 * ```
 *
 * `stack` is `nil` when the error has none; `cause` is present when the error
 * has one; other own enumerable properties (such as Node's `code`) are added
 * as extra keys. Decoding the struct gives an Error again: one of the
 * standard classes when `name` names one (`TypeError`, `RangeError`, ...),
 * otherwise an `Error` whose `name` is set, with the same message, stack,
 * cause and extra properties.
 * @module
 */
import { Atom } from '../terms/atom.js';

/** The `__struct__` of an encoded Error. */
export const ERROR_STRUCT = Atom.of('Elixir.Beamline.Error');

const standard: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

const reserved = new Set(['__struct__', '__exception__', 'message', 'name', 'stack', 'cause']);

/** The struct fields of `err` (with `__struct__` first). */
export function errorToFields(err: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    __struct__: ERROR_STRUCT,
    __exception__: true,
    message: err.message,
    name: err.name,
    stack: typeof err.stack === 'string' ? err.stack : null,
  };
  if ('cause' in err) fields['cause'] = err.cause;
  for (const k of Object.keys(err)) {
    if (!reserved.has(k)) fields[k] = (err as unknown as Record<string, unknown>)[k];
  }
  return fields;
}

/** Rebuilds an Error from decoded struct fields. */
export function fieldsToError(fields: Record<string, unknown>): Error {
  const message = typeof fields['message'] === 'string' ? fields['message'] : String(fields['message']);
  const name = typeof fields['name'] === 'string' ? fields['name'] : 'Error';
  const Ctor = Object.hasOwn(standard, name) ? (standard[name] as ErrorConstructor) : Error;
  const err = 'cause' in fields ? new Ctor(message, { cause: fields['cause'] }) : new Ctor(message);
  if (err.name !== name) Object.defineProperty(err, 'name', { value: name, writable: true, configurable: true, enumerable: false });
  const stack = fields['stack'];
  if (typeof stack === 'string') err.stack = stack;
  else delete err.stack;
  for (const k of Object.keys(fields)) {
    if (!reserved.has(k)) Object.defineProperty(err, k, { value: fields[k], writable: true, configurable: true, enumerable: true });
  }
  return err;
}
