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
  type ServerBehavior,
  startServer,
  StartedServer,
  type StartOptions,
  stop,
  stopServer,
  type StopResult,
} from './server.js';
