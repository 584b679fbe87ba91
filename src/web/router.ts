/**
 * Routing for the Web behavior: patterns such as `/users/:id/files/*rest`
 * matched against a request's method and path.
 * @module
 */

/** An HTTP method, or `'*'` for any. */
export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS' | '*' | (string & {});

type Segment = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'param'; readonly name: string } | { readonly kind: 'rest'; readonly name: string };

/** A compiled route pattern. */
export interface CompiledRoute<T> {
  readonly method: string;
  readonly pattern: string;
  readonly segments: readonly Segment[];
  readonly target: T;
}

/** The outcome of {@link Router.match}. */
export type RouteMatch<T> =
  | { readonly type: 'found'; readonly target: T; readonly params: Record<string, string>; readonly pattern: string }
  | { readonly type: 'not_found' }
  | { readonly type: 'method_not_allowed'; readonly allow: readonly string[] };

function compile(pattern: string): Segment[] {
  if (!pattern.startsWith('/')) throw new TypeError(`route pattern must start with '/': ${pattern}`);
  const parts = pattern.split('/').slice(1);
  return parts.map((p, i) => {
    if (p.startsWith(':') && p.length > 1) return { kind: 'param', name: p.slice(1) };
    if (p.startsWith('*')) {
      if (i !== parts.length - 1) throw new TypeError(`'*' must be the last segment: ${pattern}`);
      return { kind: 'rest', name: p.length > 1 ? p.slice(1) : 'rest' };
    }
    return { kind: 'literal', text: p };
  });
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/**
 * Matches `path` segment by segment, in place: literal segments are compared
 * where they stand and only parameters are cut out (as `path.split('/')`
 * would give them, the text before the first '/' set aside).
 */
function matchPath(segments: readonly Segment[], path: string): Record<string, string> | undefined {
  let params: Record<string, string> | undefined;
  const len = path.length;
  let pos = path.indexOf('/') + 1;
  if (pos === 0) return undefined;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as Segment;
    if (seg.kind === 'rest') {
      const rest = decode(pos <= len ? path.slice(pos) : '');
      if (rest === undefined) return undefined;
      (params ??= {})[seg.name] = rest;
      return params;
    }
    if (pos > len) return undefined; // the path has fewer segments
    let end = path.indexOf('/', pos);
    if (end < 0) end = len;
    if (seg.kind === 'literal') {
      if (end - pos !== seg.text.length || !path.startsWith(seg.text, pos)) return undefined;
    } else {
      const part = path.slice(pos, end);
      // Most parameters are plain text: decode only what has escapes.
      const v = part.includes('%') ? decode(part) : part;
      if (v === undefined || v.length === 0) return undefined;
      (params ??= {})[seg.name] = v;
    }
    pos = end + 1;
  }
  return pos === len + 1 ? (params ?? {}) : undefined; // and no segment left over
}

/**
 * Routes in the order they were added: the first whose method and pattern
 * match wins. `:name` matches one non-empty segment, `*name` the rest of
 * the path (last segment only). A path that matches with another method
 * gives `method_not_allowed` (HTTP 405) with the allowed methods.
 *
 * @example
 * ```ts
 * const r = new Router<string>();
 * r.add('GET', '/users/:id', 'user');
 * r.match('GET', '/users/42'); // { type: 'found', target: 'user', params: { id: '42' }, ... }
 * ```
 */
export class Router<T> {
  private readonly routes: CompiledRoute<T>[] = [];

  /** Adds a route; throws a TypeError for a malformed pattern. */
  add(method: Method, pattern: string, target: T): void {
    const segments = compile(pattern);
    this.routes.push({ method: method.toUpperCase(), pattern, segments, target });
  }

  /** Finds the route for `method` and `path` (the path without its query string). */
  match(method: string, path: string): RouteMatch<T> {
    let allow: string[] | undefined;
    for (const r of this.routes) {
      const params = matchPath(r.segments, path);
      if (params === undefined) continue;
      if (r.method === '*' || r.method === method || (method === 'HEAD' && r.method === 'GET'))
        return { type: 'found', target: r.target, params, pattern: r.pattern };
      (allow ??= []).push(r.method);
    }
    return allow !== undefined ? { type: 'method_not_allowed', allow } : { type: 'not_found' };
  }

  /** The targets of all routes, in order. */
  targets(): T[] {
    return this.routes.map((r) => r.target);
  }
}
