// Drives a running `odlm serve` with the official OpenAI Node SDK: chat completion, streaming,
// legacy completions, models, and the SDK's typed errors. Exits non-zero on the first failure.
// Environment: ODLM_BASE_URL (http://127.0.0.1:PORT/v1), ODLM_KEY (an app key), ODLM_MODEL.
import assert from "node:assert/strict";
import OpenAI from "openai";

const baseURL = process.env.ODLM_BASE_URL;
const apiKey = process.env.ODLM_KEY;
const model = process.env.ODLM_MODEL;
assert.ok(baseURL && apiKey && model, "set ODLM_BASE_URL, ODLM_KEY and ODLM_MODEL");
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push(`ok   ${name}`);
  } catch (e) {
    results.push(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}

const messages = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Say something." },
];

await check("models.list", async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  assert.ok(ids.includes(model), `models: ${ids}`);
});

let greedy = "";
await check("chat.completions.create", async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0 });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(typeof r.choices[0].message.content, "string");
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 8);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  greedy = r.choices[0].message.content;
});

await check("chat.completions.create stream", async () => {
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 8, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, greedy);
  assert.ok(finish === "stop" || finish === "length");
  assert.ok(usage && usage.completion_tokens > 0);
});

await check("chat stream helper (runner) collects the final message", async () => {
  const runner = client.beta.chat.completions.stream({ model, messages, max_tokens: 8, temperature: 0 });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, greedy);
});

await check("completions.create", async () => {
  const r = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 5, temperature: 0, seed: 1 });
  assert.equal(r.object, "text_completion");
  assert.equal(typeof r.choices[0].text, "string");
  assert.ok(r.usage.completion_tokens <= 5);
});

await check("BadRequestError for an out-of-range temperature", async () => {
  await assert.rejects(
    client.chat.completions.create({ model, messages, temperature: 5 }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === "temperature" &&
      /temperature/.test(e.message));
});

await check("BadRequestError for a missing field", async () => {
  await assert.rejects(client.chat.completions.create({ model }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === "messages");
});

await check("AuthenticationError for a wrong key", async () => {
  const bad = new OpenAI({ baseURL, apiKey: "odlm-wrong", maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model, messages }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
});

await check("NotFoundError for an unknown model", async () => {
  await assert.rejects(client.models.retrieve("no-such-model"),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
});

await check("service keeps serving after errors", async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 3 });
  assert.equal(r.choices.length, 1);
});

for (const line of results) console.log(line);
process.exit(results.every((l) => l.startsWith("ok")) ? 0 : 1);
