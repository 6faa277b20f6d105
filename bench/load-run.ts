import { randomBytes } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { DeliveryTracker } from './delivery-tracker.js'
import { PollAnswerReader } from './poll-answers.js'
import { DatabaseCounters, type QueryRates } from './database-stats.js'
import { CpuMeter, groupRssMb, processRssMb, processTree } from './process-stats.js'
import { TimeoutError } from './http-connection.js'
import { JoinError, SimulatedUser, type LoadContext } from './simulated-user.js'
import type { Target } from './target-server.js'
import { WindowStats } from './window-stats.js'

export interface LoadOptions {
  /** Users in each step; a step adds users to those of the previous one. */
  steps: number[]
  warmupMs: number
  measureMs: number
  /** After the window: polling goes on, posting stops, so late deliveries are still seen. */
  graceMs: number
  /** Logins per second while users join (at least one second for a step: polls stay staggered). */
  joinRate: number
  joinConcurrency: number
  postIntervalMs: number
  timeoutMs: number
  retryMs: number
  /** Follow every message to every participant (not for the baseline, which delivers none). */
  trackDeliveries: boolean
  /** Stop the ramp after the first step that is not held. */
  stopAtFailure: boolean
  /** Stop starting new steps after this time (every run is bounded). */
  deadline: number
  criteria: { minPollRatio: number, maxP99Ms: number }
  progressEveryMs: number
  progress: (line: string) => void
}

export interface LatencySummary { p50: number, p95: number, p99: number, max: number }

