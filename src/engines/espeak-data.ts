// The espeak-ng phoneme data that Piper and Coqui models need through sherpa-onnx: Debian's
// `espeak-ng-data` when installed, otherwise extracted once from the bundled eSpeak NG package
// (its Emscripten data file is a plain concatenation of files, listed in its loader script).

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const PACKAGE_NAME = '@echogarden/espeak-ng-emscripten';
/** Where Debian's `espeak-ng-data` package puts the data, newest layout first. */
const SYSTEM_DATA_DIRS = [
  '/usr/lib/x86_64-linux-gnu/espeak-ng-data',
  '/usr/lib/aarch64-linux-gnu/espeak-ng-data',
  '/usr/share/espeak-ng-data',
];
/** A file every complete data directory has. */
const MARKER_FILE = 'phontab';
const BUNDLED_PREFIX = '/usr/share/espeak-ng-data/';

interface PackedFile {
  name: string;
  start: number;
  end: number;
}

function isDataDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, MARKER_FILE));
}

/** The files packed into the bundled package's `espeak-ng.data`, from its loader script. */
function packedFiles(loaderSource: string): PackedFile[] {
  const pattern = /filename:"([^"]+)",start:(\d+),end:(\d+)/g;
  const files: PackedFile[] = [];
  for (const match of loaderSource.matchAll(pattern)) {
    const [, name = '', start = '0', end = '0'] = match;
    if (!name.startsWith(BUNDLED_PREFIX)) continue;
    files.push({ name: name.slice(BUNDLED_PREFIX.length), start: Number(start), end: Number(end) });
  }
  return files;
}

/** Writes the bundled data into a temp directory, then renames it into place (atomic). */
function extractBundled(targetDir: string): void {
  const require = createRequire(import.meta.url);
  const packageDir = path.dirname(require.resolve(`${PACKAGE_NAME}/package.json`));
  const loaderSource = fs.readFileSync(path.join(packageDir, 'espeak-ng.js'), 'utf8');
  const files = packedFiles(loaderSource);
  if (!files.some((file) => file.name === MARKER_FILE)) {
    throw new Error(`${PACKAGE_NAME} carries no espeak-ng data this version of ttsq can read`);
  }
  const data = fs.readFileSync(path.join(packageDir, 'espeak-ng.data'));

  const tempDir = `${targetDir}.tmp-${process.pid}`;
  fs.rmSync(tempDir, { recursive: true, force: true });
  for (const file of files) {
    const filePath = path.join(tempDir, file.name);
    fs.mkdirSync(path.dirname(filePath), { recursive: true });
    fs.writeFileSync(filePath, data.subarray(file.start, file.end));
  }
  try {
    fs.renameSync(tempDir, targetDir);
  } catch (error) {
    // Another worker extracted it first: theirs is as good as ours.
    fs.rmSync(tempDir, { recursive: true, force: true });
    if (!isDataDir(targetDir)) throw error;
  }
}

/**
 * The espeak-ng data directory to hand to sherpa-onnx: `configuredDir` when given, else Debian's,
 * else the bundled data extracted into `cacheDir/espeak-ng-data` (once; later calls reuse it).
 * @throws Error when `configuredDir` is given but holds no espeak-ng data.
 */
export function resolveEspeakDataDir(configuredDir: string, cacheDir: string): string {
  if (configuredDir !== '') {
    if (!isDataDir(configuredDir)) {
      throw new Error(
        `TTSQ_ESPEAK_DATA_DIR ${configuredDir} has no ${MARKER_FILE}: not espeak-ng data`,
      );
    }
    return configuredDir;
  }
  const system = SYSTEM_DATA_DIRS.find(isDataDir);
  if (system) return system;

  const extracted = path.join(cacheDir, 'espeak-ng-data');
  if (!isDataDir(extracted)) {
    fs.mkdirSync(cacheDir, { recursive: true });
    extractBundled(extracted);
  }
  return extracted;
}

/** Lower-cased names of the voices and languages under `dataDir/lang` and `dataDir/voices`. */
export function espeakVoiceNames(dataDir: string): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name));
      else names.add(entry.name.toLowerCase());
    }
  };
  for (const sub of ['lang', 'voices']) {
    if (fs.existsSync(path.join(dataDir, sub))) walk(path.join(dataDir, sub));
  }
  return names;
}
