import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface HotFunction {
  name: string
  where: string
  selfMs: number
  /** Share of the busy (non-idle) time. */
  percent: number
}

export interface ProfileSummary {
  file: string
  busyMs: number
  idleMs: number
  top: HotFunction[]
}

/** The functions with the most self time in a V8 .cpuprofile (what `node --cpu-prof` writes). */
export function summariseProfile (file: string, limit = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfUs = new Map<string, { name: string, where: string, us: number }>()
  let idleUs = 0
  let busyUs = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number)
    // A sample's time is the gap to the next one.
    const us = profile.timeDeltas[i + 1] ?? 0
    if (node === undefined) continue
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') {
      idleUs += us
      continue
    }
    busyUs += us
    const where = url === '' ? '' : `${shortPath(url)}:${lineNumber + 1}`
    const key = `${functionName}@${where}`
    const entry = selfUs.get(key) ?? { name: functionName === '' ? '(anonymous)' : functionName, where, us: 0 }
    entry.us += us
    selfUs.set(key, entry)
  }
  const top = [...selfUs.values()].sort((a, b) => b.us - a.us).slice(0, limit).map((entry) => ({
    name: entry.name,
    where: entry.where,
    selfMs: Math.round(entry.us / 1000),
    percent: busyUs === 0 ? 0 : Number((entry.us / busyUs * 100).toFixed(1))
  }))
  return { file, busyMs: Math.round(busyUs / 1000), idleMs: Math.round(idleUs / 1000), top }
}

/** node_modules/fastify/lib/reply.js rather than the whole file:// URL. */
function shortPath (url: string): string {
  const path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('/node_modules/')
  if (modules >= 0) return path.slice(modules + 1)
  const dist = path.indexOf('/dist/')
  if (dist >= 0) return path.slice(dist + 1)
  return path
}
