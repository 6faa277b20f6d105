import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { loadConfig } from '../src/config.js'
import { MIX_IDS, MIX_NAMES, type AttackId, type AttackSettings, type MixId } from './attack-mixes.js'
import type { TallyReport } from './attack-traffic.js'
import type { AttackDone, AttackJob } from './attack-worker.js'
import type { BenchOptions } from './bench.js'
import { HonestCrowd } from './honest-crowd.js'
import { Histogram } from './histogram.js'
import { CpuMeter, groupRssMb, openFileLimit, processTree } from './process-stats.js'
import { ATTACK_WORKER_SCRIPT, startRealServer, type Target } from './target-server.js'
import { WindowStats } from './window-stats.js'

/** What the attack mode does: which mixes, how long, how hard. */
export interface AttackPlan {
  mixes: MixId[]
  /** A window of honest users alone before the first mix, to compare with. */
  reference: boolean
  attackMs: number
  /** Honest users alone between two mixes. */
  restMs: number
  /** After a mix, wait at most this long for the honest users to be held again. */
  recoveryMaxMs: number
  /** Requests (or new connections) a second at most, per attack. */
  rate: number
  connections: number
  slowClients: number
}

export function defaultAttackPlan (): AttackPlan {
  return { mixes: [...MIX_IDS], reference: true, attackMs: 20_000, restMs: 5000, recoveryMaxMs: 20_000, rate: 2000, connections: 50, slowClients: 200 }
}

export const ATTACK_GOALS = {
  maxRssMb: 200,
  /** Every mix but all-at-once. */
  held: { minPollRatio: 0.95, maxP99Ms: 250 },
  /** All at once. */
  allAtOnce: { minPollRatio: 0.80, maxRecoveryS: 5 }
}

/** The honest users are judged in windows this long, after an attack, to see when they are held again. */
const BUCKET_MS = 500
/** Held again: this many windows in a row, taken together, meet the goal. */
const HELD_BUCKETS = 4
const ATTACKER_ADDRESS = '127.66.0.1'
/**
 * The server's own defaults where the ordinary benchmark changes them: there every user logs in
 * from 127.0.0.1, so it turns the per-address login limit off; here the honest users have
 * addresses of their own and the limit is part of what is measured. (An empty value is the default.)
 */
const AS_NPM_START = { LOGIN_LIMIT: '' }

export interface MixResult {
  mix: MixId | 'none'
  name: string
  /** The server was restarted (after the previous mix killed it) and everyone joined again. */
  restartedBefore: boolean
  honest: {
    users: number
    pollingAtStart: number
    polls: { intended: number, answered: number, ratio: number }
    latencyMs: { p50: number, p99: number, max: number }
    errors: { total: number, byKind: Record<string, number> }
    delivery: { deliveries: number, lost: number, duplicates: number, late: number }
  }
  server: {
    survived: boolean
    /** How it ended and what its log said last, when it did not survive. */
    death: string | null
    /** Seconds into the attack when it was found gone. */
    diedAfterS: number | null
    rssPeakMb: number | null
    cpuPercent: number | null
  }
  attack: {
    seconds: number
    requests: number
    perS: number
    outcomes: Record<string, number>
    byAttack: Partial<Record<AttackId, TallyReport>>
  } | null
  /** Seconds after the attack stopped until the honest users were held again; null: not within the limit. */
  recoveryS: number | null
  /** Every half second from the start of the attack: honest polls answered (of intended) and their p99. */
  timeline: Array<{ t: number, phase: 'attack' | 'after', ratio: number, p99: number | null }>
  generator: { eventLoopDelayP99Ms: number, cpuPercent: number }
  goals: { met: boolean, misses: string[] }
}

