import { messageKey, SEQ_SPAN, type PollAnswer } from './poll-answers.js'
import type { WindowStats } from './window-stats.js'

/** What the tracker needs to know about a participant to decide whether it should have seen a message. */
export interface Presence {
  /** performance.now() when the login answer arrived (the participant exists from then), or -1. */
  joinedAt: number
  /** performance.now() when it left the room (logged out, sent away), or -1 while present. */
  leftAt: number
}

interface SentMessage {
  sender: number
  sentAt: number
  stats: WindowStats | null
  /** One bit per participant index: seen by that participant. */
  seen: Uint8Array
  refused: boolean
}

/**
 * Follows every message the simulated users post (text `b<sender>x<seq>`) until each participant who
 * was in the room when it was sent has seen it once. A second sighting is a duplicate; no sighting
 * by the time the message is settled (after a grace period) is a loss.
 */
export class DeliveryTracker {
  private readonly sent = new Map<number, SentMessage>()
  /** Highest sequence number settled per sender: a later sighting of those is "late". */
  private readonly settledUpTo: number[] = []

  /** `participants` is indexed by participant number and grows as people join. */
  constructor (private readonly participants: readonly Presence[]) {}

  static text (sender: number, seq: number): string {
    return 'b' + sender + 'x' + seq
  }

  posted (sender: number, seq: number, sentAt: number, stats: WindowStats | null): void {
    // Whoever joins later isn't expected to see it: one bit for each participant so far is enough.
    const seen = new Uint8Array((this.participants.length + 7) >>> 3)
    this.sent.set(messageKey(sender, seq), { sender, sentAt, stats, seen, refused: false })
  }

  /** The server did not store it (a notice came back): nobody is expected to see it. */
  refused (sender: number, seq: number): void {
    const message = this.sent.get(messageKey(sender, seq))
    if (message !== undefined) message.refused = true
  }

  /**
   * A poll answer reached `receiver`. Everyone between two refreshes of the server gets the same
   * answer (PollAnswerReader hands out one object per distinct body), so its messages are looked up
   * once and remembered until the next settle. Each receiver is still checked for every one.
   */
  deliveredAnswer (answer: Pick<PollAnswer, 'keys'>, receiver: number, at: number): void {
    const known = this.resolved.get(answer)
    if (known !== undefined) {
      for (let i = 0; i < known.length; i++) this.deliveredMessage(known[i] as SentMessage, receiver, at)
      return
    }
    const keys = answer.keys
    // Remembered only when every message in it is being followed: the others take the slow path
    // (late or unknown) every time.
    const messages: SentMessage[] = []
    for (const id of keys) {
      const message = this.sent.get(id)
      if (message !== undefined) messages.push(message)
    }
    if (messages.length === keys.length) this.resolved.set(answer, messages)
    for (const id of keys) this.delivered(id, receiver, at)
  }

  private resolved = new WeakMap<object, SentMessage[]>()

  private delivered (id: number, receiver: number, at: number): void {
    const message = this.sent.get(id)
    if (message === undefined) {
      const sender = Math.floor(id / SEQ_SPAN)
      if (id % SEQ_SPAN <= (this.settledUpTo[sender] ?? -1) && this.currentStats !== null) this.currentStats.late++
      return
    }
    this.deliveredMessage(message, receiver, at)
  }

  private deliveredMessage (message: SentMessage, receiver: number, at: number): void {
    const byte = receiver >>> 3
    const bit = 1 << (receiver & 7)
    const stats = message.stats
    // Joined after it was sent (its login cursor may still include it): neither expected nor wrong.
    if (byte >= message.seen.length) return
    if (((message.seen[byte] as number) & bit) !== 0) {
      if (stats !== null) stats.duplicates++
      return
    }
    message.seen[byte] = (message.seen[byte] as number) | bit
    if (stats !== null) {
      stats.deliveries++
      if (receiver !== message.sender) stats.deliveryLatency.recordMs(at - message.sentAt)
    }
  }

  /** Where late sightings are counted (the window running when they arrive). */
  currentStats: WindowStats | null = null

  /**
   * Settles every message sent so far: a participant that joined before the message was sent and
   * was still in the room `graceMs` later must have seen it. The sender counts as a receiver too.
   */
  settle (graceMs: number): void {
    this.resolved = new WeakMap()
    const participants = this.participants
    for (const [id, message] of this.sent) {
      this.sent.delete(id)
      const seq = id % SEQ_SPAN
      if (seq > (this.settledUpTo[message.sender] ?? -1)) this.settledUpTo[message.sender] = seq
      if (message.refused || message.stats === null) continue
      let lost = 0
      for (let r = 0; r < participants.length && r < message.seen.length * 8; r++) {
        const who = participants[r] as Presence
        if (who.joinedAt < 0 || who.joinedAt > message.sentAt) continue
        if (who.leftAt >= 0 && who.leftAt < message.sentAt + graceMs) continue
        if (((message.seen[r >>> 3] as number) & (1 << (r & 7))) === 0) lost++
      }
      message.stats.lost += lost
    }
  }

  get pending (): number {
    return this.sent.size
  }
}
