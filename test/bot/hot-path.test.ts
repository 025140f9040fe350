import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi } from '../support/fake-bot-api.ts';
import { inlineButtons } from '../support/messages.ts';
import { QueryCounter } from '../support/query-counter.ts';

/**
 * What one update costs the database (issue 14): a bare bot makes no round trip; the club makes
 * the few it must. Counted, not timed, so the count is the regression that fails.
 */
describe(`the update path's database round trips (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  const counter = new QueryCounter();

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_hotpath_bot' });
    await api.start();
    // The notification outbox polls the database every second on its own: off, so only the update's statements are counted.
    club = await startTestClub({ api, database: { ...database, db: database.db.withPlugin(counter) }, notifications: false });
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  /** A member who joined with 50 points, and their Telegram chat. */
  async function member(id: number, firstName: string, phone: string, locale: 'fa' | 'en') {
    const user = api.user({ id, first_name: firstName, language_code: locale });
    await joinClub(
      database.db,
      { platform: 'telegram', userId: user.id, chatId: user.id },
      { phone, firstName, locale },
      { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones: [], now: new Date() },
    );
    return user;
  }

  /**
   * The update's own statements, once its journal write (PostgreSQL only) is done: that write runs
   * beside them, so it is taken out. (Had it committed after the handled record, the poller deletes
   * the row it wrote: that delete is taken out too.)
   */
  async function withoutJournal(seen: string[]) {
    if (usingPostgres()) for (let i = 0; i < 500 && !seen.includes('insert received_updates'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen.filter((s) => s === 'insert received_updates')).toHaveLength(usingPostgres() ? 1 : 0);
    return seen.filter((s) => s !== 'insert received_updates' && s !== 'delete received_updates');
  }

  /** Resolves once the update is recorded as handled: the last statement an update makes. */
  async function handled(updateId: number) {
    for (let i = 0; i < 500; i++) {
      const row = await database.db.selectFrom('handled_updates').select('update_id').where('update_id', '=', updateId).executeTakeFirst();
      if (row) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`update ${updateId} was never recorded as handled`);
  }

  it('a refresh of the balance screen on an idle chat, with nothing changed, costs one statement before the screen reads and one after, and no edit', async () => {
    const user = await member(7900000001, 'Sara', '+989128890001', 'en');
    await user.send('/menu');
    await user.waitFor((m) => inlineButtons(m).some((b) => b.text === '⭐ My points'));
    await user.press('⭐ My points');
    const screen = await user.waitFor((m) => inlineButtons(m).some((b) => b.text === '🔄 Refresh'));
    await handled(api.lastUpdateId());
    const edits = screen.edits;
    const calls = api.calls.length;

    counter.reset();
    await user.press('🔄 Refresh');
    await handled(api.lastUpdateId());

    // Long polling on PostgreSQL writes the update to its journal, beside the update's own
    // statements (see startPolling). One statement checks the update_id and loads the member, their role and the
    // chat's conversation state; the screen's own reads go out together; one statement marks the
    // update handled (and deletes its journal row). No separate conversation-state read, no
    // touchMember, no second read of the member. (Before issue 14: ten, in seven waves.)
    const own = await withoutJournal(counter.seen);
    expect(own[0]).toBe('select');
    expect(own.slice(1, -1).sort()).toEqual(['select club_settings', 'select earning_rules', 'select ledger_entries', 'select member_badges', 'select tiers']);
    expect(own.at(-1)).toBe('insert handled_updates');
    expect(own).toHaveLength(7);
    expect(screen.edits).toBe(edits);
    expect(api.calls.slice(calls).map((c) => c.method)).toEqual(['answerCallbackQuery']);
  });

  it('/menu of a member on an idle chat costs the intake statement and the handled record, nothing else', async () => {
    const user = await member(7900000002, 'Reza', '+989128890002', 'fa');
    await user.send('/menu');
    await user.waitFor((m) => inlineButtons(m).length > 0);
    await handled(api.lastUpdateId());
    const messages = user.messages.length;

    counter.reset();
    await user.send('/menu');
    const home = await user.waitFor((m) => user.messages.length > messages && inlineButtons(m).length > 0);
    await handled(api.lastUpdateId());

    // The member's tier comes with the member in the intake statement: the home screen reads
    // nothing of its own. (Before issue 14: five; then three.)
    expect(await withoutJournal(counter.seen)).toEqual(['select', 'insert handled_updates']);
    // The screen is still the member's: their name and their tier (the lowest).
    expect(home.text).toContain('Reza');
    const tier = await database.db.selectFrom('tiers').select('name_fa').orderBy('rank').executeTakeFirstOrThrow();
    expect(home.text).toContain(tier.name_fa);
  });

  it('a column added to members while the club runs (another process migrating) does not break the intake statement it prepared', async () => {
    const user = await member(7900000003, 'Mina', '+989128890003', 'en');
    // Every pooled connection prepares the statement before the column comes.
    for (let i = 0; i < 3; i++) {
      const before = user.messages.length;
      await user.send('/menu');
      await user.waitFor((m) => user.messages.length > before && inlineButtons(m).length > 0);
      await handled(api.lastUpdateId());
    }
    await sql`alter table members add column added_while_running text`.execute(database.db);
    for (let i = 0; i < 3; i++) {
      const before = user.messages.length;
      await user.send('/menu');
      const home = await user.waitFor((m) => user.messages.length > before);
      expect(inlineButtons(home).length).toBeGreaterThan(0);
      expect(home.text).toContain('Mina');
      await handled(api.lastUpdateId());
    }
  });
});
