// Shared steps of the neural engine tests: read a server's voice list, wait for a voice to be
// listed as expected, and synthesize through a real job.

import assert from 'node:assert/strict';
import { decodeWav } from '../../src/audio/wav.js';
import type { TestServer } from './service.js';

/** The server's `/v1/voices`, by voice id. */
export async function voices(server: TestServer): Promise<Map<string, any>> {
  const { body } = await server.json('/v1/voices');
  return new Map((body.voices as any[]).map((voice) => [voice.id, voice]));
}

/** Polls `/v1/voices` until `id` is listed and passes `test` (20 s at most). */
export async function waitForVoice(
  server: TestServer,
  id: string,
  test: (voice: any) => boolean = () => true,
): Promise<any> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const voice = (await voices(server)).get(id);
    if (voice && test(voice)) return voice;
    if (Date.now() > deadline)
      throw new Error(`voice ${id} not listed as expected: ${JSON.stringify(voice)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Submits, waits and returns the decoded audio of a job that must succeed. */
export async function synthesize(server: TestServer, voice: string, text: string, speed = 1) {
  const created = await server.submit({ text, voice, speed });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const job = await server.waitForJob(created.body.id, 30_000);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  const response = await fetch(server.url(`/v1/jobs/${created.body.id}/audio`));
  return decodeWav(new Uint8Array(await response.arrayBuffer()));
}
