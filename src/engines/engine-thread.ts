// The engine thread: a `worker_threads` entry that owns one engine, so its synchronous synthesis
// never blocks the worker's main loop. The protocol it speaks lives in `engine-service.ts`.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { serveEngine, type EnginePort, type EngineThreadData } from './engine-service.js';

export type {
  EngineThreadCall,
  EngineThreadData,
  EngineThreadReply,
  EngineThreadRequest,
  EngineThreadStatus,
  SerializedEngineError,
} from './engine-service.js';

function threadPort(port: MessagePort): EnginePort {
  return {
    post: (message, transfer) => {
      port.postMessage(message, transfer);
      return Promise.resolve();
    },
    onMessage: (listener) => port.on('message', listener),
  };
}

if (!parentPort) throw new Error('engine-thread must run inside a worker thread');
await serveEngine(threadPort(parentPort), workerData as EngineThreadData);
