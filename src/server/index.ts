/**
 * The Server behavior (gen_server). See {@link startServer} and {@link ServerBehavior}.
 * @module
 */
export {
  type CallResult,
  error,
  getServerState,
  ignore,
  type InitResult,
  InitFailedError,
  InitIgnoredError,
  InitTimeoutError,
  type NextOptions,
  noreply,
  type NoReplyResult,
  ok,
  reply,
  type ReplyResult,
  type ServerBehavior,
  startServer,
  StartedServer,
  type StartOptions,
  stop,
  stopAndReply,
  type StopAndReplyResult,
  stopServer,
  type StopResult,
} from './server.js';
