/**
 * Client sessions for exactly-once appends: each client numbers its requests,
 * and a request id already applied is not applied again (a retried append
 * after a lost reply). Part of the replicated state: it travels in snapshots.
 * @module
 */
import type { RequestId } from './core/types.js';

/** A client's last applied request and its result. */
export interface SessionRecord<R> {
  readonly client: string;
  readonly seq: number;
  readonly result: R;
}

/** The session table a state machine keeps beside its own data. */
export class Sessions<R> {
  private readonly last = new Map<string, { seq: number; result: R }>();

  /** The earlier result when `request` was already applied (at or before the client's last seq). */
  applied(request: RequestId): { readonly result: R | undefined } | null {
    const s = this.last.get(request.client);
    if (s === undefined || request.seq > s.seq) return null;
    return { result: request.seq === s.seq ? s.result : undefined };
  }

  record(request: RequestId, result: R): void {
    this.last.set(request.client, { seq: request.seq, result });
  }

  toRecords(): SessionRecord<R>[] {
    return [...this.last].map(([client, s]) => ({ client, seq: s.seq, result: s.result }));
  }

  static fromRecords<R>(records: readonly SessionRecord<R>[]): Sessions<R> {
    const s = new Sessions<R>();
    for (const r of records) s.last.set(r.client, { seq: r.seq, result: r.result });
    return s;
  }
}
