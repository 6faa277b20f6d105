import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { loginPage, logoutPage } from '../../views/login.js'
import { normalizeAddress } from '../client-address.js'
import type { Config } from '../config.js'
import type { Ban } from '../db/bans.js'
import { isTableFull } from '../db/pool.js'
import { sendPage, single } from '../http.js'
import type { Services } from '../services.js'
import { hasToken, participantOf, sessionCookieName, sessionCookieOptions, type Participant } from '../session.js'

export const HANDLE_PATTERN = /^[_a-z0-9-]+$/i
export const MAX_HANDLE_LENGTH = 20

export const LOGIN_ERRORS = {
  taken: 'A user with the same handle is currently in the chat room. Please try a different handle.',
  invalid: 'Handles may only contain letters, numbers, hyphens and dashes.',
  empty: 'You must enter a handle (screen name) to enter the chat room.',
  tooLong: `Handles may be at most ${MAX_HANDLE_LENGTH} characters long.`,
  full: 'The chat room is full right now. Please try again in half a minute.',
  throttled: 'Too many refused attempts from your address. Please wait a minute and try again.',
  tooMany: 'Too many people have joined from your address just now. Please wait a minute and try again.'
} as const

/** The refusal of a banned handle or address (status 403). */
export function bannedError (ban: Ban): string {
  const until = ban.remainingSeconds === null
    ? 'until a moderator lifts the ban'
    : `for another ${Math.max(1, Math.ceil(ban.remainingSeconds / 60))} minute(s)`
  return `You may not join the chat ${until}${ban.reason === '' ? '.' : `: ${ban.reason}`}`
}

const KICKED_NOTICE = 'A moderator removed you from the chat'

export const LOGIN_NOTICES: Record<string, string> = {
  expired: 'Your chat session has ended (your browser stopped polling, you logged in elsewhere, or the server was restarted). Please join again.'
}

/**
 * Where Logout leads: with the session's token, so that a page elsewhere can't log anyone out with
 * a plain link or image (old browsers ignore SameSite); the bare URL of the original when
 * LOGOUT_NEEDS_TOKEN is off or there is no session to end.
 */
export function logoutUrl (config: Pick<Config, 'logoutNeedsToken'>, participant: Participant | null, reason?: keyof typeof LOGIN_NOTICES): string {
  let url = './login.php?logout=true'
  if (reason !== undefined) url += `&reason=${reason}`
  if (config.logoutNeedsToken && participant !== null) url += `&token=${encodeURIComponent(participant.token)}`
  return url
}

