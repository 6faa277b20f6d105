import type { FastifyPluginAsync } from 'fastify'
import { chatPage } from '../../views/chat.js'
import { sendPage } from '../http.js'
import type { Services } from '../services.js'
import { participantOf } from '../session.js'
import { logoutUrl } from './login.js'

export const chatRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { users, config } = services

  app.get('/chat.php', async (request, reply) => {
    const participant = participantOf(request)
    if (participant === null) return await reply.redirect('./login.php', 302)
    // As the original: someone whose thread frame stopped polling (window closed, came back later)
    // starts over at the login page, which ends the old participant.
    const idleMs = await users.idleMs(participant.userId)
    if (idleMs === null || idleMs > config.timings.presenceWindowMs) {
      return await reply.redirect(logoutUrl(config, participant), 302)
    }
    // The link is relative to the page, as the original's was (no ./).
    const logoutLink = logoutUrl(config, participant).slice(2)
    return sendPage(reply, chatPage({
      handle: participant.handle,
      token: participant.token,
      logoutUrl: logoutLink,
      stopPollingOnLogout: config.logoutNeedsToken
    }))
  })
}
