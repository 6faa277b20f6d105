import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import mysql from 'mysql2/promise'

/** A server under load: where it listens, which process to measure, how to get rid of it. */
export interface Target {
  url: URL
  /** The process to measure (null when attached to a server of unknown pid). */
  pid: number | null
  /** The server's stdout and stderr, or null when not started by us. */
  logFile: string | null
  /** Stops what was started (server, database); resolves to the CPU profile written, if any. */
  stop(): Promise<string | null>
  /** How the process ended ("exit code 134", "signal SIGABRT"), or null while it runs (or is not ours). */
  exited(): string | null
}

/** Pending clean-ups, run by the CLI if it is interrupted in the middle of a run. */
const cleanups = new Set<() => Promise<unknown>>()

export async function cleanUpEverything (): Promise<void> {
  await Promise.allSettled([...cleanups].map(async (cleanup) => await cleanup()))
}

// This file runs compiled (dist/bench/) from the CLI and as TypeScript (bench/) under vitest.
const here = new URL('.', import.meta.url).pathname
const repoRoot = here.endsWith('/dist/bench/') ? join(here, '../..') : join(here, '..')

/**
 * The V8 memory settings `npm start` and the Docker image run the server with (test/ops checks that
 * they agree). The baseline gets them too, so both processes run on the same runtime settings.
 */
export const SERVER_NODE_OPTIONS = '--max-semi-space-size=2 --max-old-space-size=256'

export const SERVER_SCRIPT = join(repoRoot, 'dist/src/server.js')
export const BASELINE_SCRIPT = join(repoRoot, 'dist/bench/baseline-server.js')
/** The attack mode's traffic runs in a worker thread of its own (attack-worker.ts), compiled. */
export const ATTACK_WORKER_SCRIPT = join(repoRoot, 'dist/bench/attack-worker.js')

async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/** Waits until the server answers `path` (bounded). */
async function waitUntilServing (url: URL, path: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}; see ${logFile}`)
    try {
      const response = await fetch(new URL(path, url), { redirect: 'manual' })
      await response.arrayBuffer()
      if (response.status < 500) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`the server did not answer within 30 s; see ${logFile}`)
}

interface SpawnOptions {
  label: string
  script: string
  env: Record<string, string>
  readyPath: string
  logDir: string
  cpuProfileDir: string | null
  /** The server's WORKERS: with more than one, the benchmark waits until all of them listen. */
  listeningProcesses?: number
  onStop?: () => Promise<void>
}

/** Waits until a cluster's primary says that all its workers listen (they start one after another). */
async function waitForAllWorkers (logFile: string, count: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}; see ${logFile}`)
    if (readFileSync(logFile, 'utf8').includes(`"msg":"${count} workers listening on port`)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${count} server processes did not listen within 30 s; see ${logFile}`)
}

async function spawnServer (options: SpawnOptions): Promise<Target> {
  if (!existsSync(options.script)) throw new Error(`${options.script} is missing: run npm run build first`)
  mkdirSync(options.logDir, { recursive: true })
  const port = await freePort()
  const logFile = join(options.logDir, `${options.label}-server.log`)
  const log = createWriteStream(logFile)
  const nodeArgs: string[] = []
  if (options.cpuProfileDir !== null) {
    mkdirSync(options.cpuProfileDir, { recursive: true })
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=${options.label}-${Date.now()}.cpuprofile`)
  }
  const child = spawn(process.execPath, [...nodeArgs, options.script], {
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: SERVER_NODE_OPTIONS, ...options.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  const exited = once(child, 'exit')
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    }
    await options.onStop?.()
  }
  cleanups.add(kill)
  const url = new URL(`http://127.0.0.1:${port}/`)
  try {
    await waitUntilServing(url, options.readyPath, child, logFile)
    if ((options.listeningProcesses ?? 1) > 1) await waitForAllWorkers(logFile, options.listeningProcesses as number, child)
  } catch (error) {
    await kill()
    cleanups.delete(kill)
    throw error
  }
  return {
    url,
    pid: child.pid ?? null,
    logFile,
    exited: () => child.signalCode !== null ? `signal ${child.signalCode}` : child.exitCode !== null ? `exit code ${child.exitCode}` : null,
    async stop () {
      await kill()
      cleanups.delete(kill)
      log.end()
      if (options.cpuProfileDir === null) return null
      const profile = readdirSync(options.cpuProfileDir).filter((f) => f.startsWith(options.label + '-') && f.endsWith('.cpuprofile')).sort().at(-1)
      return profile === undefined ? null : join(options.cpuProfileDir, profile)
    }
  }
}

function adminConnection (adminUrl: string) {
  const url = new URL(adminUrl)
  return mysql.createConnection({
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password)
  })
}

/** The real server (dist/src/server.js) on a fresh database that is dropped when it stops. */
export async function startRealServer (
  options: { adminUrl: string, logDir: string, cpuProfileDir: string | null, env: Record<string, string>, workers?: number }
): Promise<Target> {
  const name = 'jenchat_bench_' + randomBytes(4).toString('hex')
  const admin = await adminConnection(options.adminUrl)
  await admin.query(`CREATE DATABASE \`${name}\``)
  const dropDatabase = async (): Promise<void> => {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined)
    await admin.end().catch(() => undefined)
  }
  const databaseUrl = new URL(options.adminUrl)
  databaseUrl.pathname = '/' + name
  try {
    return await spawnServer({
      label: 'jenchat',
      script: SERVER_SCRIPT,
      env: {
        DATABASE_URL: databaseUrl.toString(),
        SESSION_SECRET: randomBytes(33).toString('base64'),
        LOG_LEVEL: 'warn',
        // Every simulated user logs in from 127.0.0.1, thousands within seconds.
        LOGIN_LIMIT: '0',
        ...options.env
      },
      readyPath: 'login.php',
      logDir: options.logDir,
      cpuProfileDir: options.cpuProfileDir,
      listeningProcesses: options.workers ?? 1,
      onStop: dropDatabase
    })
  } catch (error) {
    await dropDatabase()
    throw error
  }
}

/** The bare Fastify server answering with the real server's pages, captured in `pagesFile`. */
export async function startBaselineServer (options: { pagesFile: string, logDir: string, cpuProfileDir: string | null }): Promise<Target> {
  return await spawnServer({
    label: 'baseline',
    script: BASELINE_SCRIPT,
    env: { BASELINE_PAGES: options.pagesFile },
    readyPath: 'login.php',
    logDir: options.logDir,
    cpuProfileDir: options.cpuProfileDir
  })
}

/** A server someone else runs (`--url`): nothing to start or stop. */
export function attachedServer (url: string, pid: number | null): Target {
  const parsed = new URL(url)
  if (parsed.hostname !== '127.0.0.1' && parsed.hostname !== 'localhost') {
    throw new Error(`the benchmark only targets this machine (127.0.0.1), not ${parsed.hostname}`)
  }
  if (parsed.protocol !== 'http:') throw new Error('only plain http:// is supported')
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/'
  parsed.hostname = '127.0.0.1'
  return { url: parsed, pid, logFile: null, stop: async () => null, exited: () => null }
}
