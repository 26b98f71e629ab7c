// The official TypeScript SDK (@anthropic-ai/sdk) against sluice-sim: proof that the simulator speaks the API's
// shapes, headers and errors well enough for a client that no one here wrote.
//
// Run by run_sdk_compat.sh with ANTHROPIC_BASE_URL pointing at a running sluice-sim (started with
// --api-key $ANTHROPIC_API_KEY) and SLUICE_SIM_CONTROL_URL at its /control route. Prints one line per check; exits 1
// if any check fails.
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const baseURL = process.env.ANTHROPIC_BASE_URL;
const apiKey = process.env.ANTHROPIC_API_KEY;
const controlURL = process.env.SLUICE_SIM_CONTROL_URL;
assert.ok(baseURL && apiKey && controlURL, 'ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY and SLUICE_SIM_CONTROL_URL are required');

const model = 'claude-sonnet-4-5';
const prompt = [{ role: 'user', content: 'Describe a sluice gate in one paragraph.' }];
const client = new Anthropic({ baseURL, apiKey, timeout: 10_000 });
const noRetry = new Anthropic({ baseURL, apiKey, timeout: 10_000, maxRetries: 0 });

async function control(options) {
  const response = await fetch(controlURL, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(options),
  });
  assert.equal(response.status, 200, `POST /control ${JSON.stringify(options)}`);
}

// Asserts that `promise` rejects with an instance of `cls` and returns the error.
async function expectError(promise, cls) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
    return err;
  }
  assert.fail(`expected ${cls.name}, but the call succeeded`);
}

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

let plainText = '';

check('plain create returns a message whose usage matches count_tokens', async () => {
  const message = await client.messages.create({ model, max_tokens: 256, messages: prompt });
  assert.equal(message.type, 'message');
  assert.equal(message.role, 'assistant');
  assert.equal(message.model, model);
  assert.match(message.id, /^msg_/);
  assert.equal(message.content.length, 1);
  assert.equal(message.content[0].type, 'text');
  assert.ok(message.content[0].text.length > 0);
  assert.equal(message.stop_reason, 'end_turn');
  assert.ok(message.usage.output_tokens >= 16 && message.usage.output_tokens <= 48, `${message.usage.output_tokens}`);
  const counted = await client.messages.countTokens({ model, messages: prompt });
  assert.equal(counted.input_tokens, message.usage.input_tokens);
  plainText = message.content[0].text;
});

check('streamed deltas add up to the final text', async () => {
  let deltas = '';
  let deltaEvents = 0;
  const events = [];
  const stream = client.messages.stream({ model, max_tokens: 256, messages: prompt });
  stream.on('text', (text) => {
    deltas += text;
    deltaEvents += 1;
  });
  stream.on('streamEvent', (event) => events.push(event.type));
  const final = await stream.finalMessage();
  assert.ok(deltaEvents > 1, `only ${deltaEvents} delta(s)`);
  assert.equal(deltas, final.content[0].text);
  assert.equal(final.content[0].text, plainText); // the same prompt gets the same reply, streamed or not
  assert.equal(final.stop_reason, 'end_turn');
  assert.ok(final.usage.output_tokens > 0);
  assert.equal(events[0], 'message_start');
  assert.equal(events.at(-1), 'message_stop');
  assert.ok(events.includes('message_delta'));
});

check('a 400 is raised as BadRequestError with the API message', async () => {
  const err = await expectError(noRetry.messages.create({ model, max_tokens: 16, messages: [] }),
                                Anthropic.BadRequestError);
  assert.equal(err.status, 400);
  assert.equal(err.error?.type, 'error');
  assert.equal(err.error?.error?.type, 'invalid_request_error');
  assert.equal(err.error?.error?.message, 'messages: at least one message is required');
  assert.match(err.requestID ?? '', /^req_/);
  assert.equal(err.error?.request_id, err.requestID);
});

check('a 429 is raised as RateLimitError with retry-after and the rate-limit headers', async () => {
  await control({ requestsPerMinute: 60 }); // one request per second
  await noRetry.messages.create({ model, max_tokens: 16, messages: prompt });
  const err = await expectError(noRetry.messages.create({ model, max_tokens: 16, messages: prompt }),
                                Anthropic.RateLimitError);
  assert.equal(err.status, 429);
  assert.equal(err.error?.error?.type, 'rate_limit_error');
  assert.match(err.error?.error?.message ?? '', /60 requests per minute/);
  assert.equal(err.headers.get('retry-after'), '1');
  assert.equal(err.headers.get('anthropic-ratelimit-requests-limit'), '60');
  assert.equal(err.headers.get('anthropic-ratelimit-requests-remaining'), '0');
  assert.ok(!Number.isNaN(Date.parse(err.headers.get('anthropic-ratelimit-requests-reset'))));
  assert.match(err.requestID ?? '', /^req_/);
  // With its default retries the SDK obeys retry-after and gets through.
  const started = Date.now();
  const message = await client.messages.create({ model, max_tokens: 16, messages: prompt });
  assert.equal(message.type, 'message');
  assert.ok(Date.now() - started < 5_000);
  await control({ requestsPerMinute: 0 });
});

check('a wrong key is raised as AuthenticationError', async () => {
  const wrong = new Anthropic({ baseURL, apiKey: 'sk-not-the-key', timeout: 10_000, maxRetries: 0 });
  const err = await expectError(wrong.messages.create({ model, max_tokens: 16, messages: prompt }),
                                Anthropic.AuthenticationError);
  assert.equal(err.status, 401);
  assert.equal(err.error?.error?.message, 'invalid x-api-key');
});

let failed = 0;
for (const { name, fn } of checks) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`not ok - ${name}\n  ${String(err?.stack ?? err).split('\n').join('\n  ')}`);
  }
}
const sdk = JSON.parse(readFileSync(new URL('./node_modules/@anthropic-ai/sdk/package.json', import.meta.url)));
console.log(`${checks.length - failed}/${checks.length} checks passed (@anthropic-ai/sdk ${sdk.version})`);
process.exit(failed ? 1 : 0);
