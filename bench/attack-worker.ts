import { parentPort, workerData } from 'node:worker_threads'
import { ATTACKS, attacksOf, type AttackId, type AttackSettings, type MixId } from './attack-mixes.js'
import { Tally, type TallyReport } from './attack-traffic.js'

/*
 * The attack traffic of one mix, in a worker thread: its work (building 15 KB requests, opening
 * connections) runs on an event loop of its own, so the honest users' latencies, measured on the
 * main thread, are the server's and not the attacker's.
 */

export interface AttackJob {
  mix: MixId
  settings: AttackSettings
  durationMs: number
}

export interface AttackDone {
  /** Per attack of the mix. */
  tallies: Partial<Record<AttackId, TallyReport>>
  /** How long the attack really lasted (the last requests in flight end after the duration). */
  seconds: number
}

async function run (job: AttackJob): Promise<AttackDone> {
  const started = performance.now()
  const until = started + job.durationMs
  const tallies: Partial<Record<AttackId, Tally>> = {}
  await Promise.all(attacksOf(job.mix).map(async (id) => {
    const tally = new Tally()
    tallies[id] = tally
    await ATTACKS[id](job.settings, until, tally)
  }))
  return {
    tallies: Object.fromEntries(Object.entries(tallies).map(([id, tally]) => [id, tally.toJSON()])),
    seconds: Number(((performance.now() - started) / 1000).toFixed(1))
  }
}

if (parentPort !== null) {
  const port = parentPort
  port.postMessage({ started: true })
  run(workerData as AttackJob).then((done) => { port.postMessage(done) }, (error: unknown) => {
    port.postMessage({ error: error instanceof Error ? error.stack ?? error.message : String(error) })
  })
}
