import { ANNOUNCEMENT_AUTHOR, type StoredMessage } from '../src/db/messages.js'
import { html, jsString, trusted, type SafeHtml } from './html.js'
import { DOCTYPE } from './layout.js'

/*
 * The hidden worker frames, thread.php and post.php. Each response is a minimal valid XHTML 1.0
 * Transitional document whose ES3 script talks to the chat page (its parent). The thread frame is
 * fetched once a second by every participant, so its empty answer is kept to a few hundred bytes:
 * no line breaks, and an empty title. Scripts are templates too: the values in them are numbers,
 * or strings made safe for a script by jsString.
 */

function frame (body: SafeHtml | '', script: SafeHtml): string {
  return DOCTYPE + html`<html xmlns="http://www.w3.org/1999/xhtml"><head><title></title></head><body>${body}<script type="text/javascript">${script}</script></body></html>`.value
}

/**
 * One message as the original rendered it: `<div><strong>NAME: </strong>MESSAGE</div>`; a
 * moderator's announcement has no author and its own class (and is in italics without any CSS).
 */
export function renderMessage (message: Pick<StoredMessage, 'name' | 'text'>): string {
  if (message.name === ANNOUNCEMENT_AUTHOR) return html`<div class="announcement"><em>${message.text}</em></div>`.value
  return html`<div><strong>${message.name}: </strong>${message.text}</div>`.value
}

function reloadAfter (delayMs: number): SafeHtml {
  return html`setTimeout("location.reload()",${delayMs})`
}

/** Nothing new: poll the same URL again. */
export function emptyPoll (pollIntervalMs: number): string {
  return frame('', reloadAfter(pollIntervalMs))
}

/**
 * New messages, and the cursor to poll from next, after `nextPollMs` (0 when the answer was cut
 * short and more is waiting). Should handing them to the chat page fail, the frame polls its
 * current URL again (the old cursor), so nothing is lost and the loop never dies.
 * `messagesHtml` is renderMessage's markup, joined (the room builds it once for everyone).
 */
export function messagesPoll (messagesHtml: string, cursor: number, nextPollMs: number): string {
  return frame(
    html`<div id="contents">${trusted(messagesHtml)}</div>`,
    html`var u="thread.php?c=${cursor}";try{parent.insertMessages(document.getElementById("contents").innerHTML)}catch(e){u=location.href}setTimeout("location.replace(u)",${nextPollMs})`
  )
}

/** The poll could not be answered now (e.g. the database is away): try again later. */
export function retryPoll (delayMs: number): string {
  return frame(html`<p>The chat server is busy. Retrying.</p>`, reloadAfter(delayMs))
}

/** Sends the whole chat window (not just this frame) to `url`, e.g. the login page. */
export function leaveChat (url: string): string {
  return frame(
    html`<p>Your chat session has ended. <a href="${url}" target="_top">Join the chat again</a>.</p>`,
    html`top.location.replace(${jsString(url)})`
  )
}

/** post.php after a message was stored, and on the chat page's first load: clear and focus the box. */
export function postDone (): string {
  return frame('', html`if(parent.resetForm)parent.resetForm()`)
}

/** post.php when the message was refused: tell the sender in their chat window, keep their text. */
export function postRefused (notice: string): string {
  return frame('', html`if(parent.showNotice)parent.showNotice(${jsString(notice)})`)
}
