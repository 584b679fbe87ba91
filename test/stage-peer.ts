/**
 * Test support: a Beamline node in its own OS process holding an endless
 * producer registered as `peer_producer`, so a test can SIGKILL a Beamline
 * node under Elixir consumers. Usage: `node build/test/stage-peer.js NAME COOKIE EPMD_PORT`;
 * prints READY.
 * @module
 */
import { startNode } from '../src/distribution/node-dist.js';
import { startStage } from '../src/stage/stage.js';
import { counterProducer } from './stages.js';

const [name, cookie, port] = process.argv.slice(2);
const node = await startNode({ name: name as string, cookie: cookie as string, epmdPort: Number(port), node: { logger: () => {} } });
await startStage(node, counterProducer(), 0, { name: 'peer_producer' });
console.log('READY');