export interface StepResult {
  users: number
  joined: number
  measuredSeconds: number
  polls: { intendedPerS: number, achievedPerS: number, ratio: number, count: number }
  pollLatencyMs: LatencySummary
  errors: { total: number, timeouts: number, byKind: Record<string, number>, warmup: number, afterWindow: number }
  delivery: {
    tracked: boolean
    latencyMs: { p50: number, p99: number, max: number }
    deliveries: number
    lost: number
    duplicates: number
    late: number
    warmupLost: number
    warmupDuplicates: number
  }
  posts: { count: number, perS: number, latencyMs: { p50: number, p99: number } }
  bytes: { emptyPoll: number, emptyPollMax: number, perPoll: number, perUserPerSIn: number, perUserPerSOut: number }
  /** Percent of one core; machine is the whole box, other = machine − the three processes. */
  cpuPercent: { server: number | null, database: number | null, generator: number, machine: number, other: number | null }
  rssMb: { server: number | null, database: number | null, generator: number }
  /** Statements per second on the database server (all of its clients), and per poll answered. */
  database: { queriesPerS: number | null, perPoll: number | null, selects: number | null, inserts: number | null, updates: number | null, deletes: number | null }
  generator: { eventLoopDelayP99Ms: number, saturated: boolean }
  held: boolean
  failures: string[]
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

const round = (value: number, digits = 1): number => Number.isFinite(value) ? Number(value.toFixed(digits)) : value

/**
 * Runs the steps of a ramp (or the single step of a plain run) against one target: each step lets
 * more users join, warms up, measures, then settles the deliveries. Users stay from step to step.
 */
export async function runLoad (
  target: Target,
  label: string,
  options: LoadOptions,
  database: { pid: number | null, counters: DatabaseCounters | null }
): Promise<StepResult[]> {
  const databasePid = database.pid
  const users: SimulatedUser[] = []
  const tracker = options.trackDeliveries ? new DeliveryTracker(users) : null
  const context: LoadContext = {
    host: '127.0.0.1',
    port: Number(target.url.port || 80),
    basePath: target.url.pathname,
    stats: null,
    tracker,
    answers: new PollAnswerReader(),
    posting: false,
    postIntervalMs: options.postIntervalMs,
    retryMs: options.retryMs
  }
  // Handles unique to this run, so a run against a live server (--url) never meets a previous one.
  const runTag = randomBytes(3).toString('hex')
  const results: StepResult[] = []

  // One sweep for all request timeouts, instead of a timer per request.
  const sweep = setInterval(() => {
    const now = performance.now()
    for (const user of users) user.connection.checkTimeout(now, options.timeoutMs)
  }, 250)

  let phase = 'starting'
  let phaseEnds = 0
  let lastPolls = 0
  let lastTick = performance.now()
  let lastStats: WindowStats | null = null
  const ticker = setInterval(() => {
    const stats = context.stats
    const now = performance.now()
    const polls = stats?.polls ?? 0
    // A new window started since the last line: its count began at the switch, not at the tick.
    const rate = stats === lastStats ? (polls - lastPolls) / ((now - lastTick) / 1000) : Number.NaN
    lastStats = stats
    lastPolls = polls
    lastTick = now
    const left = Math.max(0, Math.round((phaseEnds - now) / 1000))
    const polling = users.reduce((n, user) => n + (user.polling ? 1 : 0), 0)
    const p99 = stats === null ? Number.NaN : stats.pollLatency.percentileMs(0.99)
    options.progress(`[${label}] ${phase}${left > 0 ? ` (${left} s left)` : ''}: ${polling} polling, ${Number.isNaN(rate) ? '…' : Math.round(rate)} polls/s, ` +
      `p99 ${round(p99)} ms, errors ${stats?.errorCount() ?? 0}`)
  }, options.progressEveryMs)
  ticker.unref()

  try {
    for (const size of options.steps) {
      if (performance.now() > options.deadline) {
        options.progress(`[${label}] time limit reached: no more steps`)
        break
      }
      const warmup = new WindowStats()
      const measure = new WindowStats()
      const grace = new WindowStats()
      context.stats = warmup
      if (tracker !== null) tracker.currentStats = warmup
      context.posting = true

      phase = `${size} users: joining`
      const joinMs = Math.max(1000, (size - users.reduce((n, user) => n + (user.active ? 1 : 0), 0)) / options.joinRate * 1000)
      phaseEnds = performance.now() + joinMs
      await joinUsers(users, size, runTag, context, warmup, joinMs, options)
      const joined = users.reduce((n, user) => n + (user.polling ? 1 : 0), 0)

      phase = `${size} users: warm-up`
      phaseEnds = performance.now() + options.warmupMs
      await sleep(options.warmupMs)

      phase = `${size} users: measuring`
      phaseEnds = performance.now() + options.measureMs
      // With WORKERS > 1 the server is the primary and its workers: both figures are their sums.
      const serverPids = target.pid === null ? null : processTree(target.pid)
      const cpu = new CpuMeter({ server: serverPids, database: databasePid })
      const rss = { server: 0, database: 0, generator: 0 }
      const sampleRss = (): void => {
        rss.server = Math.max(rss.server, serverPids === null ? 0 : groupRssMb(serverPids) ?? 0)
        rss.database = Math.max(rss.database, databasePid === null ? 0 : processRssMb(databasePid) ?? 0)
        rss.generator = Math.max(rss.generator, process.memoryUsage.rss() / 1048576)
      }
      const loopDelay = monitorEventLoopDelay({ resolution: 10 })
      loopDelay.enable()
      context.stats = measure
      if (tracker !== null) tracker.currentStats = measure
      const queriesBefore = await database.counters?.read().catch(() => null) ?? null
      cpu.begin()
      const started = performance.now()
      const rssTimer = setInterval(sampleRss, 1000)
      sampleRss()
      await sleep(options.measureMs)
      const seconds = (performance.now() - started) / 1000
      const cpuPercent = cpu.end()
      const queriesAfter = await database.counters?.read().catch(() => null) ?? null
      const queries = queriesBefore === null || queriesAfter === null ? null : DatabaseCounters.rates(queriesBefore, queriesAfter, seconds)
      clearInterval(rssTimer)
      sampleRss()
      loopDelay.disable()

      phase = `${size} users: settling deliveries`
      phaseEnds = performance.now() + options.graceMs
      context.stats = grace
      if (tracker !== null) tracker.currentStats = grace
      context.posting = false
      await sleep(options.graceMs)
      tracker?.settle(options.graceMs)

      const result = summarise({
        users: size,
        joined,
        seconds,
        measure,
        warmup,
        grace,
        tracked: tracker !== null,
        cpuPercent,
        rss: { server: target.pid === null ? null : rss.server, database: databasePid === null ? null : rss.database, generator: rss.generator },
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
        queries,
        criteria: options.criteria
      })
      results.push(result)
      options.progress(`[${label}] ${describeStep(result)}`)
      if (!result.held && options.stopAtFailure) break
    }
  } finally {
    clearInterval(ticker)
    context.stats = null
    context.posting = false
    phase = 'leaving'
    await leaveAll(users, options)
    clearInterval(sweep)
    for (const user of users) user.close()
  }
  return results
}

export async function joinUsers (
  users: SimulatedUser[], count: number, runTag: string, context: LoadContext, stats: WindowStats, joinMs: number, options: Pick<LoadOptions, 'joinConcurrency'>
): Promise<void> {
  const first = users.length
  // Those who failed to join or were sent away in an earlier step are replaced.
  const toJoin = count - users.reduce((n, user) => n + (user.active ? 1 : 0), 0)
  if (toJoin <= 0) return
  const interval = joinMs / toJoin
  const start = performance.now()
  // Joining is bounded too: a server that can't log people in fails the step instead of hanging it.
  const deadline = start + joinMs + 30_000
  const inFlight = new Set<Promise<void>>()
  for (let i = 0; i < toJoin; i++) {
    const due = start + i * interval
    const wait = due - performance.now()
    if (wait > 1) await sleep(wait)
    while (inFlight.size >= options.joinConcurrency) await Promise.race(inFlight)
    if (performance.now() > deadline) {
      stats.error('join-deadline')
      break
    }
    const index = first + i
    const user = new SimulatedUser(index, `u${runTag}-${index}`, context)
    users.push(user)
    const joining: Promise<void> = user.join().catch((error: unknown) => {
      stats.error(error instanceof JoinError ? `join-${error.kind}` : error instanceof TimeoutError ? 'join-timeout' : 'join-socket')
      user.close()
    }).finally(() => { inFlight.delete(joining) })
    inFlight.add(joining)
  }
  const timeout = sleep(Math.max(0, deadline - performance.now()))
  await Promise.race([Promise.all(inFlight), timeout])
}

/** Everyone logs out (bounded in time; the server may be too loaded to answer everyone). */
export async function leaveAll (users: SimulatedUser[], options: Pick<LoadOptions, 'joinConcurrency'>): Promise<void> {
  for (const user of users) user.stop()
  const deadline = performance.now() + 15_000
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < users.length && performance.now() < deadline) {
      const user = users[next++] as SimulatedUser
      await user.logout().catch(() => undefined)
    }
  }
  await Promise.race([
    Promise.all(Array.from({ length: options.joinConcurrency }, worker)),
    sleep(15_000)
  ])
}

