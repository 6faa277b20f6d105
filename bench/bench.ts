import { cpus } from 'node:os'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AttackPlan } from './attack-run.js'
import { runLoad, type LoadOptions, type StepResult } from './load-run.js'
import { PAGE_NAMES, probePages, type CapturedPages, type PageName } from './page-probe.js'
import { DatabaseCounters } from './database-stats.js'
import { findDatabasePid, openFileLimit } from './process-stats.js'
import { summariseProfile, type ProfileSummary } from './profile-summary.js'
import { attachedServer, startBaselineServer, startRealServer, type Target } from './target-server.js'

/** The timings and rates of a step, as the load generator takes them. */
type StepSettings = Pick<LoadOptions, 'warmupMs' | 'measureMs' | 'graceMs' | 'joinRate' | 'joinConcurrency' | 'postIntervalMs' | 'timeoutMs' | 'retryMs'>

export interface BenchOptions extends StepSettings {
  /** Steps up through `steps` (else one step of `users`). */
  ramp: boolean
  /** The attack mode (attack-run.ts) instead of steps, or null. */
  attack: AttackPlan | null
  runReal: boolean
  runBaseline: boolean
  users: number
  steps: number[]
  baselineSteps: number[]
  /** Target this running server instead of starting one. */
  url: string | null
  serverPid: number | null
  /** MySQL server on which a fresh database is made for the real server (and dropped). */
  adminUrl: string
  cpuProfile: boolean
  /** Extra environment for the real server (e.g. DB_CONNECTIONS), to try its settings under load. */
  serverEnv: Record<string, string>
  /** The real server's WORKERS, one run each (on a fresh database), in this order. */
  workers: number[]
  /** Server logs, captured pages, CPU profiles. */
  tmpDir: string
  maxMinutes: number
  stopAtFailure: boolean
  progressEveryMs: number
  progress: (line: string) => void
}

/** The real server and the baseline climb the same steps; each stops at its first step not held. */
export const DEFAULT_STEPS = [500, 1000, 2000, 5000, 8000, 10_000, 12_000, 14_000, 16_000, 18_000]
/** Past the last given step, the baseline goes on to find the ceiling (10,000–14,000 on the reference machine). */
export const BASELINE_EXTRA_STEPS = [10_000, 12_000, 14_000, 16_000, 18_000]

/**
 * The most users one process can keep connected under an open-file limit (a socket each, and a
 * hundred files to spare), in steps of 500; null without a limit. The generator and each server
 * are single processes, so no server can hold more people than this on the machine.
 */
export function connectionLimit (openFiles: number): number | null {
  return Number.isFinite(openFiles) ? Math.floor((openFiles - 100) / 500) * 500 : null
}

/**
 * The default ramp, ending at the connection limit when that is within reach of it (a limit of
 * 20,000 files adds a step of 19,500 users; a higher one changes nothing).
 */
export function defaultSteps (openFiles: number): number[] {
  const limit = connectionLimit(openFiles)
  const last = DEFAULT_STEPS[DEFAULT_STEPS.length - 1] ?? 0
  if (limit === null || limit > last + 2000) return DEFAULT_STEPS
  return [...DEFAULT_STEPS.filter((n) => n < limit), limit]
}

export const CRITERIA = { minPollRatio: 0.95, maxP99Ms: 250 }

export function defaultOptions (): BenchOptions {
  const steps = defaultSteps(openFileLimit())
  return {
    ramp: false,
    attack: null,
    runReal: true,
    runBaseline: false,
    users: 1000,
    steps,
    baselineSteps: steps,
    warmupMs: 10_000,
    measureMs: 20_000,
    graceMs: 3000,
    joinRate: 500,
    joinConcurrency: 32,
    postIntervalMs: 20_000,
    timeoutMs: 10_000,
    retryMs: 2000,
    url: null,
    serverPid: null,
    adminUrl: 'mysql://root@127.0.0.1:3306/',
    cpuProfile: false,
    serverEnv: {},
    workers: [1],
    tmpDir: new URL('results/tmp/', benchSourceDir()).pathname,
    maxMinutes: 30,
    stopAtFailure: true,
    progressEveryMs: 2000,
    progress: (line) => { console.error(line) }
  }
}

/** bench/ in the repository, whether this runs compiled (dist/bench/) or as TypeScript. */
export function benchSourceDir (): URL {
  const here = new URL('.', import.meta.url)
  return here.pathname.endsWith('/dist/bench/') ? new URL('../../bench/', here) : here
}

