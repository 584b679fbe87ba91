// Sessions: exactly-once bookkeeping with many requests in flight per client.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Sessions } from './sessions.js';

test('sessions: a request is applied once; out-of-order seqs above the ack floor still apply', () => {
  const s = new Sessions<string>();
  assert.equal(s.applied({ client: 'c', seq: 1 }), null);
  s.record({ client: 'c', seq: 2, ack: 1 }, 'two');
  assert.deepEqual(s.applied({ client: 'c', seq: 2, ack: 1 }), { result: 'two' });
  // seq 1 was still in flight (ack 1): it was not applied yet and must apply.
  assert.equal(s.applied({ client: 'c', seq: 1, ack: 1 }), null);
  s.record({ client: 'c', seq: 1, ack: 1 }, 'one');
  s.record({ client: 'c', seq: 3, ack: 3 }, 'three');
  // Acknowledged below 3: forgotten, but known to be done.
  assert.deepEqual(s.applied({ client: 'c', seq: 1 }), { result: undefined });
  assert.deepEqual(s.applied({ client: 'c', seq: 3 }), { result: 'three' });
  assert.equal(s.applied({ client: 'other', seq: 3 }), null);
});

test('sessions: records round-trip (they travel in snapshots)', () => {
  const s = new Sessions<number>();
  s.record({ client: 'a', seq: 5, ack: 4 }, 50);
  s.record({ client: 'b', seq: 1 }, 10);
  const copy = Sessions.fromRecords(JSON.parse(JSON.stringify(s.toRecords())) as ReturnType<typeof s.toRecords>);
  assert.deepEqual(copy.applied({ client: 'a', seq: 5 }), { result: 50 });
  assert.equal(copy.applied({ client: 'a', seq: 4 }), null);
  assert.deepEqual(copy.applied({ client: 'b', seq: 1 }), { result: 10 });
  assert.deepEqual(copy.toRecords(), s.toRecords());
});
