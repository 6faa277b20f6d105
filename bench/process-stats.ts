import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/*
 * CPU and memory of the processes under test, read from /proc (Linux only), so that the server, the
 * database and the load generator can each be blamed for their share of the 2 cores.
 */

let ticksPerSecond: number | undefined

function clockTicks (): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

/** CPU time (user + system, seconds) a process has used so far, or null when it is gone. */
export function processCpuSeconds (pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // The command name (field 2) may contain spaces; the fields after its closing parenthesis don't.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state (field 3).
    return (Number(fields[11]) + Number(fields[12])) / clockTicks()
  } catch {
    return null
  }
}

/** The parent of a process, or null when it is gone. */
function parentOf (pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return null
  }
}

/**
 * A process and its children (a cluster's primary and its workers), read from /proc; just the
 * process itself when it has none.
 */
export function processTree (pid: number): number[] {
  const tree = [pid]
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const child = Number(entry)
    if (child !== pid && parentOf(child) === pid) tree.push(child)
  }
  return tree
}

/** CPU seconds of a group of processes (e.g. a primary and its workers); null when all are gone. */
export function groupCpuSeconds (pids: number[]): number | null {
  const each = pids.map(processCpuSeconds).filter((s): s is number => s !== null)
  return each.length === 0 ? null : each.reduce((a, b) => a + b, 0)
}

/** Resident set size in MB, or null when the process is gone. */
export function processRssMb (pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1')
    const match = /\nVmRSS:\s+(\d+) kB/.exec(status)
    return match === null ? null : Number(match[1]) / 1024
  } catch {
    return null
  }
}

/** Busy and total CPU time of the whole machine (all cores, seconds). */
function machineCpuSeconds (): { busy: number, total: number } {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] ?? ''
  const values = line.trim().split(/\s+/).slice(1).map(Number)
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0)
  // idle and iowait
  const idle = (values[3] ?? 0) + (values[4] ?? 0)
  return { busy: (total - idle) / clockTicks(), total: total / clockTicks() }
}

/** The database server's pid (mariadbd, else mysqld), or null. */
export function findDatabasePid (): number | null {
  for (const name of ['mariadbd', 'mysqld']) {
    try {
      const pids = execFileSync('pidof', [name], { encoding: 'utf8' }).trim().split(/\s+/).map(Number)
      if (pids.length === 1 && pids[0] !== undefined && pids[0] > 0) return pids[0]
      // Several (e.g. a test's private server): the shared one is the oldest, i.e. usually the lowest.
      if (pids.length > 1) return Math.min(...pids)
    } catch {
      // not running under this name
    }
  }
  return null
}

/** The limit on open files of this process (and the server it spawns). */
export function openFileLimit (): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'latin1')
    const match = /Max open files\s+(\d+|unlimited)/.exec(limits)
    return match === null || match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1])
  } catch {
    return Number.POSITIVE_INFINITY
  }
}

/** Summed RSS of a group of processes in MB, or null when all are gone. */
export function groupRssMb (pids: number[]): number | null {
  const each = pids.map(processRssMb).filter((mb): mb is number => mb !== null)
  return each.length === 0 ? null : each.reduce((a, b) => a + b, 0)
}

/**
 * CPU % (of one core) of a set of processes over an interval: start() then stop(). Each entry is
 * one process or a group of them (summed), e.g. a cluster's primary and workers.
 */
export class CpuMeter {
  private readonly start = new Map<string, number | null>()
  private startedAt = 0
  private machineStart = { busy: 0, total: 0 }
  private generatorStart = process.cpuUsage()

  constructor (private readonly pids: Record<string, number | number[] | null>) {}

  begin (): void {
    this.startedAt = performance.now()
    for (const [name, pid] of Object.entries(this.pids)) this.start.set(name, pid === null ? null : groupCpuSeconds([pid].flat()))
    this.machineStart = machineCpuSeconds()
    this.generatorStart = process.cpuUsage()
  }

  /** Percentages of one core; `machine` is the whole box (200 % = both cores busy). */
  end (): Record<string, number | null> {
    const seconds = (performance.now() - this.startedAt) / 1000
    const result: Record<string, number | null> = {}
    for (const [name, pid] of Object.entries(this.pids)) {
      const before = this.start.get(name) ?? null
      const after = pid === null ? null : groupCpuSeconds([pid].flat())
      result[name] = before === null || after === null ? null : (after - before) / seconds * 100
    }
    const generator = process.cpuUsage(this.generatorStart)
    result.generator = (generator.user + generator.system) / 1e6 / seconds * 100
    const machine = machineCpuSeconds()
    result.machine = (machine.busy - this.machineStart.busy) / seconds * 100
    return result
  }
}
