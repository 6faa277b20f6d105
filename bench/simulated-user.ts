import { browserRequest } from './browser-request.js'
import { CookieJar } from './cookie-jar.js'
import { DeliveryTracker, type Presence } from './delivery-tracker.js'
import { decodedBody, headerValues, HttpConnection, TimeoutError, type HttpResponse } from './http-connection.js'
import type { PollAnswerReader } from './poll-answers.js'
import type { WindowStats } from './window-stats.js'

/** What all simulated users share: the target, the window being counted, the delivery tracker. */
export interface LoadContext {
  host: string
  port: number
  /** Directory of the chat's pages on the server, ending in "/". */
  basePath: string
  /** The window being counted now, or null (between windows). */
  stats: WindowStats | null
  /** Null when messages are not followed (the baseline server delivers none). */
  tracker: DeliveryTracker | null
  /** Reads poll answers, each distinct one once. */
  answers: PollAnswerReader
  /** Posting pauses at the end of a step so that every message can be settled. */
  posting: boolean
  /** Mean time between two posts of one user. */
  postIntervalMs: number
  /** Poll delay when a response had no usable script (the frame's 503 page retries after 2 s). */
  retryMs: number
  /** The source address of a user's connection (default: the system's choice, 127.0.0.1). */
  sourceAddress?: (index: number) => string
}

export class JoinError extends Error {
  constructor (readonly kind: string, detail: string) {
    super(`${kind}: ${detail}`)
    this.name = 'JoinError'
  }
}

/**
 * One person with a browser: logs in through login.php, opens chat.php (and its frames), then lets
 * the thread frame poll as its script says, 1 s after each answer arrived, and sends a message now
 * and then through the post frame. Its own cookie jar, its own keep-alive connection.
 */
export class SimulatedUser implements Presence {
  joinedAt = -1
  leftAt = -1
  readonly connection: HttpConnection
  private readonly jar = new CookieJar()
  private token = ''
  private pollPath: string
  private pollTimer: NodeJS.Timeout | null = null
  private pollTimerDelay = -1
  private postTimer: NodeJS.Timeout | null = null
  private seq = 0
  private stopped = false

  constructor (readonly index: number, readonly handle: string, private readonly context: LoadContext) {
    this.connection = new HttpConnection(context.host, context.port, context.sourceAddress?.(index))
    this.pollPath = context.basePath + 'thread.php'
  }

  get polling (): boolean {
    return this.pollTimer !== null && !this.stopped
  }

  /** Joining or in the room (not failed, not sent away, not logged out). */
  get active (): boolean {
    return !this.stopped
  }

