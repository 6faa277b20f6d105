import { MIX_IDS, type MixId } from './attack-mixes.js'
import { defaultAttackPlan, type AttackPlan } from './attack-run.js'
import { BASELINE_EXTRA_STEPS, defaultOptions, type BenchOptions } from './bench.js'

export const USAGE = `npm run bench -- [options]

  (no mode)            one step of --users on the real server (started on a fresh database)
  --ramp               steps up through --steps on the real server, then on the baseline server;
                       reports users held and the ratio to the baseline's ceiling
  --baseline           only the baseline server (a bare Fastify replaying the real pages, no database)
  --no-baseline        with --ramp: only the real server
  --attack             honest users (--users, default 2000) on the real server while mixes of attacks run
                       one after another, then all at once (bench/README.md, "Under attack")

  --users N            users of a single step (default 1000)
  --steps A,B,...      ramp steps (default 500,1000,2000,5000,8000,10000,...,18000; with an open-file
                       limit under 20,100, up to the most users one process can keep connected)
  --baseline-steps ... baseline ramp steps (default: the steps, then ${BASELINE_EXTRA_STEPS.join(',')})
  --duration S         measured seconds per step (default 20)
  --warmup S           warm-up seconds per step, after everyone joined (default 10)
  --grace S            seconds of polling without posting after the window, before counting losses (default 3)
  --post-interval S    mean seconds between two posts of one user (default 20)
  --join-rate N        logins per second while users join (default 500)
  --join-concurrency N logins in flight at most (default 32)
  --timeout S          a request without answer after this long is a timeout (default 10)
  --keep-going         do not stop the ramp at the first step that is not held
  --max-minutes M      start no step after this long (default 30)
  --url URL            use a server already running on 127.0.0.1 instead of starting one
  --server-pid PID     with --url: the process to measure
  --database-url URL   MySQL server for the fresh database (default mysql://root@127.0.0.1:3306/)
  --cpu-prof           run the real server with --cpu-prof and summarise its hottest functions
                       (the profiler costs the server CPU and memory: compare RSS without it)
  --server-env K=V     extra environment for the real server (repeatable), e.g. DB_CONNECTIONS=20
  --workers A,B,...    one run of the real server per WORKERS value, e.g. 1,2 (default 1); CPU and
                       RSS are summed over the primary and its workers
  --quiet              no progress lines

  with --attack:
  --attack-seconds S   length of each mix (default 20)
  --mixes a,b,...      the mixes to run, of ${MIX_IDS.join(',')} (default all; h is all at once)
  --no-reference       no window without attack before the first mix
  --attack-rate N      requests (or new connections) a second at most, per attack (default 2000)
  --attack-connections N  keep-alive connections of a flooding attack, at most (default 50)
  --slow-clients N     slow clients held open at once (default 200)
  --rest S             honest users alone between two mixes (default 5)
  --recovery-max S     after a mix, wait at most this long for the users to be held again (default 20)
`

export class UsageError extends Error {}

function seconds (name: string, raw: string | undefined): number {
  const value = Number(raw)
  if (raw === undefined || !Number.isFinite(value) || value < 0) throw new UsageError(`${name} needs a number of seconds`)
  return Math.round(value * 1000)
}

function count (name: string, raw: string | undefined): number {
  const value = Number(raw)
  if (raw === undefined || !Number.isInteger(value) || value < 1) throw new UsageError(`${name} needs a positive whole number`)
  return value
}

function list (name: string, raw: string | undefined): number[] {
  if (raw === undefined) throw new UsageError(`${name} needs a comma-separated list of user counts`)
  const values = raw.split(',').map((part) => count(name, part.trim()))
  if (values.some((v, i) => i > 0 && v <= (values[i - 1] as number))) throw new UsageError(`${name} must increase`)
  return values
}

function mixes (name: string, raw: string | undefined): MixId[] {
  const given = (raw ?? '').split(',').map((part) => part.trim())
  const known = new Set<string>(MIX_IDS)
  if (given.length === 0 || given.some((id) => !known.has(id))) throw new UsageError(`${name} needs a comma-separated list of ${MIX_IDS.join(', ')}`)
  return given as MixId[]
}