export interface RunReport {
  label: 'jenchat' | 'baseline'
  /** The real server's WORKERS (app processes behind its port); 1 for the baseline. */
  workers: number
  target: string
  steps: StepResult[]
  /** Largest N held; 0 when none was. */
  usersHeld: number
  /** The largest step was held: the real limit is higher than measured. */
  topStepHeld: boolean
  /** The largest step held is the machine's connection limit (connectionLimit): no higher step can run. */
  atConnectionLimit: boolean
}

export interface BenchReport {
  version: 1
  startedAt: string
  finishedAt: string
  command: string
  machine: { cpus: number, cpuModel: string, node: string, openFiles: number }
  settings: {
    mode: 'ramp' | 'single'
    warmupS: number
    measureS: number
    graceS: number
    postIntervalS: number
    joinRate: number
    timeoutS: number
    serverEnv: Record<string, string>
    workers: number[]
    criteria: typeof CRITERIA
  }
  /** Size on the wire of each page of the real server (the baseline answers with the same). */
  pages: Record<PageName, { status: number, bytes: number }>
  runs: RunReport[]
  summary: {
    usersHeld: number | null
    baselineUsersHeld: number | null
    /** usersHeld / baselineUsersHeld. */
    ratio: number | null
    notes: string[]
  }
  profile: ProfileSummary | null
  serverLog: { file: string, warnings: number, errors: number, messages: string[] } | null
}

/** "jenchat", or "jenchat WORKERS=2" for a run with several processes. */
export function runName (run: Pick<RunReport, 'label' | 'workers'>): string {
  return run.workers > 1 ? `${run.label} WORKERS=${run.workers}` : run.label
}

function runReport (label: RunReport['label'], workers: number, target: Target, steps: StepResult[], openFiles: number): RunReport {
  const held = steps.filter((step) => step.held).map((step) => step.users)
  const top = steps.at(-1)
  const atConnectionLimit = top !== undefined && top.held && top.users === connectionLimit(openFiles)
  return {
    label,
    workers,
    target: target.url.toString(),
    steps,
    usersHeld: held.length === 0 ? 0 : Math.max(...held),
    topStepHeld: top !== undefined && top.held && !atConnectionLimit,
    atConnectionLimit
  }
}

/** Counts the warnings and errors in a pino log and keeps the distinct messages. */
function readServerLog (file: string | null): BenchReport['serverLog'] {
  if (file === null || !existsSync(file)) return null
  let warnings = 0
  let errors = 0
  const messages = new Set<string>()
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue
    try {
      const entry = JSON.parse(line) as { level?: number, msg?: string }
      if ((entry.level ?? 0) >= 50) errors++
      else if ((entry.level ?? 0) >= 40) warnings++
      if ((entry.level ?? 0) >= 40 && messages.size < 10) messages.add(entry.msg ?? line.slice(0, 200))
    } catch {
      errors++
      if (messages.size < 10) messages.add(line.slice(0, 200))
    }
  }
  return { file, warnings, errors, messages: [...messages] }
}

/**
 * The whole benchmark: starts the real server (or attaches to --url), records its pages, runs the
 * load on it, then the same load on the baseline server that replays those pages, and reports both.
 */
