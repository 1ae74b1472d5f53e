// Real-time factor of each engine on this machine: eSpeak NG (WASM, in an engine thread), Debian's
// espeak-ng CLI when installed, and sherpa-onnx (in an engine process) with the test model or a
// real Piper or Coqui voice. RTF = synthesis time / audio duration; below 1 is faster than real
// time. Run `node dist/bench/engines.js [--models-dir DIR --voice piper:NAME]`.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { EngineHost } from '../src/engines/engine-host.js';
import { DEFAULT_ENGINE_SETTINGS, type EngineSettings } from '../src/engines/registry.js';
import { buildTestModel, writePiperVoice } from '../test/helpers/onnx-test-models.js';

const run = promisify(execFile);

/** A 60-word English paragraph (about 19 s of eSpeak speech), the reference text of these runs. */
export const BENCH_TEXT =
  'The quick brown fox jumps over the lazy dog near the river bank, while the old farmer ' +
  'watches from his porch and sips his morning coffee. Queues keep slow work out of the ' +
  'request path, so every client gets an answer at once. A worker claims a task, holds a ' +
  'lease on it, and renews the lease while it speaks the text aloud.';

/** One engine's measurement. Times in ms; `rtf` is the median synthesis time over audio time. */
export interface EngineRtf {
  engine: string;
  voice: string;
  runs: number;
  firstCallMs: number;
  medianMs: number;
  audioMs: number;
  rtf: number;
}

/** What to measure: runs per engine after one warm-up, and an optional real model. */
export interface EngineBenchOptions {
  runs: number;
  /** A models directory holding a real voice, measured as `voice` (`piper:NAME`). */
  modelsDir?: string;
  voice?: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function timeRuns(
  runs: number,
  once: () => Promise<number>,
): Promise<{ firstCallMs: number; medianMs: number; audioMs: number }> {
  let start = performance.now();
  const audioMs = await once();
  const firstCallMs = performance.now() - start;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    start = performance.now();
    await once();
    times.push(performance.now() - start);
  }
  return { firstCallMs, medianMs: median(times), audioMs };
}

async function hostRtf(
  engine: string,
  voice: string,
  settings: EngineSettings,
  runs: number,
): Promise<EngineRtf> {
  const isolation = engine === 'sherpa' ? 'process' : 'thread';
  const host = new EngineHost({ engine, isolation, settings });
  await host.start();
  const [prefix = '', name = ''] = voice.split(/:(.*)/s);
  try {
    const timed = await timeRuns(runs, async () => {
      const request = { text: BENCH_TEXT, voice: name, voicePrefix: prefix, speed: 1 };
      const result = await host.synthesize(request, { timeoutMs: 600_000 });
      return (result.samples.length / result.sampleRateHz) * 1000;
    });
    return { engine, voice, runs, ...timed, rtf: timed.medianMs / timed.audioMs };
  } finally {
    await host.close();
  }
}

/** Debian's espeak-ng CLI, spawned per call as a service would; null when not installed. */
async function debianEspeakRtf(runs: number): Promise<EngineRtf | null> {
  try {
    await run('espeak-ng', ['--version']);
  } catch {
    return null;
  }
  const timed = await timeRuns(runs, async () => {
    const { stdout } = await run('espeak-ng', ['--stdout', '-v', 'en-us', BENCH_TEXT], {
      encoding: 'buffer',
      maxBuffer: 64 << 20,
    });
    // The WAV header's length is a placeholder when writing to stdout: count the bytes.
    return ((stdout.length - 44) / 2 / 22_050) * 1000;
  });
  return {
    engine: 'espeak-ng CLI (Debian)',
    voice: 'en-us',
    runs,
    ...timed,
    rtf: timed.medianMs / timed.audioMs,
  };
}

/** A temp models directory holding the test Piper voice (a dozen-node ONNX graph). */
function testModelsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttsq-bench-models-'));
  const model = buildTestModel({ kind: 'tone', scaleInputs: 'scales', withSpeakerId: false });
  writePiperVoice(dir, 'en_US-test-low', model);
  // Files younger than a second are taken for files still being copied in.
  const past = new Date(Date.now() - 5_000);
  for (const file of fs.readdirSync(dir)) fs.utimesSync(path.join(dir, file), past, past);
  return dir;
}

/** Measures every engine available here, plus the real voice when one is given. */
export async function measureEngines(options: EngineBenchOptions): Promise<EngineRtf[]> {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttsq-bench-cache-'));
  const results: EngineRtf[] = [];
  results.push(await hostRtf('espeak', 'espeak:en-us', DEFAULT_ENGINE_SETTINGS, options.runs));
  const debian = await debianEspeakRtf(options.runs);
  if (debian) results.push(debian);

  const testDir = testModelsDir();
  const testSettings = { ...DEFAULT_ENGINE_SETTINGS, modelsDir: testDir, cacheDir };
  results.push(await hostRtf('sherpa', 'piper:en_US-test-low', testSettings, options.runs));
  if (options.modelsDir && options.voice) {
    const settings = { ...DEFAULT_ENGINE_SETTINGS, modelsDir: options.modelsDir, cacheDir };
    results.push(await hostRtf('sherpa', options.voice, settings, options.runs));
  }
  fs.rmSync(testDir, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
  return results;
}

/** A Markdown table of the results, as `docs/benchmarks.md` shows them. */
export function formatEngineTable(results: EngineRtf[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.engine} | ${r.voice} | ${r.audioMs.toFixed(0)} | ${r.firstCallMs.toFixed(0)} | ${r.medianMs.toFixed(1)} | ${r.rtf.toFixed(4)} |`,
  );
  return [
    '| engine | voice | audio ms | first call ms | median ms | RTF |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      'models-dir': { type: 'string' },
      voice: { type: 'string' },
    },
  });
  const options: EngineBenchOptions = { runs: Number(values.runs) };
  if (values['models-dir']) options.modelsDir = path.resolve(values['models-dir']);
  if (values.voice) options.voice = values.voice;
  console.log(formatEngineTable(await measureEngines(options)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