/** Options from the command line (argv without node and the script). */
export function parseOptions (argv: string[]): BenchOptions | 'help' {
  const options = defaultOptions()
  let attack = false
  let usersGiven = false
  let attackPlan: AttackPlan | null = null
  const plan = (): AttackPlan => (attackPlan ??= defaultAttackPlan())
  let baselineOnly = false
  let noBaseline = false
  let baselineSteps: number[] | null = null
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const next = (): string | undefined => inline ?? argv[++i]
    switch (flag) {
      case '--help': case '-h': return 'help'
      case '--ramp': options.ramp = true; break
      case '--baseline': baselineOnly = true; break
      case '--no-baseline': noBaseline = true; break
      case '--users': options.users = count(flag, next()); usersGiven = true; break
      case '--attack': attack = true; break
      case '--attack-seconds': plan().attackMs = seconds(flag, next()); break
      case '--mixes': plan().mixes = mixes(flag, next()); break
      case '--no-reference': plan().reference = false; break
      case '--attack-rate': plan().rate = count(flag, next()); break
      case '--attack-connections': plan().connections = count(flag, next()); break
      case '--slow-clients': plan().slowClients = count(flag, next()); break
      case '--rest': plan().restMs = seconds(flag, next()); break
      case '--recovery-max': plan().recoveryMaxMs = seconds(flag, next()); break
      case '--steps': options.steps = list(flag, next()); break
      case '--baseline-steps': baselineSteps = list(flag, next()); break
      case '--duration': options.measureMs = seconds(flag, next()); break
      case '--warmup': options.warmupMs = seconds(flag, next()); break
      case '--grace': options.graceMs = seconds(flag, next()); break
      case '--post-interval': options.postIntervalMs = seconds(flag, next()); break
      case '--join-rate': options.joinRate = count(flag, next()); break
      case '--join-concurrency': options.joinConcurrency = count(flag, next()); break
      case '--timeout': options.timeoutMs = seconds(flag, next()); break
      case '--keep-going': options.stopAtFailure = false; break
      case '--max-minutes': options.maxMinutes = seconds(flag, next()) / 1000; break
      case '--url': options.url = next() ?? null; break
      case '--server-pid': options.serverPid = count(flag, next()); break
      case '--database-url': options.adminUrl = next() ?? options.adminUrl; break
      case '--cpu-prof': options.cpuProfile = true; break
      case '--workers': options.workers = list(flag, next()); break
      case '--server-env': {
        const pair = next() ?? ''
        const equals = pair.indexOf('=')
        if (equals < 1) throw new UsageError('--server-env needs NAME=VALUE')
        options.serverEnv[pair.slice(0, equals)] = pair.slice(equals + 1)
        break
      }
      case '--quiet': options.progress = () => undefined; break
      default: throw new UsageError(`unknown option ${arg}`)
    }
  }
  if (options.measureMs < 1000) throw new UsageError('--duration must be at least 1 second')
  if (attackPlan !== null && !attack) throw new UsageError('the attack options need --attack')
  if (attack) {
    if (options.ramp || baselineOnly || noBaseline || baselineSteps !== null) throw new UsageError('--attack runs on its own: no --ramp or baseline options')
    if (options.url !== null) throw new UsageError('--attack starts its own server (it restarts it after a crash): no --url')
    if (options.cpuProfile) throw new UsageError('--attack does not profile the server')
    options.attack = plan()
    if (options.attack.attackMs < 1000) throw new UsageError('--attack-seconds must be at least 1')
    if (!usersGiven) options.users = 2000
    return options
  }
  if (baselineOnly && noBaseline) throw new UsageError('--baseline and --no-baseline exclude each other')
  options.runReal = !baselineOnly
  options.runBaseline = baselineOnly || (options.ramp && !noBaseline)
  const top = Math.max(...options.steps)
  options.baselineSteps = baselineSteps ?? [...options.steps, ...BASELINE_EXTRA_STEPS.filter((n) => n > top)]
  if (options.cpuProfile && options.workers.some((n) => n > 1)) throw new UsageError('--cpu-prof profiles one process: not with --workers above 1')
  if (options.url !== null && options.workers.some((n) => n > 1)) throw new UsageError('--workers needs a server started by the benchmark (no --url)')
  if (options.cpuProfile && options.url !== null) throw new UsageError('--cpu-prof needs a server started by the benchmark (no --url)')
  return options
}
