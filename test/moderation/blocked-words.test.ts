import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Person, useFreshApp } from '../helpers/app.js'

const wordsFile = join(mkdtempSync(join(tmpdir(), 'jenchat-words-')), 'blocked.txt')
writeFileSync(wordsFile, 'ärger\ncrème brûlée\nclass\n')
const t = useFreshApp({ BLOCKED_WORDS_FILE: wordsFile })

describe('BLOCKED_WORDS_FILE', () => {
  it('masks blocked words and phrases in what is stored and delivered, whole words only', async () => {
    const alice = new Person(t.app, 'alice')
    const bob = new Person(t.app, 'bob')
    await alice.join()
    await bob.join()
    expect((await alice.say('Kein ÄRGER mit Crème Brûlée, classic class!')).statusCode).toBe(302)
    expect(await t.database.query('SELECT Message FROM jenChat_Messages')).toEqual([
      { Message: 'Kein ***** mit ***** ******, classic *****!' }
    ])
    await t.app.jenchat.room.refresh()
    expect(await bob.poll()).toEqual([{ name: 'alice', text: 'Kein ***** mit ***** ******, classic *****!' }])
  })

  it('judges a duplicate on the masked text', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    await alice.say('so ein Ärger')
    expect((await alice.say('so ein ärger')).headers.location).toBe('post.php?notice=duplicate')
  })
})
