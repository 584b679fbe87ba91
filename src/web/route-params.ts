/**
 * Route parameters inferred from a path pattern at the type level:
 * `RouteParams<'/users/:id/files/*rest'>` is `{ id: string; rest: string }`,
 * following the pattern syntax of {@link Router} (`:name` one segment, a
 * final `*name` the rest of the path, a bare `*` named `rest`).
 * @module
 */

type Segments<P extends string> = P extends `${infer Head}/${infer Tail}` ? Head | Segments<Tail> : P;

type ParamName<S extends string> = S extends `:${infer N}` ? (N extends '' ? never : N) : S extends `*${infer N}` ? (N extends '' ? 'rest' : N) : never;

/**
 * The `params` of a request routed by `Path`. A path only known as `string`
 * gives `Record<string, string>`.
 *
 * @example
 * ```ts
 * type P = RouteParams<'/users/:id/files/*rest'>; // { id: string; rest: string }
 * ```
 */
export type RouteParams<Path extends string> = string extends Path ? Record<string, string> : { [K in ParamName<Segments<Path>>]: string };
