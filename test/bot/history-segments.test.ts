import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import { claimReward, createReward } from '../../src/club/rewards.ts';
import { createSurvey, publishSurvey } from '../../src/club/surveys.ts';
import { convertPointsToCredit } from '../../src/club/wallet.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

const TZ = 'Asia/Tehran';
const DAY = 86_400_000;
// The club's clock: a fixed day (29 Azar 1405) that moves on with real time, so dates are known.
const BASE = new Date('2026-12-20T08:00:00Z').getTime();

describe(`history, segments by buttons and campaigns in the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let ownerId: number;
  let branchId: number;
  const started = Date.now();
  const now = () => new Date(BASE + (Date.now() - started));
  const people: Record<string, { user: FakeUser; id: number }> = {};

  async function join(key: string, userId: number, phone: string, name: string, locale: 'fa' | 'en') {
    const user = api.user({ id: userId, first_name: name, language_code: locale });
    const policy = { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones: ['+989129980001'], now: new Date('2026-11-01T08:00:00Z') };
    const { member } = await joinClub(database.db, { platform: 'telegram', userId, chatId: userId }, { phone, firstName: name, locale }, policy);
    people[key] = { user, id: member.id };
    return member.id;
  }
  const buy = (memberId: number, amountRials: number, at: Date) =>
    recordPurchase(database.db, { memberId, branchId, cashierMemberId: ownerId, amountRials, operationId: randomUUID() }, { now: at, timeZone: TZ });
  const setTier = async (memberId: number, code: string) => {
    const tier = await database.db.selectFrom('tiers').select('id').where('code', '=', code).executeTakeFirstOrThrow();
    await database.db.updateTable('members').set({ tier_id: tier.id }).where('id', '=', memberId).execute();
  };

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_history_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: '09129980001' }, now });
    ownerId = await join('owner', 7950000001, '+989129980001', 'Owner', 'en');
    owner = people.owner!.user;
    await database.db.updateTable('members').set({ marketing_opt_in: false }).where('id', '=', ownerId).execute();
    branchId = (await database.db.selectFrom('branches').select('id').orderBy('id').executeTakeFirstOrThrow()).id;

    // Mina: gold, two purchases (8 and 19 Azar 1405), a reward and a conversion: six lines of history.
    const mina = await join('mina', 7950000010, '+989129980010', 'مینا', 'fa');
    await buy(mina, 1_200_000, new Date('2026-11-29T08:00:00Z'));
    await buy(mina, 2_800_000, new Date('2026-12-10T08:00:00Z'));
    const cake = await createReward(database.db, ownerId, { titleFa: 'کیک', titleEn: 'Cake', pointsCost: 100, stock: null }, now());
    await claimReward(database.db, mina, cake.id, randomUUID(), now());
    await convertPointsToCredit(database.db, mina, 50, randomUUID(), { now: now(), timeZone: TZ });
    await setTier(mina, 'gold');
    // Others: gold and recent (in), gold but long ago, gold and never, silver and recent (all out).
    const reza = await join('reza', 7950000011, '+989129980011', 'Reza', 'en');
    await buy(reza, 500_000, new Date(BASE - 30 * DAY));
    await setTier(reza, 'gold');
    const sara = await join('sara', 7950000012, '+989129980012', 'Sara', 'en');
    await buy(sara, 500_000, new Date(BASE - 100 * DAY));
    await setTier(sara, 'gold');
    await setTier(await join('omid', 7950000013, '+989129980013', 'Omid', 'en'), 'gold');
    const nika = await join('nika', 7950000014, '+989129980014', 'Nika', 'en');
    await buy(nika, 500_000, new Date(BASE - 5 * DAY));
    await setTier(nika, 'silver');
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('a member opens My history: both purchases with Jalali dates, in pages; staff see the last purchases', async () => {
    const mina = people.mina!.user;
    await mina.send('/start');
    await mina.waitFor((m) => inlineButtons(m).some((b) => b.text === '🧾 خریدهای من'));
    const first = mina.waitFor(hasText(/خریدهای من.*صفحهٔ ۱ از ۲/));
    await mina.press('🧾 خریدهای من');
    const page1 = plain(await first);
    expect(page1).toContain('🛍 ۱۹ آذر ۱۴۰۵ · خرید ۲۸۰٬۰۰۰ تومان در شعبهٔ مرکزی');
    expect(page1).toContain('🛍 ۸ آذر ۱۴۰۵ · خرید ۱۲۰٬۰۰۰ تومان در شعبهٔ مرکزی');
    expect(page1).toContain('جایزهٔ «کیک»');
    expect(page1).toContain('تبدیل امتیاز به اعتبار');
    // Newest first, and no Latin digit anywhere on the screen.
    expect(page1.indexOf('۱۹ آذر')).toBeLessThan(page1.indexOf('۸ آذر'));
    expect(page1).not.toMatch(/[0-9]/);
    expect(page1).not.toContain('هدیهٔ عضویت');

    const second = mina.waitFor(hasText(/صفحهٔ ۲ از ۲/));
    await mina.press('قدیمی‌تر «');
    const page2 = await second;
    expect(plain(page2)).toContain('➕ ۱۰ آبان ۱۴۰۵ · +۵۰ امتیاز · هدیهٔ عضویت');
    expect(inlineButtons(page2).map((b) => b.text)).toEqual(['» جدیدتر', '🏠 منوی اصلی']);

    await owner.send(`/member ${people.mina!.id}`);
    await owner.waitFor(hasText(/مینا/));
    const last = owner.waitFor(hasText(/Last purchases of مینا/));
    await owner.press('🧾 Last purchases');
    const lines = plain(await last).split('\n').filter((l) => l.startsWith('•'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/10 December 2026 · 280,000 Toman/);
    expect(lines[1]).toMatch(/29 November 2026 · 120,000 Toman/);
  });

  it('a manager builds “gold, bought within 60 days” with buttons, a live count at each step, and broadcasts to exactly them', async () => {
    await owner.send('/segments');
    await owner.waitFor(hasText(/Segments/));
    const start = owner.waitFor(hasText(/New segment[\s\S]*No conditions yet[\s\S]*5 members match/));
    await owner.press('➕ New segment with buttons');
    await start;
    await owner.press('🏅 Tier');
    await owner.waitFor(hasText(/Which tier/));
    const tier = owner.waitFor(hasText(/• Tier: Gold\n+👥 4 members match/));
    await owner.press('Gold');
    await tier;
    await owner.press('🛍 Last purchase');
    await owner.waitFor(hasText(/When was their last purchase/));
    const both = owner.waitFor(hasText(/• Tier: Gold\n• Last purchase within 60 days\n+👥 2 members match/));
    await owner.press('Within 60 days');
    await both;
    await owner.press('💾 Save');
    await owner.waitFor(hasText(/A name for the segment/));
    await owner.send('Gold recent');
    await owner.waitFor(hasText(/Segment “Gold recent” saved \(2 members\)/));

    await owner.send('/broadcast');
    await owner.waitFor(hasText(/Who receives this message/));
    await owner.press('Gold recent');
    await owner.waitFor(hasText(/Send the message/));
    await owner.send('Gold week: a free cake for {name}');
    await owner.waitFor(hasText(/Add a button/));
    const confirm = owner.waitFor(hasText(/Send it to 2 members/));
    await owner.press('No button');
    await confirm;
    const inboxes = ['mina', 'reza'].map((k) => people[k]!.user.waitFor(hasText(/Gold week/)));
    const done = owner.waitFor(hasText(/Campaign #\d+ is done\.[\s\S]*Sent: 2/), 15_000);
    await owner.press('🚀 Send now');
    expect((await Promise.all(inboxes)).map(plain)).toEqual(['Gold week: a free cake for مینا', 'Gold week: a free cake for Reza']);
    await done;
    for (const k of ['sara', 'omid', 'nika']) expect(people[k]!.user.messages.some((m) => /Gold week/.test(plain(m))), k).toBe(false);

    // A survey can go to the saved segment too.
    const segment = await database.db.selectFrom('segments').select('id').where('name', '=', 'Gold recent').executeTakeFirstOrThrow();
    const survey = await createSurvey(
      database.db,
      ownerId,
      { titleFa: 'نظر شما', titleEn: null, rewardPoints: 0, audience: { kind: 'segment', id: segment.id }, closesAt: null, questions: [{ kind: 'rating', textFa: 'چند نمره؟', textEn: null, options: [], optional: false }] },
      now(),
    );
    expect(await publishSurvey(database.db, survey.id, ownerId, now())).toBe(2);
    const invited = await database.db.selectFrom('survey_invitations').select('member_id').where('survey_id', '=', survey.id).orderBy('member_id').execute();
    expect(invited.map((i) => i.member_id)).toEqual([people.mina!.id, people.reza!.id]);
  });

  it('/campaigns shows a scheduled campaign with its text and time; it is moved, then cancelled', async () => {
    await owner.send('/broadcast');
    await owner.waitFor(hasText(/Who receives this message/));
    await owner.press('👥 All members');
    await owner.waitFor(hasText(/Send the message/));
    await owner.send('Nowruz menu is coming');
    await owner.waitFor(hasText(/Add a button/));
    const confirm = owner.waitFor(hasText(/Send it to 5 members/));
    await owner.press('No button');
    await confirm;
    await owner.press('🗓 Schedule');
    await owner.waitFor(hasText(/When\?/));
    await owner.send('1406/1/1 10:00');
    await owner.waitFor(hasText(/Campaign #\d+ will go out at/));
    const campaign = await database.db.selectFrom('campaigns').selectAll().where('text', '=', 'Nowruz menu is coming').executeTakeFirstOrThrow();

    const list = owner.waitFor(hasText(/Recent campaigns/));
    await owner.send('/campaigns');
    const shown = plain(await list);
    expect(shown).toMatch(new RegExp(`#${campaign.id} scheduled: sent 0[^\\n]*\\n👥 All members · 🗓 goes out 21 March 2027 at 10:00\\n“Nowruz menu is coming”`));
    expect(shown).toMatch(/#\d+ done: sent 2[^\n]*\n👥 Gold recent · sent from/);

    await owner.press(`🗓 Time ${campaign.id}`);
    await owner.waitFor(hasText(/New time for campaign/));
    await owner.send('1406/1/2 11:30');
    await owner.waitFor(hasText(new RegExp(`Campaign #${campaign.id} will go out at 22 March 2027 at 11:30`)));
    const moved = await database.db.selectFrom('campaigns').select(['status', 'scheduled_at']).where('id', '=', campaign.id).executeTakeFirstOrThrow();
    expect(moved).toEqual({ status: 'scheduled', scheduled_at: new Date('2027-03-22T08:00:00Z') });

    const after = owner.waitFor(hasText(new RegExp(`#${campaign.id} cancelled: sent 0`)));
    await owner.press(`⏹ Cancel ${campaign.id}`);
    await owner.waitFor(hasText(new RegExp(`Campaign #${campaign.id} cancelled\\.`)));
    await after;
    expect((await database.db.selectFrom('campaigns').select('status').where('id', '=', campaign.id).executeTakeFirstOrThrow()).status).toBe('cancelled');
  });

  it('members cannot open the segment and campaign screens', async () => {
    const nika = people.nika!.user;
    await nika.send('/start');
    await nika.next();
    for (const data of ['open:segments', 'open:campaigns', 'seg:new', 'cpl:x:1', 'cpl:t:1']) {
      const answered = nika.callbackAnswers.length;
      await nika.pressData(data);
      await vi.waitFor(() => expect(nika.callbackAnswers.length).toBe(answered + 1));
      expect(nika.callbackAnswers.at(-1)).toMatchObject({ show_alert: true });
    }
    expect(nika.messages.some((m) => /Segments|Recent campaigns|New segment/.test(plain(m)))).toBe(false);
  });

  it('a reward the member cannot afford says how many points are missing, with no claim button', async () => {
    await createReward(database.db, ownerId, { titleFa: 'فلاسک', titleEn: 'Flask', pointsCost: 5000, stock: null }, now());
    const member = await database.db.selectFrom('members').select('points_balance').where('id', '=', people.mina!.id).executeTakeFirstOrThrow();
    const missing = 5000 - member.points_balance;
    const mina = people.mina!.user;
    await mina.send('/start');
    await mina.waitFor((m) => inlineButtons(m).some((b) => b.text === '🎁 جایزه‌ها'));
    const list = mina.waitFor(hasText(/یک جایزه انتخاب کنید/));
    await mina.press('🎁 جایزه‌ها');
    await list;
    const answer = mina.waitFor(hasText(/فلاسک/));
    await mina.press(/فلاسک/);
    const text = await answer;
    const fa = (n: number) => new Intl.NumberFormat('fa-IR').format(n);
    expect(plain(text)).toBe(`🎁 فلاسک ${fa(5000)} امتیاز است و شما ${fa(member.points_balance)} امتیاز دارید: ${fa(missing)} امتیاز دیگر لازم است.`);
    expect(inlineButtons(text).map((b) => b.text)).toEqual(['🎁 جایزه‌ها', '🏠 منوی اصلی']);
  });
});