export async function runBench (options: BenchOptions, command = ''): Promise<BenchReport> {
  const startedAt = new Date()
  const deadline = performance.now() + options.maxMinutes * 60_000
  const realSteps = options.ramp ? options.steps : [options.users]
  const baselineSteps = options.ramp ? options.baselineSteps : [options.users]
  const maxUsers = Math.max(...(options.runReal ? realSteps : []), ...(options.runBaseline ? baselineSteps : []))
  const openFiles = openFileLimit()
  if (maxUsers + 100 > openFiles) {
    throw new Error(`${maxUsers} users need ${maxUsers} sockets, but this process may open only ${openFiles} files (ulimit -n)`)
  }
  mkdirSync(options.tmpDir, { recursive: true })
  const databasePid = findDatabasePid()
  const notes: string[] = []
  if (databasePid === null) notes.push('no mariadbd/mysqld process found: database CPU and RSS not measured')

  const load = (steps: number[], trackDeliveries: boolean): LoadOptions => ({
    steps,
    warmupMs: options.warmupMs,
    measureMs: options.measureMs,
    graceMs: options.graceMs,
    joinRate: options.joinRate,
    joinConcurrency: options.joinConcurrency,
    postIntervalMs: options.postIntervalMs,
    timeoutMs: options.timeoutMs,
    retryMs: options.retryMs,
    trackDeliveries,
    stopAtFailure: options.stopAtFailure,
    deadline,
    criteria: CRITERIA,
    progressEveryMs: options.progressEveryMs,
    progress: options.progress
  })

  const counters = await DatabaseCounters.open(options.adminUrl)
  if (counters === null) notes.push('cannot read the database server\'s status counters: queries per poll not measured')
  const database = { pid: databasePid, counters }
  const runs: RunReport[] = []
  let profileFile: string | null = null
  let logFile: string | null = null
  const pagesFile = join(options.tmpDir, 'baseline-pages.json')
  let pages: CapturedPages | undefined
  try {
    // One run per WORKERS value, each on a server (and database) of its own; the pages are captured once.
    const workerCounts = options.url === null && options.runReal ? options.workers : [1]
    for (const workers of workerCounts) {
      let real: Target | null = null
      try {
        options.progress(options.url === null ? `starting the server (WORKERS=${workers}) on a fresh database` : `using the server at ${options.url}`)
        real = options.url === null
          ? await startRealServer({
            adminUrl: options.adminUrl,
            logDir: options.tmpDir,
            cpuProfileDir: options.cpuProfile ? options.tmpDir : null,
            env: { ...options.serverEnv, WORKERS: String(workers) },
            workers
          })
          : attachedServer(options.url, options.serverPid)
        logFile = real.logFile
        if (pages === undefined) {
          pages = await probePages(real.url)
          writeFileSync(pagesFile, JSON.stringify(pages))
          options.progress(`pages: empty poll ${pages.emptyPoll.bytes} bytes, chat page ${pages.chat.bytes} bytes`)
        }
        const label = workers > 1 ? `jenchat WORKERS=${workers}` : 'jenchat'
        if (options.runReal) runs.push(runReport('jenchat', workers, real, await runLoad(real, label, load(realSteps, true), database), openFiles))
      } finally {
        profileFile = await real?.stop() ?? profileFile
      }
    }
    if (pages === undefined) throw new Error('no server was started')

    if (options.runBaseline) {
      const baseline = await startBaselineServer({ pagesFile, logDir: options.tmpDir, cpuProfileDir: null })
      try {
        runs.push(runReport('baseline', 1, baseline, await runLoad(baseline, 'baseline', load(baselineSteps, false), database), openFiles))
      } finally {
        await baseline.stop()
      }
    }
  } finally {
    await counters?.close()
  }

  const realRun = runs.find((run) => run.label === 'jenchat')
  const baselineRun = runs.find((run) => run.label === 'baseline')
  if (realRun?.topStepHeld === true) notes.push(`jenchat held its largest step (${realRun.usersHeld}): its limit is higher`)
  if (baselineRun?.topStepHeld === true) notes.push(`the baseline held its largest step (${baselineRun.usersHeld}): the ceiling is higher, the ratio lower`)
  const realRuns = runs.filter((run) => run.label === 'jenchat')
  if (realRuns.length > 1) notes.push('users held: ' + realRuns.map((run) => `${runName(run)} ${run.usersHeld}`).join(', '))
  for (const run of runs) {
    if (run.atConnectionLimit) {
      notes.push(`${run.label} held ${run.usersHeld} users, the most one process can keep connected here (open-file limit ${openFiles}): that is this machine's ceiling`)
    }
  }
  if (runs.some((run) => run.steps.some((step) => step.generator.saturated))) {
    notes.push('the load generator was saturated in some step (CPU > 90 % or event-loop delay p99 > 100 ms): those figures measure it too')
  }
  const ratio = realRun !== undefined && baselineRun !== undefined && baselineRun.usersHeld > 0
    ? Number((realRun.usersHeld / baselineRun.usersHeld).toFixed(2))
    : null
  const cpuList = cpus()

  return {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command,
    machine: { cpus: cpuList.length, cpuModel: cpuList[0]?.model ?? '?', node: process.version, openFiles },
    settings: {
      mode: options.ramp ? 'ramp' : 'single',
      warmupS: options.warmupMs / 1000,
      measureS: options.measureMs / 1000,
      graceS: options.graceMs / 1000,
      postIntervalS: options.postIntervalMs / 1000,
      joinRate: options.joinRate,
      timeoutS: options.timeoutMs / 1000,
      serverEnv: options.serverEnv,
      workers: options.workers,
      criteria: CRITERIA
    },
    pages: Object.fromEntries(PAGE_NAMES.map((name) => [name, { status: (pages as CapturedPages)[name].status, bytes: (pages as CapturedPages)[name].bytes }])) as BenchReport['pages'],
    runs,
    summary: {
      usersHeld: realRun?.usersHeld ?? null,
      baselineUsersHeld: baselineRun?.usersHeld ?? null,
      ratio,
      notes
    },
    profile: profileFile === null ? null : summariseProfile(profileFile),
    serverLog: readServerLog(logFile)
  }
}
