import { constants, gzipSync } from 'node:zlib'
import type { FastifyRequest } from 'fastify'

/*
 * gzip for pages, negotiated as every web server of the tutorial's time did it (mod_gzip,
 * mod_deflate, later nginx). A busy room's poll carries every message of the last second: at
 * 5,000 participants that is about 13 KB of markup that repeats itself, which gzip makes about
 * 2 KB. Small pages (the empty poll, the post frame) go as they are: compressing them would cost
 * more than it saves, and the empty poll keeps its one-packet budget either way.
 */

/** Pages below this many bytes are sent uncompressed (nginx's gzip_min_length is similar). */
export const MIN_COMPRESSED_BYTES = 1024

/**
 * How much of a User-Agent the check below reads. The browsers it looks for put their marks in the
 * first hundred characters (an IE 6 with every .NET add-on says about 200); reading no further
 * keeps the check's cost independent of what a client sends.
 */
export const USER_AGENT_CHECKED_LENGTH = 256

const MSIE_1_TO_6 = /MSIE [1-6]\./g

/**
 * Browsers that say they accept gzip but lose or garble it:
 * - MSIE 1–6 before XP SP2's "SV1" build (KB313712: IE 5.5/6 may lose the first 2,048 bytes of a
 *   compressed page; nginx's `gzip_disable "msie6"` is the same rule);
 * - Netscape 4.06–4.08 (Apache's mod_deflate documentation: "no-gzip" for ^Mozilla/4\.0[678]).
 * The regex of nginx and Apache, /MSIE [1-6]\.(?!.*SV1)/, reads the rest of the string after every
 * "MSIE 6." it meets, which is quadratic in a User-Agent that repeats it; here the rest is read
 * once, after the last one (if "SV1" follows none of them, it follows not the last one).
 */
export function mishandlesGzip (userAgent: string): boolean {
  const checked = userAgent.slice(0, USER_AGENT_CHECKED_LENGTH)
  if (/^Mozilla\/4\.0[678]/.test(checked)) return true
  let lastMsie = -1
  MSIE_1_TO_6.lastIndex = 0
  while (MSIE_1_TO_6.exec(checked) !== null) lastMsie = MSIE_1_TO_6.lastIndex
  return lastMsie !== -1 && !checked.includes('SV1', lastMsie)
}

/** Whether this request's browser takes a gzip-encoded answer (Accept-Encoding, with q-values). */
export function acceptsGzip (request: FastifyRequest): boolean {
  const accepted = request.headers['accept-encoding']
  if (accepted === undefined || (!accepted.includes('gzip') && !accepted.includes('*'))) return false
  if (mishandlesGzip(request.headers['user-agent'] ?? '')) return false
  let wildcard = false
  for (const part of accepted.split(',')) {
    const [coding = '', ...parameters] = part.split(';')
    const name = coding.trim().toLowerCase()
    const q = parameters.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='))
    const allowed = q === undefined || Number(q.slice(2)) > 0
    if (name === 'gzip' || name === 'x-gzip') return allowed
    if (name === '*') wildcard = allowed
  }
  return wildcard
}

/**
 * The fastest level: on a poll of 250 messages (12 KB) it takes half the time of the default
 * level for a result 2 % larger, and a busy room compresses a few hundred answers a second.
 */
export function gzip (body: Buffer): Buffer {
  return gzipSync(body, { level: constants.Z_BEST_SPEED })
}

/**
 * A page sent to many clients (a poll answer shared by everyone at one cursor): encoded once, and
 * compressed once, the first time a client that accepts gzip asks for it.
 */
export class SharedPage {
  private compressed: Buffer | null = null

  constructor (readonly body: Buffer) {}

  get gzipped (): Buffer {
    if (this.compressed === null) this.compressed = gzip(this.body)
    return this.compressed
  }
}
