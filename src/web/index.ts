/**
 * Web: an HTTP(S) gateway whose routes dispatch requests to pools of
 * handler processes (ergo's gen.Web).
 *
 * @example
 * ```ts
 * const web = await startWeb(node, { routes: [route('GET', '/hello/:name', hello)] });
 * await fetch(`${web.url}/hello/joe`);
 * ```
 * @module
 */
export { route, type RouteOptions, startWeb, StartedWeb, type WebRoute, type WebSpec, type WebStartOptions } from './gateway.js';
export { respond, wait, type WebHandler, type WebResult } from './handler.js';
export { WebRequest } from './request.js';
export { json, stream, text, type WebBody, type WebResponse } from './response.js';
export { type Method, Router, type RouteMatch } from './router.js';
export type { RouteParams } from './route-params.js';
export type { IssueJson, StandardSchemaIssue, StandardSchemaOutput, StandardSchemaPathSegment, StandardSchemaResult, StandardSchemaV1 } from './standard-schema.js';
export { webChild } from './child.js';
