/**
 * Test support: a Beamline cluster member in its own OS process, so a test
 * can SIGKILL it. Configured by the `BEAMLINE_MEMBER` environment variable
 * (JSON: name, cookie, epmdPort, optional pgGroup to join a process to in
 * the default `pg` scope, optional connect to a node). Prints `ready` once
 * set up, then runs until killed.
 * @module
 */
import { atom } from '../src/terms/atom.js';
import { distributionOf, startNode } from '../src/distribution/node-dist.js';
import { pgJoin, startPgScope } from '../src/distribution/pg.js';

interface MemberConfig {
  name: string;
  cookie: string;
  epmdPort: number;
  pgGroup?: string;
  connect?: string;
}

const config = JSON.parse(process.env['BEAMLINE_MEMBER'] ?? '{}') as MemberConfig;
const node = await startNode({ name: config.name, cookie: config.cookie, epmdPort: config.epmdPort, published: true, embeddedEpmd: false });
startPgScope(node);
const worker = node.spawn({ handleMessage() {} });
if (config.connect !== undefined) {
  distributionOf(node).ensureConnected(atom(config.connect));
}
if (config.pgGroup !== undefined) await pgJoin(node, atom(config.pgGroup), worker);
process.stdout.write(`ready ${worker.describe()}\n`);
setInterval(() => {}, 1 << 30);
