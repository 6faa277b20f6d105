import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * What the process measures of itself, in Prometheus' text format (GET /metrics, metrics-route.ts).
 *
 * One registry per app (tests build many apps in one process); the process's own figures (CPU,
 * heap, RSS, event-loop delay, GC) are one registry per process, because prom-client's event-loop
 * monitor runs until the process ends and one per app would pile up.
 *
 * The poll path only adds 1 to plain numbers; anything that costs more (counting participants, the
 * pool's queue) is read when Prometheus scrapes.
 */
let processRegistry: Registry | undefined

function processMetrics (): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

/** Why a login was refused: the keys of LOGIN_ERRORS, and "banned". */
export type LoginRefusal = string
/** Why a post was refused: the keys of POST_NOTICES, and "bad-request", "not-logged-in". */
export type PostRefusal = string

export interface MetricSources {
  /** Participants present in the whole room (a query: only at scrapes). */
  countPresent: () => Promise<number>
  queueDepth: () => number
}

export function createMetrics () {
  const registry = new Registry()
  const registers = [registry]

  const logins = new Counter({ name: 'jenchat_logins_total', help: 'Successful logins', registers })
  const loginsRefused = new Counter({
    name: 'jenchat_logins_refused_total', help: 'Refused logins, by reason', labelNames: ['reason'], registers
  })
  const posts = new Counter({ name: 'jenchat_posts_total', help: 'Messages stored', registers })
  const postsRefused = new Counter({
    name: 'jenchat_posts_refused_total', help: 'Messages refused, by reason', labelNames: ['reason'], registers
  })
  // The poll path's counts are plain numbers, handed to prom-client when Prometheus scrapes: a poll
  // pays one integer increment, not a label lookup (see the README's Performance section).
  const counted = { polls: 0, built: 0, shared: 0 }
  const reported = { polls: 0, built: 0, shared: 0 }
  const polls = new Counter({
    name: 'jenchat_polls_total',
    help: 'Polls of thread.php answered (any answer)',
    registers,
    collect: () => {
      polls.inc(counted.polls - reported.polls)
      reported.polls = counted.polls
    }
  })
  const answers = new Counter({
    name: 'jenchat_poll_deliveries_total',
    help: 'Polls that carried messages: "built" made the answer page, "shared" reused one made for an earlier poll at the same cursor',
    labelNames: ['answer'],
    registers,
    collect: () => {
      answers.inc({ answer: 'built' }, counted.built - reported.built)
      answers.inc({ answer: 'shared' }, counted.shared - reported.shared)
      reported.built = counted.built
      reported.shared = counted.shared
    }
  })
  const queryDuration = new Histogram({
    name: 'jenchat_db_query_duration_seconds',
    help: 'Database queries, from the call (including any wait for a pool connection) to the answer',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers
  })
  const present = new Gauge({ name: 'jenchat_participants_present', help: 'Participants who polled within PRESENCE_WINDOW_MS (all processes)', registers })
  const databaseUp = new Gauge({ name: 'jenchat_database_up', help: '1 when the database answered this scrape, else 0', registers })
  const queueDepth = new Gauge({ name: 'jenchat_db_pool_queue_depth', help: 'Queries waiting for a free database connection', registers })

  let sources: MetricSources = { countPresent: async () => 0, queueDepth: () => 0 }

  return {
    login (): void { logins.inc() },
    loginRefused (reason: LoginRefusal): void { loginsRefused.inc({ reason }) },
    post (): void { posts.inc() },
    postRefused (reason: PostRefusal): void { postsRefused.inc({ reason }) },
    poll (): void { counted.polls++ },
    deliveryBuilt (): void { counted.built++ },
    deliveryShared (): void { counted.shared++ },
    observeQuery (seconds: number): void { queryDuration.observe(seconds) },

    /** Where each scrape reads the figures that are not counted as they happen. */
    readFrom (given: MetricSources): void { sources = given },

    contentType: registry.contentType,

    /** The text Prometheus reads: this app's metrics, then the process's. */
    async render (): Promise<string> {
      queueDepth.set(sources.queueDepth())
      try {
        present.set(await sources.countPresent())
        databaseUp.set(1)
      } catch {
        // Unknown, not zero: nobody can tell who is present while the database is away.
        present.set(Number.NaN)
        databaseUp.set(0)
      }
      return (await registry.metrics()) + (await processMetrics().metrics())
    }
  }
}

export type Metrics = ReturnType<typeof createMetrics>
