/**
 * EPMD client: register a node (ALIVE2_REQ, connection kept open for the
 * registration's lifetime), look a node up (PORT_PLEASE2_REQ) and list
 * nodes (NAMES_REQ). Works against a real `epmd` and the embedded
 * {@link EpmdServer}. Failures reject with a typed {@link DistError}.
 * @module
 */
import { connect, type Socket } from 'node:net';
import { ByteReader } from '../bytes.js';
import { DistError } from '../errors.js';
import {
  DEFAULT_EPMD_PORT,
  EPMD,
  NODE_TYPE,
  decodeNamesResp,
  decodePort2Resp,
  encodeAlive2Req,
  encodeNamesReq,
  encodePortPlease2Req,
  type EpmdNames,
  type EpmdNodeInfo,
} from './protocol.js';

/** Where EPMD is. */
export interface EpmdAddress {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default `ERL_EPMD_PORT` from the environment, else 4369. */
  port?: number;
  /** Milliseconds to connect and get an answer; default 5000. */
  timeout?: number;
}

/** Options of {@link registerNode}. */
export interface RegisterOptions extends EpmdAddress {
  /** The name part of the node name (before `@`). */
  name: string;
  /** The node's distribution listen port. */
  nodePort: number;
  /** Default true: register as a hidden node (72), as OTP does for `-hidden`. False registers as normal (77). */
  hidden?: boolean;
  /** Default 6. */
  highestVersion?: number;
  /** Default 5, as OTP 25 registers. */
  lowestVersion?: number;
  /** Extra bytes; default empty. */
  extra?: Uint8Array;
}

/** A live EPMD registration. Closing it (or losing the EPMD connection) unregisters the node. */
export interface EpmdRegistration {
  /** The creation EPMD issued (32-bit with ALIVE2_X_RESP, 16-bit with the old ALIVE2_RESP). */
  readonly creation: number;
  /** True until the registration connection closes. */
  readonly active: boolean;
  /** Resolves when the registration ends, for whatever reason. */
  readonly closed: Promise<void>;
  /** Unregisters (closes the connection to EPMD). */
  close(): Promise<void>;
}

/** The EPMD port from `ERL_EPMD_PORT`, else 4369. */
export function defaultEpmdPort(): number {
  const env = process.env['ERL_EPMD_PORT'];
  const n = env === undefined ? NaN : Number(env);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : DEFAULT_EPMD_PORT;
}

function open(addr: EpmdAddress): { socket: Socket; ready: Promise<void>; timeout: number } {
  const host = addr.host ?? '127.0.0.1';
  const port = addr.port ?? defaultEpmdPort();
  const timeout = addr.timeout ?? 5000;
  const socket = connect({ host, port });
  const ready = new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (err) => reject(new DistError('epmd_unreachable', `EPMD at ${host}:${port}: ${err.message}`, { cause: err })));
  });
  return { socket, ready, timeout };
}

/**
 * Sends `packet` and feeds everything received to `parse` until it returns a
 * value; `ended` is true once EPMD closed the connection. Bounded by
 * `maxBytes` and the timeout.
 */
function exchange<T>(
  addr: EpmdAddress,
  packet: Buffer,
  parse: (buf: Buffer, ended: boolean) => T | undefined,
  maxBytes: number,
  keepOpen = false,
): Promise<{ value: T; socket: Socket }> {
  const { socket, ready, timeout } = open(addr);
  return new Promise<{ value: T; socket: Socket }>((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (err: DistError | undefined, value?: T): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err !== undefined) {
        socket.destroy();
        reject(err);
      } else {
        if (!keepOpen) socket.destroy();
        resolve({ value: value as T, socket });
      }
    };
    const attempt = (ended: boolean): void => {
      try {
        const v = parse(buf, ended);
        if (v !== undefined) finish(undefined, v);
        else if (ended) finish(new DistError('epmd_protocol', 'EPMD closed the connection before a complete answer'));
      } catch (e) {
        finish(e instanceof DistError ? e : new DistError('epmd_protocol', String(e), { cause: e }));
      }
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > maxBytes) finish(new DistError('epmd_protocol', `EPMD answer longer than ${maxBytes} bytes`));
      else attempt(false);
    };
    const onClose = (): void => attempt(true);
    const timer = setTimeout(() => finish(new DistError('epmd_timeout', `no EPMD answer within ${timeout} ms`)), timeout);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => {}); // reported through 'close' or the ready promise
    ready.then(
      () => socket.write(packet),
      (err: DistError) => finish(err),
    );
  });
}

