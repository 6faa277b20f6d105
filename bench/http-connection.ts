import { connect, type Socket } from 'node:net'
import { gunzipSync } from 'node:zlib'

/*
 * One browser's keep-alive connection, on a raw socket. node:http's client costs about twice the
 * CPU per request (ClientRequest, IncomingMessage and header objects for every poll), and the load
 * generator shares the 2 cores with the server and the database. Counting the bytes on the socket
 * also gives the exact size of every response, headers included.
 */

export interface HttpResponse {
  status: number
  /** Status line and headers, as received (latin1). */
  head: string
  /** The body as it came over the wire (gzip-compressed when `gzipped`). */
  body: Buffer
  /** Content-Encoding: gzip. */
  gzipped: boolean
  /** Bytes of the whole response on the wire, headers and body. */
  bytes: number
}

export type ResponseCallback = (error: Error | null, response: HttpResponse | null) => void

export class TimeoutError extends Error {
  constructor () {
    super('no response in time')
    this.name = 'TimeoutError'
  }
}

interface Pending {
  request: string
  callback: ResponseCallback
  onSent: ((at: number) => void) | undefined
}

const HEAD_END = Buffer.from('\r\n\r\n')
const MAX_HEAD = 16 * 1024

/**
 * Sends HTTP/1.1 requests one at a time (no pipelining, as a browser on one connection), queues the
 * others, and opens a new socket when the server closed the previous one.
 */
export class HttpConnection {
  private socket: Socket | null = null
  private readonly queue: Pending[] = []
  private current: Pending | null = null
  private buffer: Buffer | null = null
  private headEnd = -1
  private head = ''
  private bodyLength = -1
  private chunked = false
  private gzipped = false
  private closeAfter = false
  /** performance.now() when the request in flight was written, or -1. */
  sentAt = -1
  /** performance.now() when the latest request was written (still set in its callback). */
  lastSentAt = -1
  bytesIn = 0
  bytesOut = 0

  /** `localAddress`: the source address (any 127.x.y.z on loopback), so a server sees distinct clients. */
  constructor (private readonly host: string, private readonly port: number, private readonly localAddress?: string) {}

  /**
   * `request` is the complete request text (ASCII). The callback runs once; `onSent` when the
   * request is written (it may wait behind the one in flight).
   */
  send (request: string, callback: ResponseCallback, onSent?: (at: number) => void): void {
    const pending = { request, callback, onSent }
    if (this.current === null) this.start(pending)
    else this.queue.push(pending)
  }

