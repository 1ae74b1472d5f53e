// Turns every error an HTTP request meets into one body shape,
// `{statusCode, code, error, message}`, with a stable `TTSQ_…` code.

import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError, TtsqError, UnavailableError } from '../errors.js';

/** The error body of every non-2xx JSON response. */
export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

/** Fastify's own request errors, mapped to ttsq codes. */
const FRAMEWORK_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'TTSQ_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'TTSQ_JSON_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'TTSQ_JSON_INVALID',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'TTSQ_MEDIA_TYPE_UNSUPPORTED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'TTSQ_BODY_INVALID',
};

/** Builds an error body for a status and code. */
export function errorBody(statusCode: number, code: string, message: string): ErrorBody {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

/** Installs the error and not-found handlers on a Fastify instance. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const body = toErrorBody(error);
    if (body.statusCode >= 500 && !(error instanceof UnavailableError)) {
      request.log.error({ err: error }, 'request failed');
    }
    const retryAfter = retryAfterOf(error);
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    return reply.status(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(
        errorBody(
          404,
          'TTSQ_ROUTE_NOT_FOUND',
          `no route for ${request.method} ${request.url.split('?')[0]}`,
        ),
      ),
  );
}

function toErrorBody(error: FastifyError): ErrorBody {
  if (error instanceof TtsqError) return errorBody(error.statusCode, error.code, error.message);
  if (error.validation) {
    const part = error.validationContext ?? 'request';
    return errorBody(400, `TTSQ_${part.toUpperCase()}_INVALID`, error.message);
  }
  const mapped = FRAMEWORK_CODES[error.code];
  const status = error.statusCode ?? 500;
  if (mapped) return errorBody(status, mapped, error.message);
  if (status < 500) return errorBody(status, 'TTSQ_BAD_REQUEST', error.message);
  return errorBody(500, 'TTSQ_INTERNAL', 'internal error');
}

function retryAfterOf(error: unknown): number | undefined {
  if (error instanceof UnavailableError) return error.retryAfterSeconds;
  if (error instanceof ConflictError) return error.retryAfterSeconds;
  return undefined;
}
