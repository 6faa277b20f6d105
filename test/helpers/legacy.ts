import { spawnSync } from 'node:child_process'
import { parse, type Node } from 'acorn'

/*
 * The checks that keep the pages usable by the browsers jenChat was written for: XHTML 1.0
 * Transitional that validates against its DTD, and inline scripts in ES3 (IE 5–8 and friends).
 */

/** The XHTML DTDs of Debian's w3c-sgml-lib, so that xmllint validates without the network. */
export const XHTML_CATALOG = '/usr/share/xml/w3c-sgml-lib/schema/dtd/catalog.xml'
export const XHTML_TRANSITIONAL_DOCTYPE =
  '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'

/**
 * What `xmllint --valid` says about the page as XHTML 1.0 Transitional; empty when it is valid.
 * The DTD comes from the catalog (`--nonet`: never from w3.org).
 */
export function xhtmlErrors (page: string): string {
  if (!page.startsWith(XHTML_TRANSITIONAL_DOCTYPE)) return 'the page does not start with the XHTML 1.0 Transitional DOCTYPE'
  const result = spawnSync('xmllint', ['--valid', '--noout', '--nonet', '-'], {
    input: page,
    encoding: 'utf8',
    env: { ...process.env, XML_CATALOG_FILES: XHTML_CATALOG }
  })
  if (result.error !== undefined) throw result.error
  return result.status === 0 && result.stderr === '' ? '' : `${result.stderr}(xmllint exit status ${String(result.status)})`
}

export interface PageScript {
  /** `script` for an inline script element, or the event attribute's name (`onsubmit`). */
  kind: string
  code: string
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

function decodeAttribute (value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name.startsWith('#x') || name.startsWith('#X')) return String.fromCodePoint(parseInt(name.slice(2), 16))
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)))
    return ENTITIES[name] ?? whole
  })
}

const SCRIPT_ELEMENT = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi

/** The page's inline scripts and on* event attributes, as the browser would run them. */
export function pageScripts (page: string): PageScript[] {
  const scripts: PageScript[] = []
  for (const match of page.matchAll(SCRIPT_ELEMENT)) {
    const attributes = match[1] as string
    if (/\ssrc\s*=/i.test(attributes)) continue
    // A text/html parser runs the raw text; `//<![CDATA[` and `//]]>` are line comments to it.
    scripts.push({ kind: 'script', code: match[2] as string })
  }
  const markup = page.replace(SCRIPT_ELEMENT, '<script></script>')
  for (const tag of markup.matchAll(/<[a-z][^<>]*>/gi)) {
    for (const attribute of tag[0].matchAll(/\s(on[a-z]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)) {
      scripts.push({ kind: (attribute[1] as string).toLowerCase(), code: decodeAttribute(attribute[2] ?? attribute[3] ?? '') })
    }
  }
  return scripts
}

/** Names that parse in ES3 but don't exist in the browsers the pages are for. */
const MISSING_IN_OLD_BROWSERS: Record<string, string> = {
  JSON: 'JSON (IE 7 and older have none)',
  querySelector: 'querySelector (IE 7 and older)',
  querySelectorAll: 'querySelectorAll (IE 7 and older)',
  addEventListener: 'addEventListener without an attachEvent fallback (IE 8 and older)'
}

function identifiersIn (node: unknown, names: Set<string>): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) identifiersIn(item, names)
  } else if (node !== null && typeof node === 'object') {
    const value = node as Partial<Node> & { name?: unknown }
    if (value.type === 'Identifier' && typeof value.name === 'string') names.add(value.name)
    for (const [key, child] of Object.entries(node)) {
      if (key !== 'loc' && typeof child === 'object') identifiersIn(child, names)
    }
  }
  return names
}

/**
 * What keeps the code from running in an ES3 browser: a syntax error for ECMAScript 3 (let,
 * const, arrows, template literals, trailing commas in object literals, keywords as property
 * names as IE's parser refused them), or the use of an API old browsers lack. Empty when fine.
 */
export function es3ProblemsIn (code: string, options: { handler?: boolean } = {}): string[] {
  let program: Node
  try {
    program = parse(code, { ecmaVersion: 3, allowReserved: 'never', allowReturnOutsideFunction: options.handler === true })
  } catch (error) {
    return [`not ES3: ${(error as Error).message}`]
  }
  const names = identifiersIn(program, new Set())
  const problems: string[] = []
  for (const [name, problem] of Object.entries(MISSING_IN_OLD_BROWSERS)) {
    if (!names.has(name)) continue
    if (name === 'addEventListener' && names.has('attachEvent')) continue
    problems.push(`uses ${problem}`)
  }
  return problems
}

/** Every inline script and event attribute of the page that isn't plain ES3, with its problems. */
export function es3Problems (page: string): Array<{ kind: string, code: string, problems: string[] }> {
  return pageScripts(page)
    .map((script) => ({ ...script, problems: es3ProblemsIn(script.code, { handler: script.kind !== 'script' }) }))
    .filter((script) => script.problems.length > 0)
}
