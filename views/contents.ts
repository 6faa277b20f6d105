import { html } from './html.js'
import { page } from './layout.js'

/** contents.html: the scrollable message area; the chat page appends to its #contents. */
export function contentsPage (): string {
  return page('jenChat', html`<div id="contents"></div>`, html`<style type="text/css">
  body { font-family: Verdana, Arial, sans-serif; font-size: small; margin: 4px; }
  .notice { color: #b00; font-style: italic; }
</style>`)
}