  /** The page loads of joining; resolves when the thread frame starts polling. */
  async join (): Promise<void> {
    const { basePath } = this.context
    const login = await this.fetch(this.request('POST', basePath + 'login.php', 'who=' + this.handle))
    if (login.status !== 302) throw new JoinError(`login-${login.status}`, this.handle)
    this.joinedAt = performance.now()
    const chat = await this.fetch(this.request('GET', basePath + 'chat.php'))
    const token = /name="token" value="([^"]*)"/.exec(decodedBody(chat).toString('latin1'))
    if (chat.status !== 200 || token === null) throw new JoinError(`chat-${chat.status}`, 'no chat page with a token')
    this.token = token[1] as string
    // The page's other frames; contents.html is cacheable, a browser fetches it once.
    await this.fetch(this.request('GET', basePath + 'contents.html'))
    await this.fetch(this.request('GET', basePath + 'post.php'))
    if (this.stopped) return
    this.pollTimer = setTimeout(() => this.poll(), 0)
    this.schedulePost(Math.random() * this.context.postIntervalMs)
  }

  /** Leaves through the logout link; the participant is gone from the room from this moment. */
  async logout (): Promise<void> {
    this.stop()
    if (this.joinedAt < 0) return
    const response = await this.fetch(this.request('GET', this.context.basePath + 'login.php?logout=true&token=' + encodeURIComponent(this.token)))
    if (response.status !== 302) throw new Error(`logout answered ${response.status}`)
  }

  /** Stops polling and posting (the window is closed). */
  stop (): void {
    this.stopped = true
    if (this.leftAt < 0 && this.joinedAt >= 0) this.leftAt = performance.now()
    if (this.pollTimer !== null) clearTimeout(this.pollTimer)
    if (this.postTimer !== null) clearTimeout(this.postTimer)
  }

  close (): void {
    this.stop()
    this.connection.close()
  }

  private request (method: 'GET' | 'POST', path: string, form?: string): string {
    return browserRequest(method, path, this.context.host + ':' + this.context.port, this.jar.header, form)
  }

  /** Cold path (joining, leaving): every response is counted and its cookies stored. */
  private async fetch (request: string): Promise<HttpResponse> {
    const response = await this.connection.sendAsync(request)
    this.received(response, request.length)
    return response
  }

  private received (response: HttpResponse, requestBytes: number): void {
    const stats = this.context.stats
    if (stats !== null) {
      stats.requests++
      stats.bytesIn += response.bytes
      stats.bytesOut += requestBytes
    }
    // Polls never set cookies (and are not read here): only these heads are scanned for them.
    this.jar.store(headerValues(response.head, 'set-cookie'))
  }

  private poll (): void {
    if (this.stopped) return
    const request = this.request('GET', this.pollPath)
    this.connection.send(request, (error, response) => {
      if (this.stopped) return
      if (error !== null) {
        this.failedPoll(error)
        return
      }
      this.pollAnswered(response as HttpResponse, request.length)
    })
  }

  private pollAnswered (response: HttpResponse, requestBytes: number): void {
    const now = performance.now()
    const { context } = this
    const stats = context.stats
    const answer = context.answers.read(response)
    if (stats !== null) {
      stats.requests++
      stats.bytesIn += response.bytes
      stats.bytesOut += requestBytes
    }
    if (answer.leave) {
      // The chat window is sent to the login page: this person is out of the room.
      stats?.error('logged-out')
      this.stop()
      this.connection.close()
      return
    }
    if (response.status === 200) {
      if (answer.next !== null) {
        this.pollPath = resolve(context.basePath, answer.next)
        context.tracker?.deliveredAnswer(answer, this.index, now)
      }
      if (stats !== null) {
        stats.polls++
        stats.pollBytes += response.bytes
        stats.pollLatency.recordMs(now - this.connection.lastSentAt)
        if (answer.next === null) {
          stats.emptyPolls++
          stats.emptyPollBytes += response.bytes
          if (response.bytes > stats.emptyPollBytesMax) stats.emptyPollBytesMax = response.bytes
        }
      }
    } else {
      stats?.error(`poll-${response.status}`)
    }
    this.schedulePoll(answer.delayMs ?? context.retryMs)
  }

  private failedPoll (error: Error): void {
    const stats = this.context.stats
    if (error instanceof TimeoutError) {
      if (stats !== null) stats.timeouts++
      stats?.error('poll-timeout')
    } else {
      stats?.error('poll-socket')
    }
    this.schedulePoll(this.context.retryMs)
  }

  /** As the frame's setTimeout: from the end of the answer. One timer per user, re-armed. */
  private schedulePoll (delayMs: number): void {
    if (this.pollTimer !== null && this.pollTimerDelay === delayMs) {
      this.pollTimer.refresh()
      return
    }
    if (this.pollTimer !== null) clearTimeout(this.pollTimer)
    this.pollTimerDelay = delayMs
    this.pollTimer = setTimeout(() => this.poll(), delayMs)
  }

  /** Posts at random intervals between 0.5 and 1.5 times the mean: never a burst flood control refuses. */
  private schedulePost (delayMs: number): void {
    this.postTimer = setTimeout(() => {
      if (this.stopped) return
      if (this.context.posting) this.post()
      this.schedulePost(this.context.postIntervalMs * (0.5 + Math.random()))
    }, delayMs)
  }

  private post (): void {
    const { context } = this
    const seq = ++this.seq
    const form = 'message=' + DeliveryTracker.text(this.index, seq) + '&token=' + encodeURIComponent(this.token)
    const request = this.request('POST', context.basePath + 'post.php', form)
    let sentAt = 0
    let stats: WindowStats | null = null
    this.connection.send(request, (error, response) => {
      if (this.stopped) return
      if (error !== null || response === null) {
        context.tracker?.refused(this.index, seq)
        context.stats?.error(error instanceof TimeoutError ? 'post-timeout' : 'post-socket')
        return
      }
      this.received(response, request.length)
      if (stats !== null) {
        stats.posts++
        stats.postLatency.recordMs(performance.now() - sentAt)
      }
      const location = headerValues(response.head, 'location')[0]
      if (response.status !== 302 || location === undefined) {
        context.tracker?.refused(this.index, seq)
        context.stats?.error(`post-${response.status}`)
        if (decodedBody(response).includes('top.location')) this.stop()
        return
      }
      const notice = /[?&]notice=([^&]*)/.exec(location)
      if (notice !== null) {
        context.tracker?.refused(this.index, seq)
        context.stats?.error(`post-refused-${notice[1] as string}`)
      }
      // The post frame follows the redirect (POST-redirect-GET).
      const follow = this.request('GET', resolve(context.basePath, location))
      this.connection.send(follow, (followError, followed) => {
        if (followError !== null || followed === null) context.stats?.error('post-socket')
        else this.received(followed, follow.length)
      })
    }, (at) => {
      sentAt = at
      stats = context.stats
      context.tracker?.posted(this.index, seq, at, stats)
    })
  }
}

/** A link relative to the chat's directory (`thread.php?c=1`, `./chat.php`) as an absolute path. */
function resolve (basePath: string, link: string): string {
  if (link.startsWith('/')) return link
  return basePath + (link.startsWith('./') ? link.slice(2) : link)
}
