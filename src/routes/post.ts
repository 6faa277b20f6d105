import type { FastifyPluginAsync } from 'fastify'
import { leaveChat, postDone, postRefused } from '../../views/worker-frames.js'
import { DatabaseUnavailableError, isConnectionFailure, isPoolBusy, isTableFull } from '../db/pool.js'
import { MAX_MESSAGE_LENGTH, prepareMessage } from '../message-text.js'
import { sendPage, single } from '../http.js'
import type { Services } from '../services.js'
import { hasToken, participantOf } from '../session.js'
import { logoutUrl } from './login.js'

/** What the sender reads in their own chat window when a message is not stored. */
export const POST_NOTICES: Record<string, string> = {
  empty: 'Type a message before pressing Send.',
  'too-long': `Messages may be at most ${MAX_MESSAGE_LENGTH} characters long.`,
  flood: 'You are sending messages too fast. Wait a few seconds, then send again.',
  duplicate: 'You just sent that message.',
  full: 'The chat is full right now (too many recent messages). Wait a few seconds, then send again.',
  failed: 'Your message could not be sent: the chat server is having trouble. Please send it again in a moment.',
  forged: 'This chat window is out of date and your message was not sent. Please reload the page.'
}

/** Where a window goes whose session has ended (no participant: nothing to log out, no token). */
export const SESSION_ENDED_URL = './login.php?logout=true&reason=expired'

export const postRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { messages, room, garbageCollector, config, metrics, wordFilter, kickNotices } = services
  const { limits } = config

  app.get('/post.php', async (request, reply) => {
    const notice = single(request.query, 'notice')
    // The participant is gone (collected): the logout that follows ends the session too.
    if (notice === 'expired') return sendPage(reply, leaveChat(logoutUrl(config, participantOf(request), 'expired')))
    const text = notice !== undefined && Object.hasOwn(POST_NOTICES, notice) ? POST_NOTICES[notice] : undefined
    return sendPage(reply, text === undefined ? postDone() : postRefused(text))
  })

  app.post('/post.php', async (request, reply) => {
    const participant = participantOf(request)
    if (participant === null) {
      metrics.postRefused('not-logged-in')
      return sendPage(reply, leaveChat(SESSION_ENDED_URL), 403)
    }

    const raw = single(request.body, 'message')
    const token = single(request.body, 'token')
    if (raw === undefined) {
      metrics.postRefused('bad-request')
      return sendPage(reply, postRefused('No message was sent.'), 400)
    }
    // A form on another site can post here with this browser's cookie; it can't read the token.
    if (!hasToken(participant, token)) {
      metrics.postRefused('forged')
      return sendPage(reply, postRefused(POST_NOTICES.forged as string), 403)
    }
    // Refusals redirect like successes (POST-redirect-GET), so they add no history entries either.
    const refuse = async (code: string) => {
      metrics.postRefused(code)
      return await reply.redirect(`post.php?notice=${code}`, 302)
    }
    // A moderator's kick takes the whole window to the login page with the reason, as a poll would.
    const kicked = (reason: string) => {
      metrics.postRefused('kicked')
      return sendPage(reply, leaveChat(kickNotices.loginUrl(reason)), 403)
    }
    if (room.isGone(participant.userId)) {
      const reason = kickNotices.reasonFor(participant.userId)
      return reason === undefined ? await refuse('expired') : kicked(reason)
    }

    const message = prepareMessage(raw)
    if (!message.ok) return await refuse(message.reason)
    // Masked before anything compares it, so a duplicate is judged on what is stored.
    const text = wordFilter.mask(message.text)

    try {
      await garbageCollector.onPost()

      // Flood control and the insert are one statement (see messages.post); only a refusal costs
      // a second query, to tell the sender why.
      const id = await messages.post(participant.userId, text, limits)
      if (id === null) {
        const history = await messages.postingHistory(participant.userId, limits.burstWindowMs, limits.sustainedWindowMs)
        if (!history.present) {
          // Collected for idleness (the original let them post into the void), or kicked.
          await kickNotices.learn([participant.userId])
          room.markGone(participant.userId)
          const reason = kickNotices.reasonFor(participant.userId)
          return reason === undefined ? await refuse('expired') : kicked(reason)
        }
        return await refuse(history.lastText === text ? 'duplicate' : 'flood')
      }
      // The sender's own next poll (on this process) sees the message without waiting for the timer.
      if (!room.addPosted({ id, name: participant.handle, text })) await room.refresh().catch(() => undefined)
    } catch (error) {
      if (isTableFull(error)) {
        garbageCollector.collectOnNextPost()
        request.log.warn('jenChat_Messages is full (max_heap_table_size); refusing posts until garbage collection frees rows')
        return await refuse('full')
      }
      if (isConnectionFailure(error) || error instanceof DatabaseUnavailableError) request.log.warn('cannot store a message: database unreachable')
      else if (isPoolBusy(error)) request.log.warn('cannot store a message: too many queries waiting for the database')
      else request.log.error({ err: error }, 'cannot store a message')
      return await refuse('failed')
    }
    metrics.post()
    return await reply.redirect('post.php', 302)
  })
}