  sendAsync (request: string): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      this.send(request, (error, response) => { if (error !== null) reject(error); else resolve(response as HttpResponse) })
    })
  }

  /** Fails the request in flight if it has waited longer than `timeoutMs` (called by a shared sweep). */
  checkTimeout (now: number, timeoutMs: number): void {
    if (this.current !== null && this.sentAt >= 0 && now - this.sentAt > timeoutMs) this.fail(new TimeoutError())
  }

  /** Closes the socket; queued requests are dropped without callback. */
  close (): void {
    this.queue.length = 0
    this.current = null
    this.reset()
    this.socket?.destroy()
    this.socket = null
  }

  private start (pending: Pending): void {
    this.current = pending
    if (this.socket === null) this.socket = this.open()
    this.sentAt = performance.now()
    this.lastSentAt = this.sentAt
    this.bytesOut += pending.request.length
    this.socket.write(pending.request, 'latin1')
    pending.onSent?.(this.sentAt)
  }

  private open (): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true, ...(this.localAddress === undefined ? {} : { localAddress: this.localAddress }) })
    socket.on('data', (chunk: Buffer) => { if (this.socket === socket) this.onData(chunk) })
    socket.on('error', (error) => { if (this.socket === socket) this.fail(error) })
    socket.on('close', () => { if (this.socket === socket) this.fail(new Error('connection closed by the server')) })
    return socket
  }

  /** The socket is unusable: fail the request in flight, carry on with the queue on a new socket. */
  private fail (error: Error): void {
    const socket = this.socket
    this.socket = null
    socket?.destroy()
    this.reset()
    const current = this.current
    this.current = null
    if (current !== null) current.callback(error, null)
    this.next()
  }

  private next (): void {
    if (this.current !== null) return
    const pending = this.queue.shift()
    if (pending !== undefined) this.start(pending)
  }

  private reset (): void {
    this.buffer = null
    this.headEnd = -1
    this.head = ''
    this.bodyLength = -1
    this.chunked = false
    this.gzipped = false
    this.closeAfter = false
    this.sentAt = -1
  }

  private onData (chunk: Buffer): void {
    this.bytesIn += chunk.length
    if (this.current === null) {
      this.fail(new Error('data from the server with no request in flight'))
      return
    }
    const buffer = this.buffer === null ? chunk : Buffer.concat([this.buffer, chunk])
    this.buffer = buffer
    if (this.headEnd < 0 && !this.parseHead(buffer)) return

    const bodyStart = this.headEnd + 4
    let body: Buffer
    let total: number
    if (this.chunked) {
      let decoded
      try {
        decoded = decodeChunked(buffer, bodyStart)
      } catch (error) {
        this.fail(error as Error)
        return
      }
      if (decoded === null) return
      body = decoded.body
      total = decoded.end
    } else {
      total = bodyStart + this.bodyLength
      if (buffer.length < total) return
      body = buffer.subarray(bodyStart, total)
    }
    if (buffer.length > total) {
      this.fail(new Error('more bytes than the response announced'))
      return
    }
    const response: HttpResponse = { status: statusOf(this.head), head: this.head, body, gzipped: this.gzipped, bytes: total }
    const current = this.current
    const closeAfter = this.closeAfter
    this.current = null
    this.reset()
    if (closeAfter) {
      this.socket?.destroy()
      this.socket = null
    }
    current.callback(null, response)
    this.next()
  }

  /** False while the head is incomplete; fails the request on a malformed head. */
  private parseHead (buffer: Buffer): boolean {
    const end = buffer.indexOf(HEAD_END)
    if (end < 0) {
      if (buffer.length > MAX_HEAD) this.fail(new Error('response head too long'))
      return false
    }
    this.headEnd = end
    this.head = buffer.toString('latin1', 0, end)
    const lower = this.head.toLowerCase()
    this.chunked = /\r\ntransfer-encoding:[^\r]*chunked/.test(lower)
    this.gzipped = /\r\ncontent-encoding: *gzip/.test(lower)
    this.closeAfter = /\r\nconnection:[^\r]*close/.test(lower) || lower.startsWith('http/1.0')
    if (!this.chunked) {
      const length = /\r\ncontent-length: *(\d+)/.exec(lower)
      const status = statusOf(this.head)
      // 1xx, 204 and 304 have no body; anything else must say how long it is (we never read to EOF).
      if (length === null && !(status < 200 || status === 204 || status === 304)) {
        this.fail(new Error('response without content-length'))
        return false
      }
      this.bodyLength = length === null ? 0 : Number(length[1])
    }
    return true
  }
}

function statusOf (head: string): number {
  return Number(head.slice(9, 12))
}

/** The body of a chunked response once it is complete, or null while more bytes are needed. */
function decodeChunked (buffer: Buffer, start: number): { body: Buffer, end: number } | null {
  const parts: Buffer[] = []
  let at = start
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at, 'latin1')
    if (lineEnd < 0) return null
    const size = parseInt(buffer.toString('latin1', at, lineEnd), 16)
    if (Number.isNaN(size)) throw new Error('bad chunk size')
    const dataStart = lineEnd + 2
    if (size === 0) {
      // No trailers from our servers: the last chunk is followed by one empty line.
      if (buffer.length < dataStart + 2) return null
      return { body: Buffer.concat(parts), end: dataStart + 2 }
    }
    if (buffer.length < dataStart + size + 2) return null
    parts.push(buffer.subarray(dataStart, dataStart + size))
    at = dataStart + size + 2
  }
}

/** The body as the page's script sees it: decompressed. */
export function decodedBody (response: HttpResponse): Buffer {
  return response.gzipped ? gunzipSync(response.body) : response.body
}

/** Value of every header named `name` (lower case) in a response head. */
export function headerValues (head: string, name: string): string[] {
  const values: string[] = []
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) values.push(line.slice(colon + 1).trim())
  }
  return values
}
