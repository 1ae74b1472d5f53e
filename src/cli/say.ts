// `ttsq say`: submits a text to a running server, shows progress, and saves the audio.

import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SayOptions {
  text: string;
  output: string;
  url: string;
  voice?: string;
  speed?: number;
}

const POLL_MS = 250;

/** Resolves once the audio is written to `options.output`; rejects with the server's message. */
export async function say(options: SayOptions): Promise<void> {
  const base = options.url.replace(/\/+$/, '');
  const body: Record<string, unknown> = { text: options.text };
  if (options.voice !== undefined) body['voice'] = options.voice;
  if (options.speed !== undefined) body['speed'] = options.speed;

  const created = await request(`${base}/v1/jobs`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  const jobId = String(created['id']);
  process.stderr.write(`job ${jobId} queued\n`);
  await waitUntilDone(base, jobId);

  const audio = await fetch(`${base}/v1/jobs/${jobId}/audio`);
  if (!audio.ok) throw new Error(await describe(audio));
  await fs.writeFile(options.output, Buffer.from(await audio.arrayBuffer()));
  process.stderr.write(`wrote ${options.output}\n`);
}

async function waitUntilDone(base: string, jobId: string): Promise<void> {
  let last = '';
  for (;;) {
    const job = await request(`${base}/v1/jobs/${jobId}`, {});
    const line = `${String(job['status'])} ${Math.round(Number(job['progress']) * 100)}%`;
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
    if (job['status'] === 'succeeded') return;
    if (job['status'] === 'failed' || job['status'] === 'canceled') {
      const error = job['error'] as { code?: string; message?: string } | undefined;
      throw new Error(
        `job ${String(job['status'])}: ${error?.code ?? ''} ${error?.message ?? ''}`.trim(),
      );
    }
    await sleep(POLL_MS);
  }
}

async function request(url: string, init: RequestInit): Promise<Record<string, unknown>> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(await describe(response));
  return (await response.json()) as Record<string, unknown>;
}

async function describe(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { code?: string; message?: string };
    return `${response.status} ${body.code ?? ''}: ${body.message ?? text}`;
  } catch {
    return `${response.status}: ${text}`;
  }
}
