// Configuration: defaults, environment and flags, and clear errors for bad values.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configToEnv, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

describe('configuration', () => {
  it('has documented defaults', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.maxTextChars, 100_000);
    assert.equal(config.dataDir, path.resolve('./data'));
    assert.ok(config.workers >= 1);
    assert.ok(Object.isFrozen(config));
  });

  it('reads environment variables, and flags win over them', () => {
    const config = loadConfig({ TTSQ_PORT: '9000', TTSQ_WORKERS: '3' }, { port: '9100' });
    assert.equal(config.port, 9100);
    assert.equal(config.workers, 3);
  });

  it('names the setting and the accepted range when a value is bad', () => {
    assert.throws(
      () => loadConfig({ TTSQ_PORT: 'eighty' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /TTSQ_PORT \(--port\) must be an integer/);
        return true;
      },
    );
    assert.throws(
      () => loadConfig({ TTSQ_WORKERS: '-1' }),
      /TTSQ_WORKERS \(--workers\) must be between 0 and 256/,
    );
    assert.throws(() => loadConfig({ TTSQ_LOG_LEVEL: 'loud' }), /TTSQ_LOG_LEVEL must be one of/);
    assert.throws(() => loadConfig({ TTSQ_DEFAULT_VOICE: 'en-us' }), /engine:voice/);
    assert.throws(
      () => loadConfig({ TTSQ_BACKOFF_BASE_MS: '5000', TTSQ_BACKOFF_MAX_MS: '10' }),
      /BACKOFF_MAX_MS/,
    );
  });

  it('round-trips through environment variables for child processes', () => {
    const config = loadConfig({ TTSQ_PORT: '1234', TTSQ_LEASE_DURATION_MS: '777' });
    assert.deepEqual(loadConfig(configToEnv(config)), config);
  });
});