interface SummaryInput {
  users: number
  joined: number
  seconds: number
  measure: WindowStats
  warmup: WindowStats
  grace: WindowStats
  tracked: boolean
  cpuPercent: Record<string, number | null>
  rss: { server: number | null, database: number | null, generator: number }
  loopDelayP99Ms: number
  queries: QueryRates | null
  criteria: LoadOptions['criteria']
}

function summarise (input: SummaryInput): StepResult {
  const { measure, seconds, users } = input
  const achieved = measure.polls / seconds
  const latency = measure.pollLatency
  const cpu = input.cpuPercent
  const server = cpu.server ?? null
  const database = cpu.database ?? null
  const generator = cpu.generator ?? 0
  const machine = cpu.machine ?? 0
  const known = generator + (server ?? 0) + (database ?? 0)
  const result: StepResult = {
    users,
    joined: input.joined,
    measuredSeconds: round(seconds, 2),
    polls: { intendedPerS: users, achievedPerS: round(achieved), ratio: round(achieved / users, 3), count: measure.polls },
    pollLatencyMs: {
      p50: round(latency.percentileMs(0.5), 2),
      p95: round(latency.percentileMs(0.95), 2),
      p99: round(latency.percentileMs(0.99), 2),
      max: round(latency.maxMs(), 2)
    },
    errors: {
      total: measure.errorCount(),
      timeouts: measure.timeouts,
      byKind: Object.fromEntries([...measure.errors, ...[...input.warmup.errors].map(([k, v]) => [`warmup:${k}`, v] as const)]),
      warmup: input.warmup.errorCount(),
      afterWindow: input.grace.errorCount()
    },
    delivery: {
      tracked: input.tracked,
      latencyMs: {
        p50: round(measure.deliveryLatency.percentileMs(0.5)),
        p99: round(measure.deliveryLatency.percentileMs(0.99)),
        max: round(measure.deliveryLatency.maxMs())
      },
      deliveries: measure.deliveries,
      lost: measure.lost,
      duplicates: measure.duplicates,
      late: measure.late + input.grace.late,
      warmupLost: input.warmup.lost,
      warmupDuplicates: input.warmup.duplicates
    },
    posts: {
      count: measure.posts,
      perS: round(measure.posts / seconds),
      latencyMs: { p50: round(measure.postLatency.percentileMs(0.5), 2), p99: round(measure.postLatency.percentileMs(0.99), 2) }
    },
    bytes: {
      emptyPoll: measure.emptyPolls === 0 ? Number.NaN : Math.round(measure.emptyPollBytes / measure.emptyPolls),
      emptyPollMax: measure.emptyPollBytesMax,
      perPoll: measure.polls === 0 ? Number.NaN : Math.round(measure.pollBytes / measure.polls),
      perUserPerSIn: round(measure.bytesIn / seconds / users, 0),
      perUserPerSOut: round(measure.bytesOut / seconds / users, 0)
    },
    cpuPercent: {
      server: server === null ? null : round(server),
      database: database === null ? null : round(database),
      generator: round(generator),
      machine: round(machine),
      other: server === null ? null : round(Math.max(0, machine - known))
    },
    rssMb: {
      server: input.rss.server === null ? null : round(input.rss.server),
      database: input.rss.database === null ? null : round(input.rss.database),
      generator: round(input.rss.generator)
    },
    database: {
      queriesPerS: input.queries?.Questions ?? null,
      perPoll: input.queries === null || achieved === 0 ? null : round(input.queries.Questions / achieved, 3),
      selects: input.queries?.Com_select ?? null,
      inserts: input.queries === null ? null : input.queries.Com_insert + input.queries.Com_insert_select,
      updates: input.queries?.Com_update ?? null,
      deletes: input.queries?.Com_delete ?? null
    },
    // A generator that can't keep its own timers is measuring itself, not the server.
    generator: { eventLoopDelayP99Ms: round(input.loopDelayP99Ms), saturated: generator > 90 || input.loopDelayP99Ms > 100 },
    held: false,
    failures: []
  }
  const failures = result.failures
  if (input.joined < users) failures.push(`only ${input.joined} of ${users} users polling`)
  if (achieved / users < input.criteria.minPollRatio) failures.push(`polls ${(achieved / users * 100).toFixed(1)} % of intended`)
  if (!(result.pollLatencyMs.p99 < input.criteria.maxP99Ms)) failures.push(`p99 ${result.pollLatencyMs.p99} ms`)
  if (result.errors.total > 0) failures.push(`${result.errors.total} errors`)
  if (result.delivery.lost > 0) failures.push(`${result.delivery.lost} lost`)
  if (result.delivery.duplicates > 0) failures.push(`${result.delivery.duplicates} duplicates`)
  result.held = failures.length === 0
  return result
}

export function describeStep (step: StepResult): string {
  const delivery = step.delivery.tracked
    ? `, delivery p50 ${step.delivery.latencyMs.p50} ms p99 ${step.delivery.latencyMs.p99} ms, lost ${step.delivery.lost}, dup ${step.delivery.duplicates}`
    : ''
  return `${step.users} users: ${step.polls.achievedPerS}/${step.polls.intendedPerS} polls/s, ` +
    `p50 ${step.pollLatencyMs.p50} p99 ${step.pollLatencyMs.p99} max ${step.pollLatencyMs.max} ms, errors ${step.errors.total}${delivery}, ` +
    `cpu server ${step.cpuPercent.server ?? '?'} % db ${step.cpuPercent.database ?? '?'} % gen ${step.cpuPercent.generator} % → ` +
    (step.held ? 'HELD' : `NOT HELD (${step.failures.join('; ')})`)
}
