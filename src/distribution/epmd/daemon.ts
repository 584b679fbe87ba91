/**
 * The embedded EPMD as a process of its own, what `epmd -daemon` is to `erl`:
 * {@link ensureEpmd} starts this script detached, so the name server
 * outlives the node that started it, and Erlang nodes registered there stay
 * reachable while that node restarts (OTP nodes do not re-register).
 *
 * `node daemon.js <port> <host> <idleExitMs>`: listens, writes `READY` (or
 * `ERROR <code>`) on stdout and closes it. It exits on KILL_REQ
 * (`epmd -kill`, {@link killEpmd}) when no node is registered, and by itself
 * once no node has been registered for `idleExitMs` (0: never), since
 * nothing then depends on it and the next node to start spawns a new one.
 * @module
 */
import { EpmdServer } from './server.js';

const [portArg, hostArg, idleArg] = process.argv.slice(2);
const port = Number(portArg);
const host = hostArg ?? '127.0.0.1';
const idleExitMs = Number(idleArg ?? 0);
process.title = `beamline-epmd ${host}:${port}`;

function report(line: string): void {
  // The parent may be gone already: a closed pipe must not kill the daemon.
  process.stdout.on('error', () => {});
  process.stdout.end(`${line}\n`);
}

let idleTimer: NodeJS.Timeout | undefined;
let server: EpmdServer | undefined;

function armIdle(): void {
  if (idleExitMs <= 0 || server === undefined || server.nodes().length > 0) return;
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (server !== undefined && server.nodes().length === 0) void server.close().then(() => process.exit(0));
  }, idleExitMs);
}

try {
  server = await EpmdServer.start({ port, host, onKill: () => void server?.close().then(() => process.exit(0)) });
} catch (e) {
  report(`ERROR ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  process.exit(1);
}
server.onRegister(() => {
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  idleTimer = undefined;
});
server.onUnregister(() => armIdle());
process.on('SIGHUP', () => {});
report(`READY ${server.port}`);
armIdle();
