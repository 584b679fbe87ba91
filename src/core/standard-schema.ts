/**
 * Standard Schema (https://standardschema.dev), version 1: the `~standard`
 * interface that Zod, Valibot, ArkType and others implement. Types only: the
 * library has no runtime dependency on any schema library; it calls
 * `schema['~standard'].validate(value)` and reads the issues.
 * @module
 */

/** A path segment of a {@link StandardSchemaIssue} as an object. */
export interface StandardSchemaPathSegment {
  readonly key: PropertyKey;
}

/** One validation problem: a message and where in the value it is. */
export interface StandardSchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | StandardSchemaPathSegment> | undefined;
}

/** What `validate` returns: the (possibly transformed) value, or the issues. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaIssue> };

/**
 * A schema that validates `unknown` into `Output` (Standard Schema v1).
 *
 * @example
 * ```ts
 * // any Standard Schema library's schema fits, or one by hand:
 * const name: StandardSchemaV1<unknown, { name: string }> = {
 *   '~standard': {
 *     version: 1,
 *     vendor: 'example',
 *     validate: (v) =>
 *       typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string'
 *         ? { value: v as { name: string } }
 *         : { issues: [{ message: 'expected a string', path: ['name'] }] },
 *   },
 * };
 * ```
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The type a schema validates into. */
export type StandardSchemaOutput<S extends StandardSchemaV1> = S extends StandardSchemaV1<unknown, infer O> ? O : never;

/** An issue as JSON: its message and its path as plain keys. */
export interface IssueJson {
  readonly message: string;
  readonly path: ReadonlyArray<string | number>;
}

/** @internal The issues of a failed validation as JSON (symbol keys as their description). */
export function issuesJson(issues: ReadonlyArray<StandardSchemaIssue>): IssueJson[] {
  return issues.map((i) => ({
    message: String(i.message),
    path: (i.path ?? []).map((p) => {
      const key = typeof p === 'object' && p !== null ? p.key : p;
      return typeof key === 'symbol' ? (key.description ?? key.toString()) : typeof key === 'number' ? key : String(key);
    }),
  }));
}
