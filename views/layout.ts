import { html, type SafeHtml } from './html.js'

export const DOCTYPE = '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'

/**
 * The page shell of every visible page: XHTML 1.0 Transitional, served as text/html (as the original
 * was, and as IE needs), without an XML declaration (it throws IE6 into quirks mode).
 */
export function page (title: string, body: SafeHtml, head?: SafeHtml): string {
  return DOCTYPE + '\n' + html`<html xmlns="http://www.w3.org/1999/xhtml" lang="en-US" xml:lang="en-US">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>${title}</title>
${head}
</head>
<body>
${body}
</body>
</html>
`.value
}
