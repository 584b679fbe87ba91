/**
 * Consumer batching (GenStage.Utils.split_batches): events from one
 * subscription are handed to `handleEvents` in batches of at most
 * `max - min`, and demand is asked again each time the pending demand falls
 * to `min` or below. Events beyond what was asked are processed and logged,
 * never a crash.
 * @module
 */

/** One batch and the demand to ask once it is handled. */
export type Batch<E> = readonly [events: E[], ask: number];

/** Result of {@link splitBatches}: the batches, the new pending demand and the count of excess events. */
export interface Split<E> {
  readonly batches: Batch<E>[];
  readonly demand: number;
  readonly excess: number;
}

/** Splits `events` for a subscription with pending `demand` and bounds `min`/`max`. */
export function splitBatches<E>(events: E[], min: number, max: number, demand: number): Split<E> {
  const n = events.length;
  const limit = max - min;
  let oldDemand = demand;
  let newDemand = demand;
  let excess = 0;
  const batches: Batch<E>[] = [];
  for (let i = 0; i < n; ) {
    const size = Math.min(limit, n - i);
    const batch = i === 0 && size === n ? events : events.slice(i, i + size);
    i += size;
    let counted = size;
    const diff = oldDemand - size;
    if (diff < 0) {
      excess += -diff;
      counted = oldDemand;
      oldDemand = 0;
    } else {
      oldDemand = diff;
    }
    const left = newDemand - counted;
    let ask = 0;
    if (left <= min) {
      newDemand = max;
      ask = max - left;
    } else {
      newDemand = left;
    }
    batches.push([batch, ask]);
  }
  return { batches, demand: newDemand, excess };
}
