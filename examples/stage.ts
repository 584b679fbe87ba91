// Run: npx tsc -p . && node build/examples/stage.js
/**
 * Example: a Stage pipeline across two Beamline nodes. Node `a` runs a
 * producer of numbers (registered as `numbers`); node `b` runs a
 * producer-consumer that squares them and two consumers that share its
 * output (the demand dispatcher gives each batch to the consumer with the
 * most pending demand). Back-pressure holds end to end: nothing is produced
 * before a consumer asks. Then the same producer is read as an async
 * iterable, and the pipeline is torn down.
 *
 * An Elixir node running GenStage can join the same way (see the README,
 * "Stage: GenStage interop"): `GenStage.sync_subscribe(consumer, to: {:numbers, :"a@127.0.0.1"})`.
 * @module
 */
import { noreply, stopServer } from '../src/index.js';
import { startNode } from '../src/distribution/index.js';
import {
  consumer,
  emit,
  producer,
  producerConsumer,
  stageStream,
  startStage,
  syncSubscribe,
  type StageBehavior,
} from '../src/stage/index.js';

const epmdPort = Number(process.env['ERL_EPMD_PORT'] ?? 4398);
const a = await startNode({ name: 'a@127.0.0.1', cookie: 'stagecookie', epmdPort });
const b = await startNode({ name: 'b@127.0.0.1', cookie: 'stagecookie', epmdPort });

const TOTAL = 10_000;

// A producer of 0, 1, 2, ... up to TOTAL: it only makes what was asked for.
const numbers: StageBehavior<number, number, never, number> = {
  init: (start) => producer(start),
  handleDemand(demand, next) {
    const end = Math.min(next + demand, TOTAL);
    const events: number[] = [];
    for (let i = next; i < end; i++) events.push(i);
    return emit(events, end);
  },
};

// A producer-consumer: numbers in, squares out (a string would not compile here).
const squares: StageBehavior<null, undefined, number, number> = {
  init: () => producerConsumer(null),
  handleEvents: (events, _from, s) => emit(events.map((n) => n * n), s),
};

// A consumer that counts what it got.
let received = 0;
let finish!: () => void;
const allDone = new Promise<void>((resolve) => (finish = resolve));
const printer = (name: string): StageBehavior<number, undefined, number, never> => ({
  init: () => consumer(0),
  handleEvents(events, _from, seen) {
    received += events.length;
    if (received === TOTAL) finish();
    return noreply(seen + events.length);
  },
  terminate: (_reason, seen) => console.log(`${name} handled ${seen} events`),
});

const prod = await startStage(a, numbers, 0, { name: 'numbers' });
const pc = await startStage(b, squares, undefined);
const c1 = await startStage(b, printer('c1'), undefined);
const c2 = await startStage(b, printer('c2'), undefined);

// Consumers first, then the producer-consumer subscribes upstream by {name, node} across the nodes.
await syncSubscribe(b, c1, { to: pc, maxDemand: 50 });
await syncSubscribe(b, c2, { to: pc, maxDemand: 50 });
await syncSubscribe(b, pc, { to: { name: 'numbers', node: 'a@127.0.0.1' }, maxDemand: 500, minDemand: 250 });
await allDone;
console.log(`the consumers on b received ${received} squares produced on a`);

// The same kind of producer, read with for await; break cancels the subscription.
const more = await startStage(a, numbers, 0);
const firstFive: number[] = [];
for await (const n of stageStream<number>(b, [{ to: more, maxDemand: 10 }])) {
  firstFive.push(n);
  if (firstFive.length === 5) break;
}
console.log('first five, streamed across nodes:', firstFive);

// Stopping the consumers runs their terminate (each prints its share); the rest stops with the nodes.
await stopServer(b, c1, 'shutdown');
await stopServer(b, c2, 'shutdown');
await b.stop();
await a.stop();
void prod;
