// The remote Coqui engine: synthesis by a Coqui `tts-server` (XTTS included) over HTTP, so a GPU
// box running Coqui sits behind ttsq's queue. Voices come from the server's MaryTTS-compatible
// `/voices` list; audio from `/api/tts`. Failures are task attempts: the queue retries them.

import { decodeWav } from '../audio/wav.js';
import { PermanentTaskError, TransientTaskError } from '../errors.js';
import type { SynthesisRequest, SynthesisResult, TtsEngine, VoiceInfo } from './engine.js';
import type { EngineSettings } from './registry.js';

const ENGINE_NAME = 'coqui-server';
/** Text synthesized once to learn the server's sample rate. */
const PROBE_TEXT = 'Hello.';

interface RemoteVoice {
  info: VoiceInfo;
  /** The speaker name as the server spells it (ids replace spaces with `_`). */
  speaker: string;
}

/** `"p225 en u"` → speaker `p225`, locale `en`; a name may contain spaces. */
function parseVoiceLine(line: string): { speaker: string; locale: string } | null {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 3) return null;
  const locale = parts[parts.length - 2] ?? '';
  return { speaker: parts.slice(0, -2).join(' '), locale };
}

function languageOf(locale: string): string {
  return locale === '' || locale === 'multilingual' ? 'mul' : locale.toLowerCase();
}

/**
 * A client of one Coqui `tts-server` (`settings.coquiUrl`). Voice ids are
 * `coqui-server:SPEAKER`; the server's own default language applies.
 */
export class CoquiServerEngine implements TtsEngine {
  readonly name = ENGINE_NAME;
  readonly version: string;

  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  #voices = new Map<string, RemoteVoice>();
  #sampleRateHz = 0;

  constructor(settings: EngineSettings) {
    this.#baseUrl = settings.coquiUrl.replace(/\/+$/, '');
    this.#timeoutMs = settings.coquiTimeoutMs;
    // The server's model decides the audio: its URL stands for it in cache keys.
    this.version = `coqui-server@${this.#baseUrl}`;
  }

  /** Lists the server's voices; a server that is down gives no voices yet, not an error. */
  async init(): Promise<void> {
    await this.voices();
  }

  /** The server's voices now; an unreachable server lists none (they return when it does). */
  async voices(): Promise<VoiceInfo[]> {
    try {
      await this.#refresh();
    } catch {
      this.#voices.clear();
    }
    return [...this.#voices.values()].map((voice) => structuredClone(voice.info));
  }

  /**
   * @throws TransientTaskError `TTSQ_COQUI_UNAVAILABLE` (network, 5xx) or `TTSQ_COQUI_TIMEOUT`.
   * @throws PermanentTaskError `TTSQ_COQUI_REJECTED` (4xx), `TTSQ_VOICE_UNKNOWN`.
   */
  async synthesize(request: SynthesisRequest): Promise<SynthesisResult> {
    if (request.speed !== 1) {
      throw new PermanentTaskError(
        'TTSQ_SPEED_UNSUPPORTED',
        'the Coqui server does not take a speed',
      );
    }
    // A voice missing since the server was last down: refreshing throws a transient error.
    if (!this.#voices.has(request.voice)) await this.#refresh();
    const voice = this.#voices.get(request.voice);
    if (!voice) {
      throw new PermanentTaskError(
        'TTSQ_VOICE_UNKNOWN',
        `the Coqui server has no voice ${request.voice}`,
      );
    }
    if (request.text.trim() === '') {
      return { samples: new Int16Array(0), sampleRateHz: voice.info.sampleRateHz, marks: [] };
    }
    const wav = await this.#tts(request.text, voice.speaker);
    return { samples: wav.samples, sampleRateHz: wav.sampleRateHz, marks: [] };
  }

  close(): Promise<void> {
    this.#voices.clear();
    return Promise.resolve();
  }

  async #refresh(): Promise<void> {
    const response = await this.#get('/voices', new URLSearchParams());
    const lines = (await response.text()).split('\n');
    const entries = lines.map(parseVoiceLine).filter((entry) => entry !== null);
    if (this.#sampleRateHz === 0 && entries[0]) {
      this.#sampleRateHz = (await this.#tts(PROBE_TEXT, entries[0].speaker)).sampleRateHz;
    }
    const voices = new Map<string, RemoteVoice>();
    for (const { speaker, locale } of entries) {
      const name = speaker.replace(/\s+/g, '_');
      const info: VoiceInfo = {
        id: `${ENGINE_NAME}:${name}`,
        engine: ENGINE_NAME,
        name: speaker,
        language: languageOf(locale),
        sampleRateHz: this.#sampleRateHz,
        capabilities: { speed: false, wordTimings: false },
      };
      voices.set(name, { info, speaker });
    }
    this.#voices = voices;
  }

  async #tts(
    text: string,
    speaker: string,
  ): Promise<{ samples: Int16Array; sampleRateHz: number }> {
    const query = new URLSearchParams({ text, speaker_id: speaker, style_wav: '' });
    const response = await this.#get('/api/tts', query);
    const body = new Uint8Array(await response.arrayBuffer());
    try {
      return decodeWav(body);
    } catch (error) {
      const message = `the Coqui server sent audio ttsq cannot read: ${(error as Error).message}`;
      throw new TransientTaskError('TTSQ_COQUI_UNAVAILABLE', message, { cause: error });
    }
  }

  /** GET with the configured timeout; maps failures to task errors. */
  async #get(pathname: string, query: URLSearchParams): Promise<Response> {
    const url = `${this.#baseUrl}${pathname}${query.size > 0 ? `?${query.toString()}` : ''}`;
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') {
        const message = `the Coqui server did not answer ${pathname} within ${this.#timeoutMs} ms`;
        throw new TransientTaskError('TTSQ_COQUI_TIMEOUT', message, { cause: error });
      }
      const message = `the Coqui server at ${this.#baseUrl} is unreachable: ${(error as Error).message}`;
      throw new TransientTaskError('TTSQ_COQUI_UNAVAILABLE', message, { cause: error });
    }
    if (response.ok) return response;
    const detail = (await response.text()).slice(0, 200);
    const message = `the Coqui server answered ${pathname} with ${response.status}: ${detail}`;
    if (response.status >= 400 && response.status < 500) {
      throw new PermanentTaskError('TTSQ_COQUI_REJECTED', message);
    }
    throw new TransientTaskError('TTSQ_COQUI_UNAVAILABLE', message);
  }
}
