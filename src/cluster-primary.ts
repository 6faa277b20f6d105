import cluster, { type Worker } from 'node:cluster'
import type { Config } from './config.js'

/*
 * WORKERS=N: this process forks N app processes that share its port (Node's cluster hands each
 * new connection to the next worker in turn), restarts one that dies, and stops them all
 * gracefully on SIGTERM/SIGINT. It serves nothing itself and never touches the database: every
 * line still goes through the database, so nothing changes for the chat whether two processes run
 * on one host or on two.
 */

/** The validated configuration, handed to the workers so that they don't read the environment again. */
const WORKER_CONFIG = 'JENCHAT_WORKER_CONFIG'

/** A worker restarted sooner than this after its previous start waits for the rest. */
const RESTART_INTERVAL_MS = 1000
/** Workers that haven't finished their requests this long after SIGTERM are killed. */
const SHUTDOWN_GRACE_MS = 30_000

/** The configuration the primary validated, in a worker; null in any other process. */
export function configFromPrimary (env: Record<string, string | undefined> = process.env): Config | null {
  const raw = env[WORKER_CONFIG]
  if (!cluster.isWorker || raw === undefined) return null
  const config = JSON.parse(raw) as Config
  Object.freeze(config.timings)
  Object.freeze(config.limits)
  return Object.freeze(config)
}

/** Pino's levels: the primary's few lines go to the same log as its workers', in the same shape. */
export type Log = (level: 'info' | 'warn', message: string) => void

/**
 * Runs the primary: starts one worker, and the others once it listens (so the first one creates
 * or upgrades the tables alone, and a worker that can't start stops everything with its exit code
 * instead of being restarted for ever). Returns at once; the process exits once its workers have stopped.
 */
export function runPrimary (config: Config, log: Log): void {
  const env = { [WORKER_CONFIG]: JSON.stringify(config) }
  const lastStart = new Map<number, number>()
  let stopping = false
  /** Until every worker has listened once, a worker that exits is a failed start, not a crash. */
  let starting = true

  const fork = (slot: number): Worker => {
    lastStart.set(slot, Date.now())
    const worker = cluster.fork(env)
    let listening = false
    worker.once('listening', () => { listening = true })
    worker.once('exit', (code, signal) => {
      if (stopping) return
      if (!listening && starting) {
        // The first start failed (the worker said why): stop rather than retry a bad setup for ever.
        stopAll(code ?? 1)
        return
      }
      const wait = Math.max(0, (lastStart.get(slot) ?? 0) + RESTART_INTERVAL_MS - Date.now())
      log('warn', `worker ${worker.process.pid ?? '?'} exited (${signal ?? `code ${code ?? '?'}`}); starting another${wait > 0 ? ` in ${wait} ms` : ''}`)
      setTimeout(() => { if (!stopping) fork(slot) }, wait)
    })
    return worker
  }

  const first = fork(0)
  first.once('listening', (address) => {
    const rest = Array.from({ length: config.workers - 1 }, (_, i) => fork(i + 1))
    let waiting = rest.length
    const started = (): void => {
      starting = false
      log('info', `${config.workers} workers listening on port ${address.port}`)
    }
    if (waiting === 0) started()
    for (const worker of rest) worker.once('listening', () => { if (--waiting === 0) started() })
  })

  const stopAll = (exitCode: number): void => {
    if (stopping) return
    stopping = true
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead())
    const killer = setTimeout(() => {
      for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGKILL')
    }, SHUTDOWN_GRACE_MS)
    let left = workers.length
    const done = (): void => {
      clearTimeout(killer)
      process.exit(exitCode)
    }
    if (left === 0) done()
    for (const worker of workers) {
      worker.once('exit', () => { if (--left === 0) done() })
      // Each worker closes its app: no new connections, requests in flight finish, the pool closes.
      worker.process.kill('SIGTERM')
    }
  }

  const shutdown = (signal: string): void => {
    if (stopping) return
    log('info', `${signal}: stopping ${config.workers} workers`)
    stopAll(0)
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}