export interface AttackReport {
  version: 1
  mode: 'attack'
  startedAt: string
  finishedAt: string
  command: string
  machine: { cpus: number, cpuModel: string, node: string, openFiles: number }
  /** Load averages (1, 5, 15 min) when the run started and ended: other work on the machine. */
  loadAverage: { start: number[], end: number[] }
  settings: {
    users: number
    attackS: number
    restS: number
    recoveryMaxS: number
    rate: number
    connections: number
    slowClients: number
    warmupS: number
    postIntervalS: number
    serverEnv: Record<string, string>
    goals: typeof ATTACK_GOALS
  }
  /** Each start of the server (the first, and one after each death): how many honest users joined. */
  starts: Array<{ polling: number, joinErrors: Record<string, number> }>
  mixes: MixResult[]
  summary: { goalsMet: boolean, misses: string[] }
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const round = (value: number, digits = 1): number => Number.isFinite(value) ? Number(value.toFixed(digits)) : value

/** What the server's log says about its end (V8's "heap out of memory", an uncaught error). */
export function deathNote (target: Target): string {
  const how = target.exited() ?? 'gone'
  if (target.logFile === null || !existsSync(target.logFile)) return how
  const lines = readFileSync(target.logFile, 'utf8').split('\n').map((line) => line.trim()).filter((line) => line !== '')
  const fatal = lines.find((line) => /FATAL ERROR|out of memory/i.test(line))
  const last = fatal ?? lines.filter((line) => !line.startsWith('{')).at(-1)
  return last === undefined ? how : `${how}: ${last.slice(0, 200)}`
}

/**
 * The most posts flood control lets one participant store in `seconds` (FLOOD_* of the server's
 * settings): what attack e may get through, if the check and the insert are one.
 */
export function floodAllowance (serverEnv: Record<string, string>, seconds: number): number {
  const { limits } = loadConfig({ ...serverEnv })
  const ms = seconds * 1000
  // Windows slide: a burst at the start, one a window later, … and one at the very end.
  return Math.min(
    limits.burstCount * (Math.floor(ms / limits.burstWindowMs) + 1),
    limits.sustainedCount * (Math.floor(ms / limits.sustainedWindowMs) + 1)
  )
}

/** A running server with its honest users. */
interface Scene { target: Target, crowd: HonestCrowd }

/**
 * The attack mode: the real server (as `npm start` runs it) with honest users, then each mix of
 * attacks in turn while the users go on, each judged against ATTACK_GOALS. A server that dies is
 * started again (on a fresh database, everyone joins again) for the next mix.
 */
export async function runAttackBench (options: BenchOptions, plan: AttackPlan, command = ''): Promise<AttackReport> {
  const startedAt = new Date()
  const loadStart = loadavg().map((n) => round(n, 2))
  mkdirSync(options.tmpDir, { recursive: true })
  const users = options.users
  if (users + plan.connections * 8 + plan.slowClients + 100 > openFileLimit()) {
    throw new Error(`${users} users and the attacks need more sockets than this process may open (ulimit -n ${openFileLimit()})`)
  }
  const runTag = randomBytes(2).toString('hex')
  const crowdOptions = {
    joinRate: options.joinRate,
    joinConcurrency: options.joinConcurrency,
    postIntervalMs: options.postIntervalMs,
    timeoutMs: options.timeoutMs,
    retryMs: options.retryMs
  }

  const starts: AttackReport['starts'] = []
  const setUp = async (): Promise<Scene> => {
    options.progress('starting the server on a fresh database')
    const target = await startRealServer({ adminUrl: options.adminUrl, logDir: options.tmpDir, cpuProfileDir: null, env: { ...AS_NPM_START, ...options.serverEnv } })
    const crowd = new HonestCrowd(target, crowdOptions)
    try {
      const joining = new WindowStats()
      const polling = await crowd.join(users, joining)
      starts.push({ polling, joinErrors: Object.fromEntries(joining.errors) })
      options.progress(`${polling} of ${users} honest users polling (join errors: ${joining.errorCount()}); warm-up`)
      crowd.countInto(null)
      await sleep(options.warmupMs)
    } catch (error) {
      crowd.close()
      await target.stop()
      throw error
    }
    return { target, crowd }
  }

  const results: MixResult[] = []
  let scene: Scene | null = null
  try {
    scene = await setUp()
    const mixes: Array<MixId | 'none'> = [...(plan.reference ? ['none' as const] : []), ...plan.mixes]
    for (const [i, mix] of mixes.entries()) {
      let restartedBefore = false
      if (scene.target.exited() !== null) {
        scene.crowd.close()
        await scene.target.stop()
        scene = null
        scene = await setUp()
        restartedBefore = true
      }
      const settings: AttackSettings = {
        host: '127.0.0.1',
        port: Number(scene.target.url.port),
        basePath: scene.target.url.pathname,
        cookieName: options.serverEnv.COOKIE_SECURE === 'true' ? '__Host-jenchat' : 'jenchat',
        rate: plan.rate,
        connections: plan.connections,
        slowClients: plan.slowClients,
        timeoutMs: options.timeoutMs,
        attackerAddress: ATTACKER_ADDRESS,
        runTag: runTag + i.toString(36)
      }
      const result = await runMix(mix, scene, settings, plan, users, options)
      result.restartedBefore = restartedBefore
      results.push(result)
      options.progress(describeMix(result))
      if (i < mixes.length - 1 && scene.target.exited() === null) await sleep(plan.restMs)
    }
  } finally {
    if (scene !== null) {
      if (scene.target.exited() === null) await scene.crowd.leave()
      else scene.crowd.close()
      await scene.target.stop()
    }
  }

  const misses = results.flatMap((result) => result.goals.misses.map((miss) => `${result.mix}: ${miss}`))
  const cpuList = cpus()
  return {
    version: 1,
    mode: 'attack',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command,
    machine: { cpus: cpuList.length, cpuModel: cpuList[0]?.model ?? '?', node: process.version, openFiles: openFileLimit() },
    loadAverage: { start: loadStart, end: loadavg().map((n) => round(n, 2)) },
    settings: {
      users,
      attackS: plan.attackMs / 1000,
      restS: plan.restMs / 1000,
      recoveryMaxS: plan.recoveryMaxMs / 1000,
      rate: plan.rate,
      connections: plan.connections,
      slowClients: plan.slowClients,
      warmupS: options.warmupMs / 1000,
      postIntervalS: options.postIntervalMs / 1000,
      serverEnv: options.serverEnv,
      goals: ATTACK_GOALS
    },
    starts,
    mixes: results,
    summary: { goalsMet: misses.length === 0, misses }
  }
}

/** Starts the mix's attacks in a worker thread; resolves when they are under way, and to their tallies at the end. */
async function startAttack (job: AttackJob): Promise<{ done: Promise<AttackDone> }> {
  const worker = new Worker(ATTACK_WORKER_SCRIPT, { workerData: job })
  let started: () => void = () => undefined
  const running = new Promise<void>((resolve) => { started = resolve })
  const done = new Promise<AttackDone>((resolve, reject) => {
    // Bounded: the attacks end at their duration; a worker still busy well after is stopped.
    const limit = setTimeout(() => { void worker.terminate(); reject(new Error('the attack worker did not finish')) }, job.durationMs + 30_000)
    worker.on('message', (message: AttackDone | { started: true } | { error: string }) => {
      if ('started' in message) { started(); return }
      clearTimeout(limit)
      void worker.terminate()
      if ('error' in message) reject(new Error(message.error))
      else resolve(message)
    })
    worker.on('error', (error) => { clearTimeout(limit); started(); reject(error) })
    worker.on('exit', () => { started() })
  })
  await running
  return { done }
}

async function runMix (mix: MixId | 'none', scene: Scene, settings: AttackSettings, plan: AttackPlan, users: number, options: BenchOptions): Promise<MixResult> {
  const { target, crowd } = scene
  const pollingAtStart = crowd.polling
  const buckets: Array<{ phase: 'attack' | 'after', stats: WindowStats }> = []
  let phase: 'attack' | 'after' = 'attack'
  const nextBucket = (): void => {
    const stats = new WindowStats()
    buckets.push({ phase, stats })
    crowd.countInto(stats)
  }

  let rssPeak = 0
  let diedAt: number | null = null
  const sampleRss = (): void => {
    // The server and its workers, if WORKERS makes a cluster.
    const rss = target.pid === null ? null : groupRssMb(processTree(target.pid))
    if (rss !== null) rssPeak = Math.max(rssPeak, rss)
    if (diedAt === null && target.exited() !== null) diedAt = performance.now()
  }

  options.progress(`mix ${mix}: ${mix === 'none' ? 'no attack (reference)' : MIX_NAMES[mix]}, ${plan.attackMs / 1000} s`)
  const attack = mix === 'none'
    ? null
    : await startAttack({ mix, settings, durationMs: plan.attackMs })
  const started = performance.now()
  crowd.posting = true
  const cpu = new CpuMeter({ server: target.pid === null ? null : processTree(target.pid) })
  cpu.begin()
  const loopDelay = monitorEventLoopDelay({ resolution: 10 })
  loopDelay.enable()
  const rssTimer = setInterval(sampleRss, 250)
  sampleRss()
  nextBucket()
  const bucketTimer = setInterval(nextBucket, BUCKET_MS)
  let recoveryS: number | null = null
  let cpuPercent: Record<string, number | null>
  try {
    await sleep(plan.attackMs)
    cpuPercent = cpu.end()
    loopDelay.disable()
    // The attack stops: posting stops too, so that every message can be settled; the users go on polling.
    phase = 'after'
    crowd.posting = false
    nextBucket()
    const stopped = buckets.length - 1
    const afterStart = performance.now()
    // Held again: the first two seconds (four windows, taken together so that a small crowd's
    // half-second counts don't decide it) with enough polls and a low p99.
    const heldFrom = (first: number): boolean => {
      const windows = buckets.slice(first, first + HELD_BUCKETS).map((bucket) => bucket.stats)
      const latency = new Histogram()
      for (const stats of windows) latency.add(stats.pollLatency)
      const polls = windows.reduce((n, stats) => n + stats.polls, 0)
      return polls >= users * HELD_BUCKETS * BUCKET_MS / 1000 * ATTACK_GOALS.held.minPollRatio && latency.percentileMs(0.99) < ATTACK_GOALS.held.maxP99Ms
    }
    for (;;) {
      await sleep(BUCKET_MS)
      // The newest window is still filling.
      const complete = buckets.length - 1
      let first = -1
      for (let i = stopped; i + HELD_BUCKETS <= complete; i++) {
        if (heldFrom(i)) { first = i; break }
      }
      const elapsed = performance.now() - afterStart
      if (first >= 0 && elapsed >= options.graceMs) {
        recoveryS = (first - stopped) * BUCKET_MS / 1000
        break
      }
      if (elapsed >= plan.recoveryMaxMs || target.exited() !== null) break
    }
  } finally {
    clearInterval(bucketTimer)
    clearInterval(rssTimer)
    sampleRss()
    crowd.countInto(null)
    crowd.posting = true
  }
  crowd.tracker.settle(options.graceMs)
  const tallies = attack === null ? null : await attack.done.catch((error: unknown) => { options.progress(`mix ${mix}: ${String(error)}`); return null })

  const during = buckets.filter((bucket) => bucket.phase === 'attack').map((bucket) => bucket.stats)
  const latency = new Histogram()
  const errors = new Map<string, number>()
  let answered = 0
  for (const stats of during) {
    latency.add(stats.pollLatency)
    answered += stats.polls
    for (const [kind, n] of stats.errors) errors.set(kind, (errors.get(kind) ?? 0) + n)
  }
  const all = buckets.map((bucket) => bucket.stats)
  const sum = (pick: (stats: WindowStats) => number): number => all.reduce((n, stats) => n + pick(stats), 0)
  const intended = Math.round(users * plan.attackMs / 1000)
  const survived = target.exited() === null
  // The last lines a dying process wrote may still be in the pipe to its log.
  if (!survived) await sleep(500)
  const outcomes: Record<string, number> = {}
  let requests = 0
  for (const tally of Object.values(tallies?.tallies ?? {})) {
    requests += tally.requests
    for (const [outcome, n] of Object.entries(tally.outcomes)) outcomes[outcome] = (outcomes[outcome] ?? 0) + n
  }
  const generator = cpuPercent.generator ?? 0
  const flood = tallies?.tallies.e
  if (flood !== undefined) flood.counters['flood control allows at most'] = floodAllowance(options.serverEnv, plan.attackMs / 1000)
  const result: MixResult = {
    mix,
    name: mix === 'none' ? 'no attack (reference)' : MIX_NAMES[mix],
    restartedBefore: false,
    honest: {
      users,
      pollingAtStart,
      polls: { intended, answered, ratio: round(answered / intended, 3) },
      latencyMs: { p50: round(latency.percentileMs(0.5), 2), p99: round(latency.percentileMs(0.99), 2), max: round(latency.maxMs(), 2) },
      errors: { total: [...errors.values()].reduce((a, b) => a + b, 0), byKind: Object.fromEntries(errors) },
      delivery: { deliveries: sum((s) => s.deliveries), lost: sum((s) => s.lost), duplicates: sum((s) => s.duplicates), late: sum((s) => s.late) }
    },
    server: {
      survived,
      death: survived ? null : deathNote(target),
      diedAfterS: diedAt === null ? null : round((diedAt - started) / 1000),
      rssPeakMb: target.pid === null ? null : round(rssPeak),
      cpuPercent: cpuPercent.server === null || cpuPercent.server === undefined ? null : round(cpuPercent.server)
    },
    attack: tallies === null
      ? null
      : { seconds: tallies.seconds, requests, perS: round(requests / (plan.attackMs / 1000), 0), outcomes, byAttack: tallies.tallies },
    recoveryS,
    timeline: buckets.map((bucket, i) => ({
      t: i * BUCKET_MS / 1000,
      phase: bucket.phase,
      ratio: round(bucket.stats.polls / (users * BUCKET_MS / 1000), 2),
      p99: bucket.stats.polls === 0 ? null : round(bucket.stats.pollLatency.percentileMs(0.99), 1)
    })),
    generator: { eventLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6), cpuPercent: round(generator) },
    goals: { met: true, misses: [] }
  }
  result.goals = judge(result)
  return result
}

