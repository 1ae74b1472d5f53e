// The engine side of an `EngineHost`: owns one engine inside a worker thread or a child process,
// answers the host's calls one at a time, and defines the messages both sides exchange.

import { PermanentTaskError, TtsqError, toError } from '../errors.js';
import type { SynthesisRequest, SynthesisResult, TtsEngine, VoiceInfo } from './engine.js';
import { createEngine, type EngineHooks, type EngineSettings } from './registry.js';

/** What the host passes to a new engine thread or process. */
export interface EngineThreadData {
  engine: string;
  settings: EngineSettings;
}

/** What the host asks of the engine. */
export type EngineThreadCall =
  { kind: 'voices' } | { kind: 'synthesize'; request: SynthesisRequest };

/** A call as sent to the engine; `id` pairs it with its reply. */
export type EngineThreadRequest = EngineThreadCall & { id: number };

/** An error as it crosses the boundary. `code` is null for errors that are not ttsq's. */
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

/** Sent around a model load: if the engine dies in between, that model is what killed it. */
export interface EngineModelProgress {
  kind: 'model-loading' | 'model-loaded';
  digest: string;
}

/** Everything the engine side sends. */
export type EngineMessage = EngineThreadStatus | EngineThreadReply | EngineModelProgress;

/** The engine side's end of the channel: a worker thread's port or a child's IPC. */
export interface EnginePort {
  /** Resolves once the message has left (a child process may die right after). */
  post(message: EngineMessage, transfer: ArrayBuffer[]): Promise<void>;
  onMessage(listener: (message: EngineThreadRequest) => void): void;
}

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

function postReply(port: EnginePort, reply: EngineThreadReply): Promise<void> {
  const result = reply.ok ? reply.result : null;
  const transfer = result && 'samples' in result ? transferableBuffer(result.samples) : [];
  return port.post(reply, transfer);
}

function hooksFor(port: EnginePort): EngineHooks {
  return {
    modelLoading: (digest) => port.post({ kind: 'model-loading', digest }, []),
    modelLoaded: (digest) => port.post({ kind: 'model-loaded', digest }, []),
  };
}

/** Creates and initializes the engine, reports ready (or why not), then answers calls. */
export async function serveEngine(port: EnginePort, data: EngineThreadData): Promise<void> {
  let engine: TtsEngine;
  try {
    engine = createEngine(data.engine, data.settings, hooksFor(port));
    await engine.init();
    const voices = await engine.voices();
    await port.post({ kind: 'ready', voices, version: engine.version }, []);
  } catch (error) {
    await port.post({ kind: 'init-failed', error: serializeError(error) }, []);
    return;
  }

  port.onMessage((message) => {
    void answer(engine, message).then((reply) => postReply(port, reply));
  });
}
