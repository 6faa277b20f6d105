import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { NO_CACHE_HEADERS, POLL_NO_CACHE_HEADERS } from './http.js'

/** Routes whose answers browsers may cache (everything else is per-session and never cached). */
const CACHEABLE = new Set(['/contents.html'])

/**
 * The thread frame's poll: fetched by every participant every second, from a zero-size frame with
 * no links and no subresources. Its headers are kept to what it needs, so that an empty poll stays
 * within the tutorial's one-packet budget (600 bytes): no Referrer-Policy (it links to nothing), a
 * short Expires (see POLL_NO_CACHE_HEADERS).
 */
const POLL = '/thread.php'

/**
 * Security and caching headers for every response, in one place:
 * - framing: the app frames its own pages, nobody else may (CSP for current browsers,
 *   X-Frame-Options for the older ones that ignore CSP);
 * - nosniff on every response (ASVS 5.0 V3.4.4);
 * - no-cache: PHP's "nocache" session limiter headers, which old IE needs on iframe GETs;
 * - nothing that breaks plain HTTP (no HSTS, no upgrade-insecure-requests).
 */
export function registerResponseHeaders (app: FastifyInstance): void {
  // A callback hook rather than an async one: it runs on every poll, and a promise per response
  // is measurable there.
  app.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) => {
    reply.header('content-security-policy', "frame-ancestors 'self'")
    reply.header('x-frame-options', 'SAMEORIGIN')
    reply.header('x-content-type-options', 'nosniff')
    const route = request.routeOptions.url
    if (route === POLL) {
      // HTTP/1.1 connections persist by default; Node's "Connection: keep-alive" and "Keep-Alive"
      // lines would add 48 bytes to every poll and tell an HTTP/1.1 client nothing new.
      if (request.raw.httpVersion === '1.1' && !/close/i.test(request.headers.connection ?? '')) {
        reply.raw.removeHeader('connection')
      }
      if (!reply.hasHeader('cache-control')) reply.headers(POLL_NO_CACHE_HEADERS)
    } else {
      reply.header('referrer-policy', 'same-origin')
    }
    if (!reply.hasHeader('cache-control') && (route === undefined || !CACHEABLE.has(route))) {
      reply.headers(NO_CACHE_HEADERS)
    }
    done(null, payload)
  })
}
