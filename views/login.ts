import { html } from './html.js'
import { page } from './layout.js'

export interface LoginView {
  /** The handle as typed, echoed back into the field after an error. */
  who?: string
  error?: string
  notice?: string
}

const STYLE = html`<style type="text/css">
  body { font-family: Verdana, Arial, sans-serif; font-size: small; }
  .error { color: #b00; }
  .notice { color: #555; }
</style>`

export function loginPage (view: LoginView = {}): string {
  return page('jenChat', html`<h1>jenChat</h1>
${view.notice === undefined ? '' : html`<p class="notice">${view.notice}</p>`}
${view.error === undefined ? '' : html`<p class="error">${view.error}</p>`}
<form method="post" action="./login.php">
<p>
<label for="who">Handle:</label>
<input type="text" id="who" name="who" maxlength="20" value="${view.who ?? ''}" />
<input type="submit" value="Join Chat" class="submit" />
</p>
</form>`, STYLE)
}

export interface LogoutView {
  handle: string
  /** Where the form posts: login.php?logout=true (with the reason, if any). */
  action: string
  /** The session's anti-forgery token: only a page of this chat can know it. */
  token: string
}

/**
 * A logout that came without the session's token (an old bookmark, or a page elsewhere trying to
 * end the session): one button ends it.
 */
export function logoutPage (view: LogoutView): string {
  return page('jenChat', html`<h1>jenChat</h1>
<p>You are in the chat as <strong>${view.handle}</strong>. Do you want to leave the chat room?</p>
<form method="post" action="${view.action}">
<p>
<input type="hidden" name="token" value="${view.token}" />
<input type="submit" value="Logout" class="submit" />
</p>
</form>
<p class="notice"><a href="./chat.php">Back to the chat</a></p>`, STYLE)
}
