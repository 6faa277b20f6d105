import { randomBytes } from 'node:crypto'
import { DeliveryTracker } from './delivery-tracker.js'
import { joinUsers, leaveAll } from './load-run.js'
import { PollAnswerReader } from './poll-answers.js'
import type { LoadContext, SimulatedUser } from './simulated-user.js'
import type { Target } from './target-server.js'
import { WindowStats } from './window-stats.js'

/** People behind one address (a family, a small office); a classroom's NAT would be more. */
const USERS_PER_ADDRESS = 10

/**
 * The honest users' source address: 127.1.x.y, ten to an address, so that a limit per client
 * address (which the attacker, at 127.66.0.1, runs into) treats them as the many people they are.
 */
export function honestAddress (index: number): string {
  const group = Math.floor(index / USERS_PER_ADDRESS)
  return `127.1.${Math.floor(group / 250) + 1}.${(group % 250) + 1}`
}

export interface CrowdOptions {
  joinRate: number
  joinConcurrency: number
  postIntervalMs: number
  timeoutMs: number
  retryMs: number
}

/**
 * The simulated users of the attack mode (simulated-user.ts, as in every benchmark step), with
 * every message they post followed to every participant (delivery-tracker.ts).
 */
export class HonestCrowd {
  readonly users: SimulatedUser[] = []
  readonly tracker = new DeliveryTracker(this.users)
  private readonly context: LoadContext
  private readonly sweep: NodeJS.Timeout
  private readonly runTag = randomBytes(3).toString('hex')

  constructor (target: Target, private readonly options: CrowdOptions) {
    this.context = {
      host: '127.0.0.1',
      port: Number(target.url.port || 80),
      basePath: target.url.pathname,
      stats: null,
      tracker: this.tracker,
      answers: new PollAnswerReader(),
      posting: false,
      postIntervalMs: options.postIntervalMs,
      retryMs: options.retryMs,
      sourceAddress: honestAddress
    }
    this.sweep = setInterval(() => {
      const now = performance.now()
      for (const user of this.users) user.connection.checkTimeout(now, options.timeoutMs)
    }, 250)
  }

  /** Logs `count` users in at the join rate (their errors go to `stats`); resolves to how many poll. */
  async join (count: number, stats: WindowStats): Promise<number> {
    this.countInto(stats)
    this.context.posting = true
    // A busy machine may not let everyone in before joinUsers' deadline: those left out try again
    // (at most three rounds, each bounded), so every mix starts with the whole crowd if it can.
    for (let round = 0; round < 3 && this.active < count; round++) {
      const joinMs = Math.max(1000, (count - this.active) / this.options.joinRate * 1000)
      await joinUsers(this.users, count, this.runTag, this.context, stats, joinMs, this.options)
    }
    return this.polling
  }

  /** Where polls, errors and deliveries are counted from now on (null: nowhere). */
  countInto (stats: WindowStats | null): void {
    this.context.stats = stats
    this.tracker.currentStats = stats
  }

  set posting (on: boolean) {
    this.context.posting = on
  }

  /** Joining or in the room. */
  private get active (): number {
    return this.users.reduce((n, user) => n + (user.active ? 1 : 0), 0)
  }

  get polling (): number {
    return this.users.reduce((n, user) => n + (user.polling ? 1 : 0), 0)
  }

  /** Logs everyone out (bounded in time), then closes every connection. */
  async leave (): Promise<void> {
    this.countInto(null)
    this.context.posting = false
    await leaveAll(this.users, this.options)
    this.close()
  }

  /** Closes every connection at once (the server is gone: nobody to log out from). */
  close (): void {
    clearInterval(this.sweep)
    for (const user of this.users) user.close()
  }
}
