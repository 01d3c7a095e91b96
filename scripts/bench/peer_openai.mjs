// Peer client for scripts/bench.sh: N concurrent streamed chat requests with
// the official `openai` npm package's streaming client, assembling each
// reply from every chunk it parses.
//
// usage: node peer_openai.mjs BASE_URL BODY_JSON_FILE STREAMS
// (BASE_URL ends in /v1.) Prints "chunks=<n> replies=<n> errors=<n>".
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';

const [baseURL, bodyFile, streamsArg] = process.argv.slice(2);
const body = JSON.parse(readFileSync(bodyFile, 'utf8'));
const streams = Number(streamsArg);
const client = new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0,
                            timeout: 600_000 });
let chunks = 0, replies = 0, errors = 0;

async function one() {
  try {
    const stream = await client.chat.completions.create(body);
    let content = '';
    for await (const chunk of stream) {
      ++chunks;
      content += chunk.choices?.[0]?.delta?.content ?? '';
    }
    ++replies;
  } catch (e) {
    ++errors;
  }
}

await Promise.all(Array.from({ length: streams }, one));
console.log(`chunks=${chunks} replies=${replies} errors=${errors}`);
