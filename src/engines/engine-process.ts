// The engine process: a child of the worker that owns one engine whose native code may end its
// process (sherpa-onnx exits on some malformed models). The worker loses the child, not itself.

import { serveEngine, type EnginePort, type EngineThreadData } from './engine-service.js';

function processPort(): EnginePort {
  return {
    post: (message) =>
      new Promise<void>((resolve, reject) => {
        process.send?.(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
      }),
    onMessage: (listener) => process.on('message', listener),
  };
}

if (!process.send) throw new Error('engine-process must run as a child process with IPC');
// A worker that died (even by SIGKILL) closes the channel: its engine goes with it.
process.once('disconnect', () => process.exit(0));
const data = JSON.parse(process.argv[2] ?? '{}') as EngineThreadData;
await serveEngine(processPort(), data);
