import { connect } from 'node:net'
import { TimeoutError } from './http-connection.js'

/*
 * The parts every attack of the attack mode is made of: a pace that bounds its rate, a tally of how
 * the server answered it, and a one-shot exchange on a raw socket for requests that no well-behaved
 * client would send (a parser has to reject them, so nothing may be assumed about the answer).
 */

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** At most `perSecond` starts a second, shared by every worker of one attack. */
export class Pacer {
  private next = performance.now()

  constructor (private readonly perSecond: number) {}

  /** Resolves when the next start is allowed; false once `until` (performance.now()) has passed. */
  async take (until: number): Promise<boolean> {
    const now = performance.now()
    // Never bank more than a tenth of a second of unused starts: no burst after a pause.
    const at = Math.max(this.next, now - 100)
    this.next = at + 1000 / this.perSecond
    if (at > now) await sleep(at - now)
    return performance.now() < until
  }
}

/** How the server answered one attack: status codes and socket outcomes, counted. */
export class Tally {
  requests = 0
  readonly outcomes = new Map<string, number>()
  /** Finer counts an attack keeps for its own notes (e.g. posts stored, connections held). */
  readonly counters = new Map<string, number>()
  /** Seconds a slow client was held before the server closed it. */
  readonly heldSeconds: number[] = []

  count (outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1)
  }

  add (counter: string, by = 1): void {
    this.counters.set(counter, (this.counters.get(counter) ?? 0) + by)
  }

  toJSON (): TallyReport {
    const held = [...this.heldSeconds].sort((a, b) => a - b)
    return {
      requests: this.requests,
      outcomes: Object.fromEntries([...this.outcomes].sort(([a], [b]) => a.localeCompare(b))),
      counters: Object.fromEntries(this.counters),
      heldSeconds: held.length === 0
        ? null
        : { count: held.length, p50: round(held[Math.floor(held.length / 2)] as number), max: round(held.at(-1) as number) }
    }
  }
}

export interface TallyReport {
  requests: number
  /** Status codes ("403"), or what happened instead: reset, closed, timeout, refused (nobody listening). */
  outcomes: Record<string, number>
  counters: Record<string, number>
  heldSeconds: { count: number, p50: number, max: number } | null
}

const round = (value: number): number => Number(value.toFixed(1))

/** The name an error is counted under. */
export function outcomeOf (error: unknown): string {
  if (error instanceof TimeoutError) return 'timeout'
  const code = (error as NodeJS.ErrnoException | null)?.code
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset'
  if (code === 'ECONNREFUSED') return 'refused'
  if (error instanceof Error && error.message === 'connection closed by the server') return 'closed'
  return 'error ' + (code ?? (error instanceof Error ? error.message : String(error))).slice(0, 40)
}

export interface RawExchange {
  host: string
  port: number
  localAddress: string
  /** Written one after the other, `gapMs` apart. */
  parts: Array<string | Buffer>
  gapMs?: number
  timeoutMs: number
}

/**
 * Opens a connection, writes the parts, and waits for the first line of the answer: the status
 * code, or what happened instead. Never reads more (the body doesn't matter) and always closes.
 */
export async function rawExchange (exchange: RawExchange): Promise<string> {
  return await new Promise((resolve) => {
    const socket = connect({ host: exchange.host, port: exchange.port, localAddress: exchange.localAddress, noDelay: true })
    let received = ''
    let done = false
    const finish = (outcome: string): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(() => finish('timeout'), exchange.timeoutMs)
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1', 0, Math.min(chunk.length, 64))
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(received)
      if (status !== null) finish(status[1] as string)
      else if (received.length >= 12 || received.includes('\r\n')) finish('not http')
    })
    socket.on('error', (error) => finish(outcomeOf(error)))
    socket.on('close', () => finish('closed'))
    socket.on('connect', () => {
      void (async () => {
        for (const [i, part] of exchange.parts.entries()) {
          if (done) return
          if (i > 0 && exchange.gapMs !== undefined) await sleep(exchange.gapMs)
          if (!done) socket.write(part)
        }
      })()
    })
  })
}

/**
 * Runs `count` workers until `until`; each calls `work` again and again. A worker's error is
 * counted, never thrown: an attack goes on whatever the server does.
 */
export async function runWorkers (count: number, until: number, tally: Tally, work: (worker: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: count }, async (_, worker) => {
    while (performance.now() < until) {
      try {
        await work(worker)
      } catch (error) {
        tally.count(outcomeOf(error))
        // A server that is gone refuses at once: don't spin.
        await sleep(50)
      }
    }
  }))
}