/**
 * Registers a node with EPMD (ALIVE2_REQ) and keeps the connection open:
 * the node stays registered until {@link EpmdRegistration.close}. Accepts
 * ALIVE2_X_RESP (32-bit creation) and the old ALIVE2_RESP (16-bit).
 * Rejects with `epmd_name_taken` when EPMD refuses the name.
 */
export async function registerNode(options: RegisterOptions): Promise<EpmdRegistration> {
  const info: EpmdNodeInfo = {
    name: options.name,
    port: options.nodePort,
    nodeType: options.hidden === false ? NODE_TYPE.NORMAL : NODE_TYPE.HIDDEN,
    protocol: 0,
    highestVersion: options.highestVersion ?? 6,
    lowestVersion: options.lowestVersion ?? 5,
    extra: options.extra ?? new Uint8Array(0),
  };
  const { value: creation, socket } = await exchange(
    options,
    encodeAlive2Req(info),
    (buf) => {
      if (buf.length < 2) return undefined;
      const tag = buf[0];
      const result = buf[1] as number;
      if (tag !== EPMD.ALIVE2_X_RESP && tag !== EPMD.ALIVE2_RESP) {
        throw new DistError('epmd_protocol', `expected ALIVE2_X_RESP or ALIVE2_RESP, got tag ${String(tag)}`);
      }
      if (result !== 0) throw new DistError('epmd_name_taken', `EPMD refused to register ${options.name} (result ${result})`);
      const r = new ByteReader(buf, 'epmd_protocol', 2);
      if (tag === EPMD.ALIVE2_X_RESP) return r.remaining >= 4 ? r.u32() : undefined;
      return r.remaining >= 2 ? r.u16() : undefined;
    },
    64,
    true,
  );
  let active = true;
  const closed = new Promise<void>((resolve) => {
    const end = (): void => {
      active = false;
      resolve();
    };
    if (socket.destroyed) end();
    else socket.once('close', end);
  });
  socket.on('data', () => {}); // EPMD sends nothing more; keep the stream flowing
  return {
    creation,
    get active() {
      return active;
    },
    closed,
    close: async () => {
      socket.destroy();
      await closed;
    },
  };
}

/**
 * Looks up a node's distribution port (PORT_PLEASE2_REQ). `name` is the part
 * before `@`. Resolves undefined when the node is not registered.
 */
export async function lookupNode(options: EpmdAddress & { name: string }): Promise<EpmdNodeInfo | undefined> {
  const { value } = await exchange(
    options,
    encodePortPlease2Req(options.name),
    (buf, ended) => {
      if (buf.length < 2) return undefined;
      if (buf[1] !== 0) return { info: undefined };
      try {
        return { info: decodePort2Resp(buf) };
      } catch (e) {
        if (!ended && e instanceof DistError && e.message.includes('truncated')) return undefined;
        throw e;
      }
    },
    4 + 12 + 2 * 1024 + 0xffff,
  );
  return value.info;
}

/** Lists the nodes registered with EPMD (NAMES_REQ). */
export async function listNames(options: EpmdAddress = {}): Promise<EpmdNames> {
  const { value } = await exchange(options, encodeNamesReq(), (buf, ended) => (ended ? decodeNamesResp(buf) : undefined), 4 * 1024 * 1024);
  return value;
}

/**
 * Asks the EPMD at `host:port` to exit (KILL_REQ, as `epmd -kill`). Resolves
 * true when it agreed (`OK`: no node was registered), false when it refused.
 *
 * @example
 * ```ts
 * await killEpmd({ port: 4369 }); // true once every node has unregistered
 * ```
 */
export async function killEpmd(options: EpmdAddress = {}): Promise<boolean> {
  const packet = Buffer.from([0, 1, EPMD.KILL_REQ]);
  const { value } = await exchange(options, packet, (buf, ended) => (buf.length >= 2 || ended ? buf.toString('latin1') : undefined), 16);
  return value === 'OK';
}