/** The goals of ATTACK_GOALS a mix missed. */
export function judge (result: MixResult): { met: boolean, misses: string[] } {
  const misses: string[] = []
  const { honest, server } = result
  if (!server.survived) misses.push(`server died (${server.death ?? '?'})`)
  if (server.rssPeakMb !== null && server.rssPeakMb >= ATTACK_GOALS.maxRssMb) misses.push(`RSS ${server.rssPeakMb} MB`)
  const percent = `${(honest.polls.ratio * 100).toFixed(1)} % of polls`
  if (result.mix === 'h') {
    if (honest.polls.ratio < ATTACK_GOALS.allAtOnce.minPollRatio) misses.push(percent)
    if (result.recoveryS === null || result.recoveryS > ATTACK_GOALS.allAtOnce.maxRecoveryS) {
      misses.push(result.recoveryS === null ? 'not held again within the recovery limit' : `held again after ${result.recoveryS} s`)
    }
  } else {
    if (honest.polls.ratio < ATTACK_GOALS.held.minPollRatio) misses.push(percent)
    if (!(honest.latencyMs.p99 < ATTACK_GOALS.held.maxP99Ms)) misses.push(`p99 ${honest.latencyMs.p99} ms`)
    if (honest.delivery.lost > 0) misses.push(`${honest.delivery.lost} lost`)
    if (honest.delivery.duplicates > 0) misses.push(`${honest.delivery.duplicates} duplicates`)
  }
  return { met: misses.length === 0, misses }
}

export function describeMix (result: MixResult): string {
  const { honest, server } = result
  return `mix ${result.mix}: honest ${(honest.polls.ratio * 100).toFixed(1)} % of polls, p99 ${honest.latencyMs.p99} ms, ` +
    `lost ${honest.delivery.lost}, dup ${honest.delivery.duplicates}, errors ${honest.errors.total}; ` +
    `server ${server.survived ? 'survived' : 'DIED'}, RSS peak ${server.rssPeakMb ?? '?'} MB, CPU ${server.cpuPercent ?? '?'} %; ` +
    (result.attack === null ? '' : `attack ${result.attack.requests} requests; `) +
    `held again after ${result.recoveryS ?? '–'} s → ${result.goals.met ? 'goals met' : 'MISSED: ' + result.goals.misses.join('; ')}`
}
