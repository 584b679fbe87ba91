/**
 * Test support: a Beamline cluster member in its own OS process, so a test
 * can SIGKILL it. Configured by the `BEAMLINE_MEMBER` environment variable
 * (JSON: name, cookie, epmdPort, optional pgGroup to join a process to in
 * the default `pg` scope, optional globalName to register it under, optional
 * connect to a node). Prints `ready` once
 * set up, then runs until killed.
 * @module
 */
import { atom } from '../src/terms/atom.js';
import { distributionOf, startNode } from '../src/distribution/node-dist.js';
import { globalRegister, globalSync } from '../src/distribution/global.js';
import { pgJoin, startPgScope } from '../src/distribution/pg.js';

interface MemberConfig {
  name: string;
  cookie: string;
  epmdPort: number;
  pgGroup?: string;
  /** Register the worker globally under this name once connected and synced. */
  globalName?: string;
  connect?: string;
}

const config = JSON.parse(process.env['BEAMLINE_MEMBER'] ?? '{}') as MemberConfig;
const node = await startNode({ name: config.name, cookie: config.cookie, epmdPort: config.epmdPort, published: true, embeddedEpmd: false });
startPgScope(node);
const worker = node.spawn({ handleMessage() {} });
if (config.connect !== undefined) {
  const target = atom(config.connect);
  const up = new Promise<void>((resolve) => {
    const stop = distributionOf(node).monitorNodes((e) => {
      if (e.kind === 'up' && e.node === target) {
        stop();
        resolve();
      }
    });
  });
  distributionOf(node).ensureConnected(target);
  await up;
  await globalSync(node);
}
if (config.globalName !== undefined && (await globalRegister(node, atom(config.globalName), worker)) !== 'yes') {
  throw new Error(`global name ${config.globalName} is taken`);
}
if (config.pgGroup !== undefined) await pgJoin(node, atom(config.pgGroup), worker);
process.stdout.write(`ready ${worker.describe()}\n`);
setInterval(() => {}, 1 << 30);
