/**
 * Client sessions for exactly-once appends: each client numbers its requests
 * and says with each one the lowest number it still waits for (`ack`); a
 * request already applied is not applied again (a retried append after a
 * lost reply), even when a client has many in flight. Part of the replicated
 * state: it travels in snapshots.
 * @module
 */
import type { RequestId } from './core/types.js';

/** A client's session: requests below `floor` were acknowledged; `results` holds the applied ones at or above it. */
export interface SessionRecord<R> {
  readonly client: string;
  readonly floor: number;
  readonly results: readonly (readonly [number, R])[];
}

/** The session table a state machine keeps beside its own data. */
export class Sessions<R> {
  private readonly table = new Map<string, { floor: number; results: Map<number, R> }>();

  /** Non-null when `request` was applied already: its result if still kept, else undefined (acknowledged long ago). */
  applied(request: RequestId): { readonly result: R | undefined } | null {
    const s = this.table.get(request.client);
    if (s === undefined) return null;
    if (request.seq < s.floor) return { result: undefined };
    return s.results.has(request.seq) ? { result: s.results.get(request.seq) } : null;
  }

  /** Records that `request` was applied with `result`, and forgets results the client acknowledged. */
  record(request: RequestId, result: R): void {
    let s = this.table.get(request.client);
    if (s === undefined) this.table.set(request.client, (s = { floor: 0, results: new Map() }));
    s.results.set(request.seq, result);
    const ack = request.ack ?? request.seq;
    if (ack > s.floor) {
      s.floor = ack;
      for (const seq of s.results.keys()) if (seq < ack) s.results.delete(seq);
    }
  }

  toRecords(): SessionRecord<R>[] {
    return [...this.table].map(([client, s]) => ({ client, floor: s.floor, results: [...s.results] }));
  }

  static fromRecords<R>(records: readonly SessionRecord<R>[]): Sessions<R> {
    const t = new Sessions<R>();
    for (const r of records) t.table.set(r.client, { floor: r.floor, results: new Map(r.results.map(([k, v]) => [k, v])) });
    return t;
  }
}
