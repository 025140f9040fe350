import { Api } from 'grammy';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { campaignProgress, claimOutbox, createCampaign, scheduleCampaign, setCampaignStatus, startCampaign } from '../../src/club/campaigns.ts';
import { joinClub } from '../../src/club/members.ts';
import { createPool, displayCode } from '../../src/club/vouchers.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import type { Platform } from '../../src/db/schema.ts';
import { BroadcastDispatcher, Lane } from '../../src/jobs/broadcast.ts';
import { startTestClub, TEST_TOKEN } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { plain } from '../support/messages.ts';

const MEMBERS = 40;

describe(`campaign delivery (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let ownerId: number;
  const by = () => ({ memberId: ownerId, now: new Date() });
  const users: FakeUser[] = [];
  const memberIds = new Map<number, number>();

  beforeAll(async () => {
    database = await testDatabase();
    // Telegram allows 20 a second here while the club is configured for 40: it will meet 429s.
    api = new FakeBotApi({ platform: 'telegram', rateLimitPerSecond: 20, retryAfter: 1 });
    await api.start();
    club = await startTestClub({ api, database, env: { BROADCAST_RATE: '40' } });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989127770000'], now: new Date() };
    const owner = await joinClub(database.db, { platform: 'telegram', userId: 7_700_000_000, chatId: 7_700_000_000 }, { phone: '+989127770000', firstName: 'Owner', locale: 'en' }, policy);
    ownerId = owner.member.id;
    // The owner is a member too: opt them out so every recipient below is one of `users`.
    await database.db.updateTable('members').set({ marketing_opt_in: false }).where('id', '=', ownerId).execute();
    for (let i = 0; i < MEMBERS; i++) {
      const user = api.user({ id: 7_700_000_100 + i, first_name: `M${i}`, language_code: 'en' });
      const { member } = await joinClub(database.db, { platform: 'telegram', userId: user.id, chatId: user.id }, { phone: `+98912778${String(i).padStart(4, '0')}`, firstName: `M${i}`, locale: i % 2 ? 'en' : 'fa' }, policy);
      users.push(user);
      memberIds.set(user.id, member.id);
    }
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });
  afterEach(async () => {
    for (const u of users) {
      u.messages.length = 0;
      u.unblock();
    }
    await database.db.updateTable('member_accounts').set({ blocked: false }).execute();
    await database.db.updateTable('members').set({ marketing_opt_in: true }).where('id', '!=', ownerId).execute();
  });

  const received = (u: FakeUser, marker: string) => u.messages.filter((m) => plain(m).includes(marker));

  it('sends once to everyone reachable through 429s, marks blocked accounts, skips members who turned offers off', async () => {
    const blocked = users.slice(0, 3);
    for (const u of blocked) u.block();
    const optedOut = users.slice(3, 5);
    await database.db.updateTable('members').set({ marketing_opt_in: false }).where('id', 'in', optedOut.map((u) => memberIds.get(u.id)!)).execute();

    const campaign = await createCampaign(database.db, ownerId, { segmentId: null, text: 'Yalda sale {name}!', photoFileId: null, button: { kind: 'card' } }, new Date());
    expect(await startCampaign(database.db, campaign.id, new Date())).toBe(MEMBERS - 2);
    // A second start (a double tap, another process) adds nobody.
    expect(await startCampaign(database.db, campaign.id, new Date())).toBeNull();
    club.deps.broadcaster.kick(campaign.id);
    await club.deps.broadcaster.settled(campaign.id);

    const throttled = api.calls.filter((c) => c.method === 'sendMessage' && c.status === 429).length;
    expect(throttled).toBeGreaterThan(0);
    for (const [i, u] of users.entries()) {
      const got = received(u, 'Yalda sale');
      if (i < 5) expect(got, `user ${i}`).toHaveLength(0);
      else {
        expect(got, `user ${i}`).toHaveLength(1);
        expect(plain(got[0]!)).toBe(`Yalda sale M${i}!`);
        expect(got[0]!.reply_markup.inline_keyboard[0][0].callback_data).toBe('mycard');
      }
    }
    const progress = await campaignProgress(database.db, campaign.id);
    expect(progress).toMatchObject({ sent: MEMBERS - 5, blocked: 3, pending: 0, sending: 0, failed: 0, lost: 0 });
    const flagged = await database.db.selectFrom('member_accounts').select('user_id').where('blocked', '=', true).orderBy('user_id').execute();
    expect(flagged.map((a) => a.user_id)).toEqual(blocked.map((u) => u.id));
    expect((await database.db.selectFrom('campaigns').select('status').where('id', '=', campaign.id).executeTakeFirstOrThrow()).status).toBe('done');

    // The next campaign leaves the blocked accounts (and still the opted-out) out from the start.
    const next = await createCampaign(database.db, ownerId, { segmentId: null, text: 'Second', photoFileId: null, button: null }, new Date());
    expect(await startCampaign(database.db, next.id, new Date())).toBe(MEMBERS - 5);
    await setCampaignStatus(database.db, next.id, 'cancelled', by());
  });

  it('gives each recipient their own voucher code from the pool', async () => {
    const now = new Date();
    const { pool } = await createPool(
      database.db,
      ownerId,
      { name: 'Yalda', discount: { kind: 'percent', value: 20 }, validFrom: now, validTo: new Date(now.getTime() + 7 * 86_400_000), perMemberLimit: 1, segmentId: null },
      { generate: 5 }, new Date(),
    );
    const campaign = await createCampaign(database.db, ownerId, { segmentId: null, text: 'Your gift', photoFileId: null, button: null, voucherPoolId: pool.id }, new Date());
    await startCampaign(database.db, campaign.id, now);
    club.deps.broadcaster.kick(campaign.id);
    await club.deps.broadcaster.settled(campaign.id);

    const codes = await database.db.selectFrom('voucher_codes').select(['code', 'member_id']).where('pool_id', '=', pool.id).where('member_id', 'is not', null).execute();
    // The generated pool grew from 5 to one code per recipient.
    expect(codes).toHaveLength(MEMBERS);
    expect(new Set(codes.map((c) => c.code)).size).toBe(MEMBERS);
    for (const u of users) {
      const code = codes.find((c) => c.member_id === memberIds.get(u.id))!;
      const got = received(u, 'Your gift');
      expect(got).toHaveLength(1);
      expect(plain(got[0]!)).toContain(displayCode(code.code));
    }
  });

  it('after a crash, rows in flight are marked lost and never sent; the rest go out once', async () => {
    const campaign = await createCampaign(database.db, ownerId, { segmentId: null, text: 'After the crash', photoFileId: null, button: null }, new Date());
    await startCampaign(database.db, campaign.id, new Date());
    // Another process held Telegram's lease, claimed a batch and was killed before confirming it.
    await database.db.deleteFrom('dispatch_leases').execute();
    await database.db.insertInto('dispatch_leases').values({ platform: 'telegram', holder: 'killed-process', until: new Date(Date.now() + 1500), paused_until: null }).execute();
    const inFlight = await claimOutbox(database.db, campaign.id, 'telegram', 4, new Date());
    expect(inFlight).toHaveLength(4);

    // The restarted club resumes the campaign by itself once the dead process's lease runs out.
    await club.deps.broadcaster.resumeAll();
    await new Promise((r) => setTimeout(r, 500));
    expect((await campaignProgress(database.db, campaign.id)).sent).toBe(0);
    await club.deps.broadcaster.settled(campaign.id);

    const progress = await campaignProgress(database.db, campaign.id);
    expect(progress).toMatchObject({ sent: MEMBERS - 4, lost: 4, pending: 0, sending: 0 });
    const lostChats = new Set(inFlight.map((r) => r.chat_id));
    for (const u of users) expect(received(u, 'After the crash')).toHaveLength(lostChats.has(u.id) ? 0 : 1);
  });

  it('a scheduled campaign starts once even when two processes look for it at the same moment', async () => {
    const campaign = await createCampaign(database.db, ownerId, { segmentId: null, text: 'Scheduled hello', photoFileId: null, button: null }, new Date());
    await scheduleCampaign(database.db, campaign.id, new Date(Date.now() - 1000), by());
    // A second process: its own dispatcher and Bot API client on the same database.
    const apis = new Map<Platform, Api>([['telegram', new Api(TEST_TOKEN, { apiRoot: api.apiRoot })]]);
    const other = new BroadcastDispatcher(club.deps, apis);
    await Promise.all([club.deps.broadcaster.resumeAll(), other.resumeAll()]);
    await Promise.all([club.deps.broadcaster.settled(campaign.id), other.settled(campaign.id)]);
    await other.stop();

    const starts = await database.db.selectFrom('audit_log').select('payload').where('action', '=', 'campaign.start').execute();
    expect(starts.filter((s) => (s.payload as { campaign_id: number }).campaign_id === campaign.id)).toHaveLength(1);
    for (const u of users) expect(received(u, 'Scheduled hello')).toHaveLength(1);
    expect(await campaignProgress(database.db, campaign.id)).toMatchObject({ sent: MEMBERS, total: MEMBERS });
  });

  it('pause holds the rest back and resume finishes without repeats', async () => {
    api.setRateLimit(Infinity);
    const campaign = await createCampaign(database.db, ownerId, { segmentId: null, text: 'Paused one', photoFileId: null, button: null }, new Date());
    await startCampaign(database.db, campaign.id, new Date());
    await setCampaignStatus(database.db, campaign.id, 'paused', by());
    club.deps.broadcaster.kick(campaign.id);
    await club.deps.broadcaster.settled(campaign.id);
    expect((await campaignProgress(database.db, campaign.id)).pending).toBe(MEMBERS);
    expect(users.every((u) => received(u, 'Paused one').length === 0)).toBe(true);

    expect(await setCampaignStatus(database.db, campaign.id, 'sending', by())).not.toBeNull();
    club.deps.broadcaster.kick(campaign.id);
    await club.deps.broadcaster.settled(campaign.id);
    for (const u of users) expect(received(u, 'Paused one')).toHaveLength(1);
    // Resume of a finished campaign changes nothing.
    expect(await setCampaignStatus(database.db, campaign.id, 'sending', by())).toBeNull();
  });
});

describe('the pace of one bot token', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps to the rate, holds everyone during a 429 pause, and never sends one chat two messages within a second', async () => {
    vi.useFakeTimers();
    const lane = new Lane(10);
    const done: string[] = [];
    const take = (label: string, chat: number) => lane.slot(chat).then(() => done.push(label));
    void take('a', 1);
    void take('b', 2);
    void take('c', 1); // same chat as a: a second later
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(100);
    expect(done).toEqual(['a', 'b']);
    await vi.advanceTimersByTimeAsync(800);
    expect(done).toEqual(['a', 'b']);
    await vi.advanceTimersByTimeAsync(150);
    expect(done).toEqual(['a', 'b', 'c']);

    lane.pause(3000);
    void take('d', 3);
    await vi.advanceTimersByTimeAsync(2900);
    expect(done).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(200);
    expect(done).toEqual(['a', 'b', 'c', 'd']);

    // A stop during a long pause does not wait for the pause to end.
    lane.pause(60_000);
    let stopping = false;
    const gaveUp = lane.slot(4, () => stopping);
    await vi.advanceTimersByTimeAsync(1000);
    stopping = true;
    await vi.advanceTimersByTimeAsync(300);
    await expect(gaveUp).resolves.toBe(false);
  });

  it('never puts more than `rate` sends into any rolling second, even catching up after late timers', async () => {
    vi.useFakeTimers();
    const lane = new Lane(10);
    const times: number[] = [];
    const run = (async () => {
      for (let i = 0; i < 60; i++) {
        await lane.slot(1000 + i);
        times.push(Date.now());
        // Now and then the process is busy for a while (a late timer, a slow query).
        if (i % 7 === 3) await new Promise((r) => setTimeout(r, 250));
      }
    })();
    await vi.advanceTimersByTimeAsync(20_000);
    await run;
    expect(times).toHaveLength(60);
    for (const t of times) expect(times.filter((u) => u > t - 1000 && u <= t).length).toBeLessThanOrEqual(10);
    // And it still catches up: 60 sends with 2 s of stalls take well under the 8 s that waiting out every stall would.
    expect(times.at(-1)! - times[0]!).toBeLessThan(7500);
  });
});
