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
