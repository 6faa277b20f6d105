import { describe, expect, it } from 'vitest'
import { ConfigError, frequentRouteLogLevel, loadConfig } from '../../src/config.js'

describe('loadConfig', () => {
  it('reproduces the original by default', () => {
    const config = loadConfig({ SESSION_SECRET: 'x'.repeat(32) })
    expect(config.port).toBe(3000)
    expect(config.timings.pollIntervalMs).toBe(1000)
    expect(config.timings.presenceWindowMs).toBe(5000)
    expect(config.timings.messageLifetimeMs).toBe(30_000)
    expect(config.cookieSecure).toBe(false)
    expect(config.sessionSecretGenerated).toBe(false)
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('makes a random secret when none is given, and says so', () => {
    const a = loadConfig({})
    const b = loadConfig({})
    expect(a.sessionSecretGenerated).toBe(true)
    expect(a.sessionSecret.length).toBeGreaterThanOrEqual(32)
    expect(a.sessionSecret).not.toBe(b.sessionSecret)
  })

  it('reports every bad value at once, one line each', () => {
    let error: unknown
    try {
      loadConfig({ PORT: 'eighty', SESSION_SECRET: 'short', DATABASE_URL: 'postgres://x/y', COOKIE_SECURE: 'maybe', POLL_INTERVAL_MS: '5' })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems).toEqual([
      'PORT must be a whole number, got "eighty"',
      'DATABASE_URL must start with mysql://, got "postgres://"',
      'SESSION_SECRET must be at least 32 characters, got 5',
      'POLL_INTERVAL_MS must be between 100 and 60000, got 5',
      'COOKIE_SECURE must be true or false, got "maybe"'
    ])
  })
})

describe('frequentRouteLogLevel', () => {
  it('logs polls and health checks at warn, or quieter when LOG_LEVEL is quieter', () => {
    expect(['trace', 'debug', 'info', 'warn'].map(frequentRouteLogLevel)).toEqual(['warn', 'warn', 'warn', 'warn'])
    expect(['error', 'fatal', 'silent'].map(frequentRouteLogLevel)).toEqual(['error', 'fatal', 'silent'])
  })
})
