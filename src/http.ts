import type { FastifyReply } from 'fastify'
import { acceptsGzip, gzip, MIN_COMPRESSED_BYTES, SharedPage } from './compression.js'
import { MIN_ERROR_BODY_BYTES, padErrorBody } from './error-page-size.js'

/**
 * The headers PHP's default session cache limiter ("nocache") sent with every page of the original.
 * Old IE caches iframe GETs without them, and the thread frame would show the same poll for ever.
 */
export const NO_CACHE_HEADERS = {
  expires: 'Thu, 19 Nov 1981 08:52:00 GMT',
  'cache-control': 'no-store, no-cache, must-revalidate',
  pragma: 'no-cache'
} as const

/**
 * The same for the poll, with `Expires: 0` instead of the 1981 date: 28 bytes fewer on every poll,
 * which is what lets it carry `X-Content-Type-Options` and still fit the one-packet budget. The
 * meaning is the same for every cache: HTTP/1.0 caches treat 0 as "expires immediately" (RFC 1945
 * §10.7), HTTP/1.1 caches must read it as a time in the past (RFC 9111 §5.3) and obey the
 * Cache-Control line anyway, and Microsoft's advice for old IE is an invalid Expires (KB 234067: -1).
 */
export const POLL_NO_CACHE_HEADERS = { ...NO_CACHE_HEADERS, expires: '0' } as const

export const HTML = 'text/html; charset=utf-8'

/**
 * Sends a page (dynamic pages get the no-cache headers from response-headers.ts), gzip-compressed
 * when it is large enough and the browser takes it (compression.ts). An error page is padded to
 * old IE's minimum (error-page-size.ts); every 4xx/5xx the app sends goes through here or sendPlain.
 */
export function sendPage (reply: FastifyReply, page: string | Buffer | SharedPage, status = 200): FastifyReply {
  reply.code(status).type(HTML)
  const body = page instanceof SharedPage
    ? page.body
    : status >= 400 && page.length < MIN_ERROR_BODY_BYTES
      ? Buffer.from(padErrorBody(page.toString()))
      : typeof page === 'string' ? Buffer.from(page) : page
  if (body.length < MIN_COMPRESSED_BYTES || !acceptsGzip(reply.request)) return reply.send(body)
  // Only compressed answers name Vary: an uncompressed one suits every client, and leaving the
  // header off keeps the empty poll within its byte budget.
  return reply.header('content-encoding', 'gzip').header('vary', 'Accept-Encoding')
    .send(page instanceof SharedPage ? page.gzipped : gzip(body))
}

/**
 * A short plain-text answer, for requests no browser of ours makes (wrong method, bad body, …),
 * padded like an error page when it is one.
 */
export function sendPlain (reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(status >= 400 ? padErrorBody(text + '\n') : text + '\n')
}

/** A single value from a query string or form, or undefined when absent, repeated or not text. */
export function single (source: unknown, name: string): string | undefined {
  if (source === null || typeof source !== 'object') return undefined
  const value = (source as Record<string, unknown>)[name]
  return typeof value === 'string' ? value : undefined
}
