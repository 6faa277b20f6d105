import { decodedBody, type HttpResponse } from './http-connection.js'

/** What a thread-frame answer tells its browser, read from its body. */
export interface PollAnswer {
  /** The script sends the whole window away (`top.location`): the session has ended. */
  leave: boolean
  /** `var u="…"`: the URL of the next poll (an answer with messages), or null (poll the same URL). */
  next: string | null
  /** The delay of the script's `setTimeout("…",N)`, or null if it has none. */
  delayMs: number | null
  /** The posted texts it carries (`b<user>x<n>`, as DeliveryTracker keys), in order. */
  keys: readonly number[]
}

const SCHEDULE = /setTimeout\("[^"]*",(\d+)\)/
/** Distinct answers remembered at most (a few dozen new ones arrive per second). */
const REMEMBERED_MAX = 1024
/** Bytes at the end of a body that go into its fingerprint (the next cursor sits there). */
const FINGERPRINT_TAIL = 256

/**
 * Reads poll answers. Everyone who polls between two refreshes of the server gets the very same
 * bytes, so each distinct answer is decompressed and read once and remembered by its bytes: a
 * cheap fingerprint finds the candidates, a byte-for-byte comparison decides (identical bytes,
 * identical answer — nothing is assumed about the server).
 */
export class PollAnswerReader {
  private readonly remembered = new Map<number, Array<{ bytes: Buffer, answer: PollAnswer }>>()
  private count = 0

  read (response: HttpResponse): PollAnswer {
    const bytes = response.body
    const print = fingerprint(bytes, response.gzipped)
    const candidates = this.remembered.get(print)
    if (candidates !== undefined) {
      for (const candidate of candidates) if (candidate.bytes.equals(bytes)) return candidate.answer
    }
    const answer = parseAnswer(decodedBody(response).toString('latin1'))
    if (this.count >= REMEMBERED_MAX) {
      this.remembered.clear()
      this.count = 0
    }
    // A copy: the response's bytes are a view of a socket chunk that may be much larger.
    const entry = { bytes: Buffer.from(bytes), answer }
    if (candidates === undefined) this.remembered.set(print, [entry])
    else candidates.push(entry)
    this.count++
    return answer
  }
}

/** Reads a poll body (latin1). */
export function parseAnswer (body: string): PollAnswer {
  const u = body.indexOf('var u="')
  const next = u < 0 ? null : body.slice(u + 7, body.indexOf('"', u + 7))
  const scheduled = SCHEDULE.exec(body)
  return {
    leave: body.includes('top.location'),
    next,
    delayMs: scheduled === null ? null : Number(scheduled[1]),
    keys: next === null ? [] : messageKeys(body)
  }
}

/** FNV-1a over the length and the last bytes (gzip ends with the CRC-32 of what it holds). */
function fingerprint (bytes: Buffer, gzipped: boolean): number {
  let hash = (2166136261 ^ bytes.length ^ (gzipped ? 0x40000000 : 0)) >>> 0
  for (let i = Math.max(0, bytes.length - FINGERPRINT_TAIL); i < bytes.length; i++) {
    hash = Math.imul(hash ^ (bytes[i] as number), 16777619)
  }
  return hash >>> 0
}

/** The tracker's key of the text `b<sender>x<seq>`. */
export function messageKey (sender: number, seq: number): number {
  return sender * SEQ_SPAN + seq
}

export const SEQ_SPAN = 1_000_000

/**
 * The message keys in a poll body, in order: `<div><strong>NAME: </strong>b12x3</div>`.
 * Hand-rolled rather than a global regex: a poll may carry hundreds of messages.
 */
function messageKeys (body: string): number[] {
  const keys: number[] = []
  const marker = '</strong>b'
  let from = body.indexOf(marker)
  while (from >= 0) {
    let i = from + marker.length
    let sender = 0
    let seq = 0
    let c = body.charCodeAt(i)
    while (c >= 48 && c <= 57) { sender = sender * 10 + c - 48; c = body.charCodeAt(++i) }
    if (c === 120 /* x */) {
      c = body.charCodeAt(++i)
      while (c >= 48 && c <= 57) { seq = seq * 10 + c - 48; c = body.charCodeAt(++i) }
      if (c === 60 /* < */) keys.push(messageKey(sender, seq))
    }
    from = body.indexOf(marker, i)
  }
  return keys
}
