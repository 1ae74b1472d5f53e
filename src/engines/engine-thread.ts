// The engine thread: a `worker_threads` entry that owns one engine, so its synchronous synthesis
// never blocks the worker's main loop. It also defines the messages exchanged with `EngineHost`.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { PermanentTaskError, TtsqError, toError } from '../errors.js';
import type { SynthesisRequest, SynthesisResult, TtsEngine, VoiceInfo } from './engine.js';
import { createEngine } from './registry.js';

/** What the host passes as `workerData`. */
export interface EngineThreadData {
  engine: string;
}

/** What the host asks of the engine. */
export type EngineThreadCall =
  { kind: 'voices' } | { kind: 'synthesize'; request: SynthesisRequest };

/** A call as sent to the thread; `id` pairs it with its reply. */
export type EngineThreadRequest = EngineThreadCall & { id: number };

/** An error as it crosses the thread boundary. `code` is null for errors that are not ttsq's. */
export interface SerializedEngineError {
  name: string;
  code: string | null;
  message: string;
  permanent: boolean;
}

/** The answer to one request. */
export type EngineThreadReply =
  | { id: number; ok: true; result: VoiceInfo[] | SynthesisResult }
  | { id: number; ok: false; error: SerializedEngineError };

/** Sent once, after the engine's `init()` succeeded or failed. */
export type EngineThreadStatus =
  | { kind: 'ready'; voices: VoiceInfo[]; version: string }
  | { kind: 'init-failed'; error: SerializedEngineError };

function serializeError(value: unknown): SerializedEngineError {
  const error = toError(value);
  return {
    name: error.name,
    code: error instanceof TtsqError ? error.code : null,
    message: error.message,
    permanent: error instanceof PermanentTaskError,
  };
}

function run(engine: TtsEngine, call: EngineThreadCall): Promise<VoiceInfo[] | SynthesisResult> {
  return call.kind === 'voices' ? engine.voices() : engine.synthesize(call.request);
}

async function answer(engine: TtsEngine, message: EngineThreadRequest): Promise<EngineThreadReply> {
  try {
    return { id: message.id, ok: true, result: await run(engine, message) };
  } catch (error) {
    return { id: message.id, ok: false, error: serializeError(error) };
  }
}

/** The samples' buffer when they own all of it, so it can be moved rather than copied. */
function transferableBuffer(samples: Int16Array): ArrayBuffer[] {
  const { buffer } = samples;
  const ownsBuffer = buffer instanceof ArrayBuffer && samples.byteLength === buffer.byteLength;
  return ownsBuffer ? [buffer] : [];
}

function postReply(port: MessagePort, reply: EngineThreadReply): void {
  const result = reply.ok ? reply.result : null;
  const transfer = result && 'samples' in result ? transferableBuffer(result.samples) : [];
  port.postMessage(reply, transfer);
}

async function startEngine(port: MessagePort, engineName: string): Promise<void> {
  let engine: TtsEngine;
  try {
    engine = createEngine(engineName);
    await engine.init();
    const status: EngineThreadStatus = {
      kind: 'ready',
      voices: await engine.voices(),
      version: engine.version,
    };
    port.postMessage(status);
  } catch (error) {
    const status: EngineThreadStatus = { kind: 'init-failed', error: serializeError(error) };
    port.postMessage(status);
    return;
  }

  port.on('message', (message: EngineThreadRequest) => {
    void answer(engine, message).then((reply) => postReply(port, reply));
  });
}

if (!parentPort) throw new Error('engine-thread must run inside a worker thread');
await startEngine(parentPort, (workerData as EngineThreadData).engine);
