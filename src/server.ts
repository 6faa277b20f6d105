import cluster from 'node:cluster'
import { hostname } from 'node:os'
import { buildApp } from './app.js'
import { configFromPrimary, runPrimary, type Log } from './cluster-primary.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { EXIT_CODES, ensureDatabase, explainStartupFailure } from './db/first-run.js'

/** Validated once: by this process, or by the cluster's primary for its workers. */
function configOrExit (): Config {
  const inherited = configFromPrimary()
  if (inherited !== null) return inherited
  try {
    return loadConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message)
      process.exit(EXIT_CODES.config)
    }
    throw error
  }
}

/** Prints the one-line explanation of a start-up failure and exits with its code; rethrows others. */
async function exitIfExplained (error: unknown, config: Config): Promise<void> {
  const explained = await explainStartupFailure(error, config.databaseUrl, config.limits.dbQueryTimeoutMs)
  if (explained === null) return
  console.error(explained.message)
  process.exit(explained.exitCode)
}

const PINO_LEVELS = { info: 30, warn: 40 }

/** A line in the shape of the workers' (pino's JSON), on stdout like theirs. */
const primaryLog: Log = (level, message) => {
  process.stdout.write(JSON.stringify({ level: PINO_LEVELS[level], time: Date.now(), pid: process.pid, hostname: hostname(), msg: message }) + '\n')
}

async function serve (config: Config): Promise<void> {
  let app
  try {
    app = await buildApp(config)
  } catch (error) {
    await exitIfExplained(error, config)
    throw error
  }

  let closing = false
  const shutdown = (signal: string): void => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    // close() stops accepting, lets requests in flight finish, then closes the pool (onClose).
    app.close().then(() => process.exit(0), (error: unknown) => {
      app.log.error({ err: error }, 'error while shutting down')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))

  await app.listen({ port: config.port, host: config.host })
}

async function main (): Promise<void> {
  const config = configOrExit()
  if (cluster.isPrimary) {
    if (config.sessionSecretGenerated) {
      console.error('SESSION_SECRET is not set: using a random one, so sessions will not survive a restart' +
        (config.workers > 1 ? '' : ' or work across processes'))
    }
    try {
      await ensureDatabase(config.databaseUrl, {
        connectTimeoutMs: config.limits.dbQueryTimeoutMs,
        log: (message) => console.error(message)
      })
    } catch (error) {
      await exitIfExplained(error, config)
      throw error
    }
    // The workers share this process's random secret, if it made one (it is in the config they get).
    if (config.workers > 1) {
      runPrimary(config, primaryLog)
      return
    }
  }
  await serve(config)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(EXIT_CODES.config)
})
