// The mock Messages API as a process, for runs that are not node tests (the
// lab, manual checks):
//   node tests/lib/mock-anthropic-cli.mjs --cert C --key K [--script FILE.json]
//        [--port N] [--scenario lab]
// Prints "listening PORT" on stdout once ready; SIGTERM or SIGINT stop it.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startMock } from './mock-anthropic.mjs';
import { labResponder } from './mock-lab.mjs';

const SCENARIOS = { lab: labResponder };
const USAGE = 'usage: mock-anthropic-cli.mjs --cert C --key K [--script FILE.json] [--port N] [--scenario lab]';

function fail(message) {
  process.stderr.write(`mock-anthropic-cli: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      cert: { type: 'string' }, key: { type: 'string' }, script: { type: 'string' },
      port: { type: 'string', default: '0' }, scenario: { type: 'string' },
    },
  }));
} catch (e) {
  fail(e.message);
}
if (!values.cert || !values.key) fail('--cert and --key are required');
if (values.scenario !== undefined && !SCENARIOS[values.scenario]) fail(`unknown scenario "${values.scenario}"`);
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port "${values.port}"`);

let script = [];
if (values.script) {
  try {
    script = JSON.parse(readFileSync(values.script, 'utf8'));
  } catch (e) {
    fail(`cannot read script ${values.script}: ${e.message}`);
  }
  if (!Array.isArray(script)) fail('the script file must hold a JSON array of response forms');
}

const mock = await startMock({ cert: values.cert, key: values.key, script, port });
if (values.scenario) mock.setResponder(SCENARIOS[values.scenario]);
process.stdout.write(`listening ${mock.port}\n`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    mock.close().then(() => process.exit(0));
  });
}
