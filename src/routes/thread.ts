import type { FastifyPluginAsync } from 'fastify'
import { emptyPoll, leaveChat, messagesPoll } from '../../views/worker-frames.js'
import { sendPage, single } from '../http.js'
import type { Services } from '../services.js'
import { participantOf, sessionCookieName } from '../session.js'

const CURSOR = /^\d{1,10}$/

export const threadRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { room, config } = services
  const { pollIntervalMs } = config.timings
  const cookieName = sessionCookieName(config)

  // Polls are not logged at info: one line per participant per second would drown the log.
  app.get('/thread.php', { logLevel: 'warn' }, async (request, reply) => {
    const participant = participantOf(request)
    if (participant === null) return sendPage(reply, leaveChat('./login.php?reason=expired'), 403)
    if (room.isGone(participant.userId)) {
      // Logged out elsewhere or collected: end this session too, and take the window to the login page.
      await request.session.destroy()
      reply.clearCookie(cookieName, { path: '/' })
      return sendPage(reply, leaveChat('./login.php?reason=expired'), 403)
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
