/**
 * Result constructors of stage callbacks: `init` returns {@link producer},
 * {@link consumer} or {@link producerConsumer}; the other callbacks return
 * {@link emit} (events to dispatch) or Server's `noreply`, `reply`, `stop`;
 * `handleSubscribe` returns {@link automatic} or {@link manual}.
 * @module
 */
import type { ConsumerOptions, ProducerConsumerOptions, ProducerOptions, StageInit, StageNoReply, StageReply } from './types.js';

/** `init`: this stage is a producer. */
export function producer<S, Out = never>(state: S, options: ProducerOptions<Out> = {}): StageInit<S, Out> {
  return { type: 'producer', state, options };
}
/** `init`: this stage is a consumer. */
export function consumer<S>(state: S, options: ConsumerOptions = {}): StageInit<S, never> {
  return { type: 'consumer', state, options };
}
/** `init`: this stage is a producer-consumer. */
export function producerConsumer<S, Out = never>(state: S, options: ProducerConsumerOptions<Out> = {}): StageInit<S, Out> {
  return { type: 'producer_consumer', state, options };
}
/** Continue with `state` and dispatch `events` to the consumers (GenStage's `{:noreply, events, state}`). */
export function emit<Out, S>(events: readonly Out[], state: S): StageNoReply<Out, S> {
  return { type: 'noreply', state, events };
}
/** Reply to the current call, then dispatch `events` (GenStage's `{:reply, reply, events, state}`). */
export function replyEmit<R, Out, S>(reply: R, events: readonly Out[], state: S): StageReply<R, Out, S> {
  return { type: 'reply', reply, state, events };
}
/** `handleSubscribe`: demand is sent by the stage (GenStage's `{:automatic, state}`). */
export function automatic<S>(state: S): { readonly type: 'automatic'; readonly state: S } {
  return { type: 'automatic', state };
}
/** `handleSubscribe`: the consumer asks itself, with {@link ask} (GenStage's `{:manual, state}`). */
export function manual<S>(state: S): { readonly type: 'manual'; readonly state: S } {
  return { type: 'manual', state };
}
