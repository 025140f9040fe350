import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClubDeps } from '../../src/bot/context.ts';
import { createI18n } from '../../src/bot/i18n.ts';
import { renderNotice } from '../../src/jobs/notifications.ts';
import type { Notice } from '../../src/club/notifications.ts';
import { credit, ledgerViolations } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import { loadConfig } from '../../src/config.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { claimRun, runNightly } from '../../src/jobs/nightly.ts';
import { claimUpdate } from '../../src/club/updates.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const DAY = 86_400_000;
const t0 = new Date('2026-11-22T00:00:00Z'); // 03:30 in Tehran


describe(`nightly jobs (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  let deps: ClubDeps;
  let i18n: Awaited<ReturnType<typeof createI18n>>;
  /** What the jobs queued in the notification outbox, as an English reader gets it (no sender runs here). */
  const notifier = {
    sent: [] as { memberId: number; html: string; keyboard?: unknown }[],
    async read() {
      const rows = await handle.db.selectFrom('notifications').select(['member_id', 'body']).orderBy('id').execute();
      this.sent = rows.map((r) => ({ memberId: r.member_id, ...renderNotice(i18n, (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as Notice, 'en', 'Asia/Tehran') }));
    },
  };
  let phone = 0;

  async function member(earnedDaysAgo: number[], amounts: number[], expiresInDays: number[]) {
    const { member } = await joinClub(
      handle.db,
      { platform: 'telegram', userId: 9_100_000 + ++phone, chatId: 9_100_000 + phone },
      { phone: `+98914${String(phone).padStart(7, '0')}`, firstName: 'N' },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now: t0 },
    );
    await handle.db.transaction().execute(async (trx) => {
      for (const [i, days] of earnedDaysAgo.entries()) {
        await credit(trx, { memberId: member.id, currency: 'points', amount: amounts[i]!, kind: 'earn', reason: 'test', idempotencyKey: `n:${member.id}:${i}`, expiresAt: new Date(t0.getTime() + expiresInDays[i]! * DAY), at: new Date(t0.getTime() - days * DAY) });
      }
    });
    return member.id;
  }

  beforeAll(async () => {
    handle = await testDatabase();
    const config = loadConfig({ BOT_TOKEN: '1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaa', LOG_LEVEL: 'silent' });
    i18n = await createI18n();
    // No sender runs: the queued rows are read back below.
    const notices = { kick: () => undefined } as unknown as ClubDeps['notices'];
    deps = { db: handle.db, config, logger: pino({ level: 'silent' }), i18n, cardSecret: 's', now: () => t0, surveyDispatcher: undefined as never, broadcaster: undefined as never, notices };
  });
  afterAll(() => handle.close());

  it('claims a night once; a run that died is taken over after half an hour', async () => {
    expect(await claimRun(handle.db, 'test', '2026-11-22', t0)).toBe(true);
    expect(await claimRun(handle.db, 'test', '2026-11-22', new Date(t0.getTime() + 60_000))).toBe(false);
    expect(await claimRun(handle.db, 'test', '2026-11-22', new Date(t0.getTime() + 31 * 60_000))).toBe(true);
  });

  it('expires due lots, warns once a week ahead, and is a no-op when run again', async () => {
    const due = await member([0], [40], [-1]);
    const soon = await member([0, 0], [30, 20], [3, 6]);
    const later = await member([0], [10], [30]);
    const first = await runNightly(deps, t0);
    await notifier.read();
    expect(first).toMatchObject({ ran: true });
    expect(first.expiredPoints).toBeGreaterThanOrEqual(40);
    const balances = await handle.db.selectFrom('members').select(['id', 'points_balance']).where('id', 'in', [due, soon, later]).orderBy('id').execute();
    expect(balances.map((b) => b.points_balance)).toEqual([0, 50, 10]);
    const warnings = notifier.sent.filter((n) => n.memberId === soon);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.html).toMatch(/^⏳ 50 of your points are valid until 25 November 2026/);
    expect(JSON.stringify(warnings[0]!.keyboard)).toContain('"callback_data":"rewards"');
    expect(notifier.sent.some((n) => n.memberId === later || n.memberId === due)).toBe(false);

    // The same night again: claimed already, nothing happens.
    expect((await runNightly(deps, new Date(t0.getTime() + 3_600_000))).ran).toBe(false);
    // The next night: the warned lots are not warned again.
    const count = notifier.sent.length;
    await runNightly(deps, new Date(t0.getTime() + DAY));
    await notifier.read();
    expect(notifier.sent.filter((n) => n.memberId === soon)).toHaveLength(1);
    expect(notifier.sent.length).toBe(count);
    expect(await ledgerViolations(handle.db)).toEqual([]);
  });

  it('demotes at the review when the window no longer holds the tier, and warns 14 days ahead', async () => {
    const gold = (await handle.db.selectFrom('tiers').select('id').where('code', '=', 'gold').executeTakeFirstOrThrow()).id;
    // Earned 5,000 two years ago: nothing in the window any more.
    const lapsed = await member([0], [5000], [400]);
    // Earned 5,000, part of it 360 days ago: in 14 days only the recent 1,200 still count.
    const fading = await member([0, 0], [3800, 1200], [400, 400]);
    await handle.db.updateTable('members').set({ tier_id: gold }).where('id', 'in', [lapsed, fading]).execute();
    // The journal is append-only; to give these earnings an age the test lifts the guard for a moment.
    await sql`alter table ledger_entries disable trigger ledger_entries_append_only`.execute(handle.db);
    await handle.db.updateTable('ledger_entries').set({ created_at: new Date(t0.getTime() - 730 * DAY) } as never).where('member_id', '=', lapsed).execute();
    await handle.db.updateTable('ledger_entries').set({ created_at: new Date(t0.getTime() - 360 * DAY) } as never).where('idempotency_key', '=', `n:${fading}:0`).execute();
    await sql`alter table ledger_entries enable trigger ledger_entries_append_only`.execute(handle.db);

    const night = new Date(t0.getTime() + 2 * DAY);
    const report = await runNightly(deps, night);
    await notifier.read();
    expect(report.demoted).toBeGreaterThanOrEqual(1);
    const tiers = await handle.db.selectFrom('members').select(['id', 'tier_id']).where('id', 'in', [lapsed, fading]).orderBy('id').execute();
    expect(tiers.map((m) => m.tier_id)).toEqual([(await handle.db.selectFrom('tiers').select('id').where('code', '=', 'bronze').executeTakeFirstOrThrow()).id, gold]);
    expect(notifier.sent.find((n) => n.memberId === lapsed)?.html).toMatch(/from Gold to <b>Bronze<\/b>/);
    const warning = notifier.sent.find((n) => n.memberId === fading);
    expect(warning?.html).toMatch(/To keep the <b>Gold<\/b> tier you need 3,800 more points within 14 days/);
    // Warned once a month, not every night.
    await runNightly(deps, new Date(night.getTime() + DAY));
    await notifier.read();
    expect(notifier.sent.filter((n) => n.memberId === fading)).toHaveLength(1);
  });

  it('forgets handled update ids after two days (Telegram redelivers for one)', async () => {
    const night = new Date(t0.getTime() + 10 * DAY);
    const ref = (updateId: number) => ({ platform: 'telegram' as const, botId: 4242, updateId });
    expect(await claimUpdate(handle.db, ref(1), new Date(night.getTime() - 3 * DAY))).toBe(true);
    expect(await claimUpdate(handle.db, ref(2), new Date(night.getTime() - DAY))).toBe(true);
    expect(await claimUpdate(handle.db, ref(2), night)).toBe(false);
    await runNightly(deps, night);
    const kept = await handle.db.selectFrom('handled_updates').select('update_id').orderBy('update_id').execute();
    expect(kept.map((r) => r.update_id)).toEqual([2]);
  });
});
