/**
 * Observer sources: where the views of one node come from. The local node,
 * another Beamline node (through distribution) and an Erlang node (through
 * rpc) each implement this.
 * @module
 */
import type { ApplicationView, DistributionView, OverviewView, ProcessPage, ProcessQuery, ProcessView } from './views.js';

/** The views and actions of one node. Pids are `<0.X.Y>` strings relative to that node. */
export interface ObserverSource {
  readonly node: string;
  overview(): Promise<OverviewView>;
  processes(query: ProcessQuery): Promise<ProcessPage>;
  /** Undefined when the process is not alive. */
  process(pid: string): Promise<ProcessView | undefined>;
  /** The state of a Server as text (`getServerState`, or `sys:get_state` for Erlang). */
  serverState(pid: string): Promise<string>;
  applications(): Promise<ApplicationView[]>;
  distribution(): Promise<DistributionView>;
  /** Sends an exit signal; false when the process is not alive. */
  kill(pid: string, reason: string): Promise<boolean>;
  /** Traces the process's messages for `seconds`; false when the process is not alive. */
  trace(pid: string, seconds: number): Promise<boolean>;
  /** Stops a running application; false when it is not running. */
  stopApplication(name: string): Promise<boolean>;
}
