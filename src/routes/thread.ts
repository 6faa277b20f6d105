import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { emptyPoll, leaveChat, messagesPoll } from '../../views/worker-frames.js'
import { sendPage, single } from '../http.js'
import type { Services } from '../services.js'
import { participantIn, sessionCookieName, type Participant } from '../session.js'

const CURSOR = /^\d{1,10}$/
const SESSION_ENDED = './login.php?reason=expired'

export const threadRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { room, config, sessionStore } = services
  const { pollIntervalMs } = config.timings
  const cookieName = sessionCookieName(config)

  /**
   * The session behind the cookie, read the way @fastify/session would (same signer, same store),
   * but read-only: a poll never changes its session.
   */
  async function sessionOf (request: FastifyRequest): Promise<{ id: string, participant: Participant | null } | null> {
    const cookie = request.cookies[cookieName]
    if (cookie === undefined) return null
    const unsigned = request.unsignCookie(cookie)
    if (!unsigned.valid || unsigned.value === null) return null
    return { id: unsigned.value, participant: participantIn(await sessionStore.read(unsigned.value)) }
  }

  // Polls are not logged at info: one line per participant per second would drown the log.
  app.get('/thread.php', { logLevel: 'warn' }, async (request, reply) => {
    const session = await sessionOf(request)
    const participant = session?.participant ?? null
    if (session === null || participant === null) return sendPage(reply, leaveChat(SESSION_ENDED), 403)
    if (room.isGone(participant.userId)) {
      // Logged out elsewhere or collected: end this session too, and take the window to the login page.
      await sessionStore.remove(session.id)
      reply.clearCookie(cookieName, { path: '/' })
      return sendPage(reply, leaveChat(SESSION_ENDED), 403)
    }
    room.markPresent(participant.userId)

    // The cursor travels in the frame's URL: no session write per poll, and any process can answer.
    // It never goes below the join point, so nobody reads what was said before they came in.
    const given = single(request.query, 'c')
    const cursor = given !== undefined && CURSOR.test(given)
      ? Math.max(Number(given), participant.joinCursor)
      : participant.joinCursor
    const delivery = room.messagesAfter(cursor)
    return sendPage(reply, delivery === null
      ? emptyPoll(pollIntervalMs)
      : messagesPoll(delivery.html, delivery.cursor, pollIntervalMs))
  })
}
