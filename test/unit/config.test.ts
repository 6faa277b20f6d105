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

describe('SESSION_SECRET', () => {
  it.each([
    'change-me-to-a-long-random-secret-of-32-plus-chars',
    'CHANGE-ME-TO-A-LONG-RANDOM-SECRET-OF-32-PLUS-CHARS',
    'please-changeme-0123456789abcdefghijklmnop',
    'replace_me_with_something_long_and_random_ok',
    'your-secret-here-0123456789abcdefghijklmnopq'
  ])('refuses the placeholder %j, on a line of its own', (secret) => {
    let error: unknown
    try {
      loadConfig({ SESSION_SECRET: secret, PORT: 'x' })
    } catch (caught) {
      error = caught
    }
    expect((error as ConfigError).problems).toEqual([
      'PORT must be a whole number, got "x"',
      'SESSION_SECRET is a published placeholder, not a secret: make one with `openssl rand -base64 33`'
    ])
  })

  it('takes a random one', () => {
    expect(loadConfig({ SESSION_SECRET: 'q1w2E3r4T5y6U7i8O9p0a1S2d3F4g5H6j7K8l9Z0' }).sessionSecret).toBe('q1w2E3r4T5y6U7i8O9p0a1S2d3F4g5H6j7K8l9Z0')
  })
})

describe('login limit and logout token', () => {
  it('allow a classroom by default and can be switched to the original', () => {
    const defaults = loadConfig({ SESSION_SECRET: 'x'.repeat(32) })
    expect(defaults.limits.logins).toBe(120)
    expect(defaults.limits.loginWindowMs).toBe(60_000)
    expect(defaults.logoutNeedsToken).toBe(true)
    const original = loadConfig({ SESSION_SECRET: 'x'.repeat(32), LOGIN_LIMIT: '0', LOGOUT_NEEDS_TOKEN: 'false' })
    expect(original.limits.logins).toBe(0)
    expect(original.logoutNeedsToken).toBe(false)
    expect(() => loadConfig({ SESSION_SECRET: 'x'.repeat(32), LOGIN_LIMIT_WINDOW_MS: '10' })).toThrow('LOGIN_LIMIT_WINDOW_MS must be between 1000 and 3600000, got 10')
  })
})

describe('the 2003 look', () => {
  it('adds presence, join notices, the phone layout and the poll after a post by default', () => {
    expect(loadConfig({}).features).toEqual({ showPresence: true, joinNotices: true, phoneLayout: true, pollAfterPost: true })
  })

  it('is restored whole by SHOW_PRESENCE=off JOIN_NOTICES=off, and each addition can be set on its own', () => {
    expect(loadConfig({ SHOW_PRESENCE: 'off', JOIN_NOTICES: 'off' }).features).toEqual({ showPresence: false, joinNotices: false, phoneLayout: false, pollAfterPost: false })
    expect(loadConfig({ JOIN_NOTICES: 'off' }).features).toEqual({ showPresence: true, joinNotices: false, phoneLayout: true, pollAfterPost: true })
    expect(loadConfig({ SHOW_PRESENCE: 'off', JOIN_NOTICES: 'off', PHONE_LAYOUT: 'on' }).features.phoneLayout).toBe(true)
    expect(loadConfig({ POLL_AFTER_POST: 'false' }).features.pollAfterPost).toBe(false)
  })
})

describe('METRICS_ALLOW', () => {
  it('is loopback by default, "none" for nobody, else addresses and CIDR ranges, each checked', () => {
    expect(loadConfig({}).metricsAllow).toEqual(['127.0.0.1', '::1'])
    expect(loadConfig({ METRICS_ALLOW: 'none' }).metricsAllow).toEqual([])
    expect(loadConfig({ METRICS_ALLOW: ' 10.0.0.0/8 ,::1, 2001:db8::/32' }).metricsAllow).toEqual(['10.0.0.0/8', '::1', '2001:db8::/32'])
    expect(() => loadConfig({ METRICS_ALLOW: 'localhost,10.0.0.0/33,::1/129,1.2.3.4/8/8,10.0.0.0/x' })).toThrow(new ConfigError([
      'METRICS_ALLOW must list addresses or CIDR ranges (or be "none"), got "localhost"',
      'METRICS_ALLOW must list addresses or CIDR ranges (or be "none"), got "10.0.0.0/33"',
      'METRICS_ALLOW must list addresses or CIDR ranges (or be "none"), got "::1/129"',
      'METRICS_ALLOW must list addresses or CIDR ranges (or be "none"), got "1.2.3.4/8/8"',
      'METRICS_ALLOW must list addresses or CIDR ranges (or be "none"), got "10.0.0.0/x"'
    ]))
  })
})

describe('frequentRouteLogLevel', () => {
  it('logs polls and health checks at warn, or quieter when LOG_LEVEL is quieter', () => {
    expect(['trace', 'debug', 'info', 'warn'].map(frequentRouteLogLevel)).toEqual(['warn', 'warn', 'warn', 'warn'])
    expect(['error', 'fatal', 'silent'].map(frequentRouteLogLevel)).toEqual(['error', 'fatal', 'silent'])
  })
})
