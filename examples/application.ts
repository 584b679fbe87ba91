// Run: npx tsc -p . && node build/examples/application.js
/**
 * Example: two applications, `web` depending on `db`, with an environment
 * read from inside the application's processes, started in dependency
 * order and stopped in reverse order with the node.
 * @module
 */
import {
  getAppEnv,
  loadApplication,
  Node,
  ok,
  type ServerBehavior,
  serverStart,
  startApplication,
  whichApplications,
} from '../src/index.js';
import { oneLineLogger } from './one-line-logger.js';

function worker(label: string): ServerBehavior<{ call: [null, null] }, null> {
  return {
    init: (_args, ctx) => {
      ctx.trapExit = true;
      console.log(`${label}: started, port=${String(getAppEnv(ctx, 'port'))}`);
      return ok(null);
    },
    terminate: (reason) => console.log(`${label}: terminating (${String(reason)})`),
  };
}

const node = new Node({ name: 'apps@127.0.0.1', logger: oneLineLogger });

loadApplication(node, {
  name: 'db',
  version: '1.0.0',
  description: 'the database layer',
  env: { port: 5432 },
  children: [{ id: 'pool', start: serverStart(worker('db pool'), undefined) }],
  stop: () => console.log('db: stop hook'),
});
loadApplication(node, {
  name: 'web',
  version: '2.1.0',
  description: 'the HTTP front end',
  env: { port: 8080 },
  dependencies: ['db'],
  children: [{ id: 'listener', start: serverStart(worker('web listener'), undefined) }],
  stop: () => console.log('web: stop hook'),
});

await startApplication(node, 'web', 'permanent'); // starts db first
console.log('running:', whichApplications(node).map((a) => `${a.name} ${a.version}`).join(', '));

await node.stop(); // web stops, then db
console.log('node stopped');
