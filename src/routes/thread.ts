import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { emptyPoll, leaveChat, messagesPoll } from '../../views/worker-frames.js'
import { SharedPage } from '../compression.js'
import { frequentRouteLogLevel } from '../config.js'
import { sendPage, single } from '../http.js'
import type { Delivery } from '../room/room.js'
import type { Services } from '../services.js'
import { participantIn, sessionCookieName, sessionCookieOptions, type Participant } from '../session.js'

const CURSOR = /^\d{1,10}$/
const SESSION_ENDED = './login.php?reason=expired'

export const threadRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { room, config, sessionStore, sessionCookies, metrics, kickNotices } = services
  const { pollIntervalMs } = config.timings
  const cookieName = sessionCookieName(config)

  // The poll is the one request every participant makes every second: its answers are encoded
  // (and compressed) once, not once per participant. An empty poll is always the same bytes; a
  // delivery is shared by everyone at the same cursor until the room's next refresh (see
  // room.messagesAfter).
  const emptyPage = Buffer.from(emptyPoll(pollIntervalMs))
  const deliveryPages = new WeakMap<Delivery, SharedPage>()
  function deliveryPage (delivery: Delivery): SharedPage {
    let page = deliveryPages.get(delivery)
    if (page === undefined) {
      // An answer cut short by its limits (room.messagesAfter) is followed by the next one at once.
      const nextPollMs = delivery.complete ? pollIntervalMs : 0
      page = new SharedPage(Buffer.from(messagesPoll(delivery.html, delivery.cursor, nextPollMs)))
      deliveryPages.set(delivery, page)
      metrics.deliveryBuilt()
    } else {
      metrics.deliveryShared()
    }
    return page
  }

  /**
   * The session behind the cookie, read the way @fastify/session would (same signer, same store),
   * but read-only: a poll never changes its session.
   */
  async function sessionOf (request: FastifyRequest): Promise<{ id: string, participant: Participant | null } | null> {
    const cookie = request.cookies[cookieName]
    if (cookie === undefined) return null
    const id = sessionCookies.sessionIdIn(cookie)
    if (id === null) return null
    return { id, participant: participantIn(await sessionStore.read(id)) }
  }

  app.get('/thread.php', { logLevel: frequentRouteLogLevel(config.logLevel) }, async (request, reply) => {
    metrics.poll()
    const session = await sessionOf(request)
    const participant = session?.participant ?? null
    if (session === null || participant === null) return sendPage(reply, leaveChat(SESSION_ENDED), 403)
    if (room.isGone(participant.userId)) {
      // Logged out elsewhere, collected or kicked: end this session too, and take the window to the
      // login page (which says why, after a kick).
      await sessionStore.remove(session.id)
      reply.clearCookie(cookieName, sessionCookieOptions(config))
      const kickReason = kickNotices.reasonFor(participant.userId)
      return sendPage(reply, leaveChat(kickReason === undefined ? SESSION_ENDED : kickNotices.loginUrl(kickReason)), 403)
    }
    room.markPresent(participant.userId)

    // The cursor travels in the frame's URL: no session write per poll, and any process can answer.
    // It never goes below the join point, so nobody reads what was said before they came in.
    const given = single(request.query, 'c')
    const cursor = given !== undefined && CURSOR.test(given)
      ? Math.max(Number(given), participant.joinCursor)
      : participant.joinCursor
    const delivery = room.messagesAfter(cursor)
    return sendPage(reply, delivery === null ? emptyPage : deliveryPage(delivery))
  })
}