export const loginRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { users, messages, room, loginThrottle, loginLimit, garbageCollector, config, metrics, bans, kickNotices } = services
  const cookieName = sessionCookieName(config)
  const cookieOptions = sessionCookieOptions(config)

  /** The login page's notice named by ?reason= (a kick's reason only when the chat signed it). */
  function noticeFor (query: unknown): string | undefined {
    const reason = single(query, 'reason')
    if (reason === 'kicked') {
      const why = kickNotices.verified(single(query, 'why'), single(query, 'sig'))
      return why === undefined ? undefined : why === '' ? `${KICKED_NOTICE}.` : `${KICKED_NOTICE}: ${why}`
    }
    return reason !== undefined && Object.hasOwn(LOGIN_NOTICES, reason) ? LOGIN_NOTICES[reason] : undefined
  }

  /**
   * login.php?logout=true, by GET (the Logout link) or POST (the confirmation form). Ends the
   * participant and the session when the request carries the session's token; without it asks
   * first. A request without a session costs no query: there is nothing to end.
   */
  async function logout (request: FastifyRequest, reply: FastifyReply, token: string | undefined): Promise<FastifyReply> {
    const reason = single(request.query, 'reason')
    const known = reason !== undefined && Object.hasOwn(LOGIN_NOTICES, reason) ? reason : undefined
    const participant = participantOf(request)
    if (participant !== null && config.logoutNeedsToken && !hasToken(participant, token)) {
      return sendPage(reply, logoutPage({
        handle: participant.handle,
        action: logoutUrl({ logoutNeedsToken: false }, null, known),
        token: participant.token
      }))
    }
    if (participant !== null) {
      room.markGone(participant.userId)
      await users.remove(participant.userId)
      // Deletes the session row, drops it from this process's cache, and keeps @fastify/session from saving it.
      await request.session.destroy()
    }
    reply.clearCookie(cookieName, cookieOptions)
    return await reply.redirect(known === undefined ? './login.php' : `./login.php?reason=${known}`, 302)
  }

  /**
   * Runs a write that may find a MEMORY table full; then collects garbage (idle participants, their
   * sessions, old messages) and tries once more, so that a table filled by people who left
   * doesn't wait for the next post to make room.
   */
  async function withRoomMade<T> (write: () => Promise<T>): Promise<T> {
    try {
      return await write()
    } catch (error) {
      if (!isTableFull(error)) throw error
      garbageCollector.collectOnNextPost()
      await garbageCollector.onPost()
      return await write()
    }
  }

  app.get('/login.php', async (request, reply) => {
    if (single(request.query, 'logout') === 'true') return await logout(request, reply, single(request.query, 'token'))
    const notice = noticeFor(request.query)
    return sendPage(reply, loginPage(notice === undefined ? {} : { notice }))
  })

  app.post('/login.php', async (request, reply) => {
    if (single(request.query, 'logout') === 'true') return await logout(request, reply, single(request.body, 'token'))
    const raw = single(request.body, 'who')
    if (raw === undefined) {
      metrics.loginRefused('empty')
      return sendPage(reply, loginPage({ error: LOGIN_ERRORS.empty }), 400)
    }
    const who = raw.trim()
    const address = normalizeAddress(request.ip)

    // Only refusals are limited, and a blocked address still gets in with a valid free handle:
    // a whole classroom joins at once from one NAT address, and one pupil's typos mustn't lock it out.
    const refuse = (error: string, status: number): FastifyReply => {
      if (loginThrottle.isBlocked(address)) {
        metrics.loginRefused('throttled')
        return sendPage(reply.header('retry-after', Math.ceil(config.limits.loginFailureWindowMs / 1000)),
          loginPage({ who, error: LOGIN_ERRORS.throttled }), 429)
      }
      loginThrottle.recordFailure(address)
      metrics.loginRefused(refusalReason(error))
      return sendPage(reply, loginPage({ who, error }), status)
    }
    if (who === '') return refuse(LOGIN_ERRORS.empty, 400)
    if (!HANDLE_PATTERN.test(who)) return refuse(LOGIN_ERRORS.invalid, 400)
    // The original let MySQL cut longer handles to 20 characters, so two handles could collide.
    if (who.length > MAX_HANDLE_LENGTH) return refuse(LOGIN_ERRORS.tooLong, 400)

    // Each login adds a participant and a session row: generous per address (LOGIN_LIMIT), but a
    // script can't fill the tables. Checked before any query.
    if (!loginLimit.take(address)) {
      request.log.warn({ address }, 'login limit reached for this address')
      metrics.loginRefused('tooMany')
      return sendPage(reply.header('retry-after', loginLimit.retryAfterSeconds(address)), loginPage({ who, error: LOGIN_ERRORS.tooMany }), 429)
    }
    const tableFull = (table: string): FastifyReply => {
      request.log.warn(`${table} is full (max_heap_table_size)`)
      metrics.loginRefused('full')
      return sendPage(reply.header('retry-after', 30), loginPage({ who, error: LOGIN_ERRORS.full }), 503)
    }

    // A ban (jenChat_Bans, written by the moderation CLI) is read only for a handle that could join.
    let ban: Ban | null
    try {
      ban = await bans.find(who, address)
    } catch (error) {
      loginLimit.giveBack(address)
      throw error
    }
    if (ban !== null) {
      loginLimit.giveBack(address)
      return refuse(bannedError(ban), 403)
    }

    let userId: number | null
    let joinCursor: number
    try {
      // Read before the participant exists: everything posted from now on reaches them.
      joinCursor = await messages.lastId()
      userId = await withRoomMade(async () => await users.claimHandle(who, config.timings.presenceWindowMs, address))
    } catch (error) {
      loginLimit.giveBack(address)
      if (!isTableFull(error)) throw error
      return tableFull('jenChat_Users')
    }
    if (userId === null) {
      loginLimit.giveBack(address)
      return refuse(LOGIN_ERRORS.taken, 409)
    }

    // A second login from the same browser replaces its previous participant.
    const previous = participantOf(request)
    if (previous !== null) {
      room.markGone(previous.userId)
      await users.remove(previous.userId)
    }

    const session = request.session
    session.userId = userId
    session.handle = who
    session.token = randomBytes(18).toString('base64url')
    session.joinCursor = joinCursor
    // A new session id at login (no fixation); regenerate() removes the old one from the store.
    try {
      await withRoomMade(async () => { await request.session.regenerate(['userId', 'handle', 'token', 'joinCursor']) })
    } catch (error) {
      loginLimit.giveBack(address)
      await users.remove(userId).catch(() => undefined)
      // Drop the half-made session so that onSend doesn't try to save it again.
      await request.session?.destroy().catch(() => undefined)
      if (!isTableFull(error)) throw error
      return tableFull('jenChat_Sessions')
    }
    metrics.login()
    return await reply.redirect('./chat.php', 302)
  })
}

/** The metrics label of a refusal: the LOGIN_ERRORS key of its text, else "banned". */
function refusalReason (error: string): string {
  for (const [key, text] of Object.entries(LOGIN_ERRORS)) if (text === error) return key
  return 'banned'
}
