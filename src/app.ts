import type { Duplex } from 'node:stream'
import fastifyCookie from '@fastify/cookie'
import fastifyFormbody from '@fastify/formbody'
import fastifySession from '@fastify/session'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Config } from './config.js'
import { DatabaseUnavailableError, isConnectionFailure, isPoolBusy } from './db/pool.js'
import { applySchema } from './db/schema.js'
import { sendPage, sendPlain } from './http.js'
import { padErrorBody } from './error-page-size.js'
import { registerResponseHeaders } from './response-headers.js'
import { chatRoutes } from './routes/chat.js'
import { loginRoutes } from './routes/login.js'
import { metricsRoutes } from './routes/metrics.js'
import { pageRoutes } from './routes/pages.js'
import { postRoutes } from './routes/post.js'
import { threadRoutes } from './routes/thread.js'
import { createServices, type Services } from './services.js'
import { sessionCookieName, sessionCookieOptions } from './session.js'
import { retryPoll } from '../views/worker-frames.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's shared services (database, room, repositories); tests look behind the pages with it. */
    jenchat: Services
  }
}

export interface BuildOptions {
  logger?: FastifyServerOptions['logger']
}

/** Bodies are one short form; anything bigger is not from our pages. */
const BODY_LIMIT = 8 * 1024

/** Builds the whole app (database, room, routes) and never listens: server.ts and tests do. */
export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: BODY_LIMIT,
    // Slow or stuck clients: a whole request must arrive within REQUEST_TIMEOUT_MS (checked every
    // second, not Node's default 30 s), and an idle keep-alive socket is closed. Headers are read up
    // to MAX_HEADER_BYTES (Node's default is 16 KB; a browser sends well under 2 KB to this app):
    // every header check's cost is bounded by it, and a larger block gets 431 (answerClientError).
    requestTimeout: config.limits.requestTimeoutMs,
    http: {
      headersTimeout: config.limits.requestTimeoutMs,
      connectionsCheckingInterval: 1000,
      maxHeaderSize: config.limits.maxHeaderBytes
    },
    connectionTimeout: 120_000,
    keepAliveTimeout: 75_000,
    trustProxy: config.trustProxy,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 100 },
    // Requests the router can't even read (bad %-escapes in the path) get the same short answer as
    // any other bad input, not Fastify's JSON error.
    frameworkErrors: (error, _request, reply) => {
      void sendPlain(reply, error.statusCode ?? 400, 'Bad request')
    },
    // Requests Node's HTTP parser rejects never reach Fastify: answer them in plain text too.
    clientErrorHandler: answerClientError
  })

  const services = createServices(config, app.log)
  app.decorate('jenchat', services)
  app.addHook('onClose', async () => {
    await services.room.stop()
    await services.db.close()
  })

  await applySchema(services.db, app.log)
  await services.room.start()

  // Our pages only ever send urlencoded forms; JSON and plain text get a 415 like anything else.
  app.removeAllContentTypeParsers()
  await app.register(fastifyFormbody, { bodyLimit: BODY_LIMIT })
  // The same secret signs session cookies (in @fastify/session) and verifies them in thread.php.
  await app.register(fastifyCookie, { secret: config.sessionSecret })
  registerResponseHeaders(app)

  app.setNotFoundHandler(async (_request, reply) => sendPlain(reply, 404, 'Not found'))

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      // Bad input: a short answer, no stack, no internals.
      return sendPlain(reply, status, error.code === undefined ? 'Bad request' : shortReason(error))
    }
    if (isConnectionFailure(error) || error instanceof DatabaseUnavailableError) {
      request.log.warn({ url: request.url, code: error.code }, 'database unreachable')
    } else if (isPoolBusy(error)) {
      request.log.warn({ url: request.url }, 'database busy: too many queries waiting')
    } else {
      request.log.error({ err: error, url: request.url, method: request.method }, 'request failed')
    }
    const path = request.url.split('?', 1)[0]
    if (path === '/thread.php') {
      // The thread frame must keep its loop alive through any failure, just more slowly.
      return sendPage(reply, retryPoll(config.timings.errorRetryMs), 503)
    }
    if (path === '/post.php' && request.method === 'POST') return await reply.redirect('post.php?notice=failed', 302)
    return sendPlain(reply.header('retry-after', 5), 503, 'The chat is unavailable right now. Please try again in a moment.')
  })

  await app.register(pageRoutes, { services })
  // The pages that use sessions the ordinary way share one encapsulated context with
  // @fastify/session. The poll, once per participant per second, stays outside it and reads the
  // session through the same store without @fastify/session's per-request bookkeeping (two HMACs and
  // two SHA-256 hashes of the session for a request that never changes it); see routes/thread.ts.
  await app.register(async (pages) => {
    await pages.register(fastifySession, {
      secret: config.sessionSecret,
      cookieName: sessionCookieName(config),
      store: services.sessionStore,
      // A session exists only from login on, and is written then and never again.
      saveUninitialized: false,
      rolling: false,
      cookie: sessionCookieOptions(config)
    })
    await pages.register(loginRoutes, { services })
    await pages.register(chatRoutes, { services })
    await pages.register(postRoutes, { services })
  })
  await app.register(threadRoutes, { services })
  await app.register(metricsRoutes, { services })
  return app
}

const CLIENT_ERRORS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout'
}

function answerClientError (error: NodeJS.ErrnoException, socket: Duplex): void {
  if (socket.writable && !(socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    const status = CLIENT_ERRORS[error.code ?? ''] ?? '400 Bad Request'
    const body = padErrorBody(status.slice(4) + '\n')
    socket.write(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

function shortReason (error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return 'Request body too large'
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return 'Unsupported content type: send application/x-www-form-urlencoded'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH': return 'Invalid request body'
    default: return 'Bad request'
  }
}
