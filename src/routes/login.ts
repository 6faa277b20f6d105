import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { loginPage } from '../../views/login.js'
import { isTableFull } from '../db/pool.js'
import { sendPage, single } from '../http.js'
import type { Services } from '../services.js'
import { participantOf, sessionCookieName } from '../session.js'

export const HANDLE_PATTERN = /^[_a-z0-9-]+$/i
export const MAX_HANDLE_LENGTH = 20

export const LOGIN_ERRORS = {
  taken: 'A user with the same handle is currently in the chat room. Please try a different handle.',
  invalid: 'Handles may only contain letters, numbers, hyphens and dashes.',
  empty: 'You must enter a handle (screen name) to enter the chat room.',
  tooLong: `Handles may be at most ${MAX_HANDLE_LENGTH} characters long.`,
  full: 'The chat room is full right now. Please try again in half a minute.',
  throttled: 'Too many refused attempts from your address. Please wait a minute and try again.'
} as const

export const LOGIN_NOTICES: Record<string, string> = {
  expired: 'Your chat session has ended (your browser stopped polling, you logged in elsewhere, or the server was restarted). Please join again.'
}

export const loginRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { users, messages, room, loginThrottle, config } = services

  /** Ends the participant and the session; the cookie goes with it. */
  async function leave (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const participant = participantOf(request)
    if (participant !== null) {
      room.markGone(participant.userId)
      await users.remove(participant.userId)
    }
    if (request.session?.sessionId !== undefined) await request.session.destroy()
    reply.clearCookie(sessionCookieName(config), { path: '/' })
  }

  app.get('/login.php', async (request, reply) => {
    const reason = single(request.query, 'reason')
    const notice = reason !== undefined && Object.hasOwn(LOGIN_NOTICES, reason) ? LOGIN_NOTICES[reason] : undefined
    if (single(request.query, 'logout') === 'true') {
      await leave(request, reply)
      return await reply.redirect(notice === undefined ? './login.php' : `./login.php?reason=${reason}`, 302)
    }
    return sendPage(reply, loginPage(notice === undefined ? {} : { notice }))
  })

  app.post('/login.php', async (request, reply) => {
    const raw = single(request.body, 'who')
    if (raw === undefined) return sendPage(reply, loginPage({ error: LOGIN_ERRORS.empty }), 400)
    const who = raw.trim()
    const address = request.ip

    // Only refusals are limited, and a blocked address still gets in with a valid free handle:
    // a whole classroom joins at once from one NAT address, and one pupil's typos mustn't lock it out.
    const refuse = (error: string, status: number): FastifyReply => {
      if (loginThrottle.isBlocked(address)) {
        return sendPage(reply.header('retry-after', Math.ceil(config.limits.loginFailureWindowMs / 1000)),
          loginPage({ who, error: LOGIN_ERRORS.throttled }), 429)
      }
      loginThrottle.recordFailure(address)
      return sendPage(reply, loginPage({ who, error }), status)
    }
    if (who === '') return refuse(LOGIN_ERRORS.empty, 400)
    if (!HANDLE_PATTERN.test(who)) return refuse(LOGIN_ERRORS.invalid, 400)
    // The original let MySQL cut longer handles to 20 characters, so two handles could collide.
    if (who.length > MAX_HANDLE_LENGTH) return refuse(LOGIN_ERRORS.tooLong, 400)

    // Read before the participant exists: everything posted from now on reaches them.
    const joinCursor = await messages.lastId()
    let userId: number | null
    try {
      userId = await users.claimHandle(who, config.timings.presenceWindowMs)
    } catch (error) {
      if (!isTableFull(error)) throw error
      request.log.warn('jenChat_Users is full (max_heap_table_size)')
      return sendPage(reply.header('retry-after', 30), loginPage({ who, error: LOGIN_ERRORS.full }), 503)
    }
    if (userId === null) return refuse(LOGIN_ERRORS.taken, 409)

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
      await session.regenerate(['userId', 'handle', 'token', 'joinCursor'])
    } catch (error) {
      await users.remove(userId).catch(() => undefined)
      // Drop the half-made session so that onSend doesn't try to save it again.
      await request.session?.destroy().catch(() => undefined)
      if (!isTableFull(error)) throw error
      request.log.warn('jenChat_Sessions is full (max_heap_table_size)')
      return sendPage(reply.header('retry-after', 30), loginPage({ who, error: LOGIN_ERRORS.full }), 503)
    }
    return await reply.redirect('./chat.php', 302)
  })
}
