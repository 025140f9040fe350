import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import { addStaff } from '../../src/club/staff.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

const OWNER = '+989126660001';
const clock = { now: new Date('2026-12-01T09:00:00Z') };

describe(`the staff panel (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  const users: Record<string, FakeUser> = {};
  const ids: Record<string, number> = {};
  let branchId = 0;

  /** Opens the main menu, presses the panel button, and returns the callback data of the panel's buttons. */
  async function openPanel(user: FakeUser, label = '🛠 Manage the club') {
    await user.send('/menu');
    await user.waitFor((m) => inlineButtons(m).some((b) => b.text === label));
    const shown = user.waitFor((m) => inlineButtons(m).some((b) => b.callback_data === 'open:help'));
    await user.press(label);
    const panel = await shown;
    return inlineButtons(panel).map((b) => b.callback_data);
  }

  /** Does something and waits for the bot's answer (a new message or an edited one) matching `pattern`. */
  async function then(user: FakeUser, act: () => Promise<unknown>, pattern: RegExp) {
    const answer = user.waitFor(hasText(pattern));
    await act();
    return answer;
  }

  const showing = (label: string | RegExp) => (m: Parameters<typeof inlineButtons>[0] & object) =>
    inlineButtons(m).some((b) => (typeof label === 'string' ? b.text === label : label.test(b.text)));
  /** Does something and waits for a message (new or edited) showing the button `label`. */
  async function thenButton(user: FakeUser, act: () => Promise<unknown>, label: string | RegExp) {
    const answer = user.waitFor(showing(label));
    await act();
    return answer;
  }

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_panel_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: OWNER }, now: () => clock.now });
    const people: [string, string, 'fa' | 'en'][] = [
      ['owner', OWNER, 'en'],
      ['manager', '+989126660002', 'en'],
      ['cashier', '+989126660003', 'en'],
      ['cashierFa', '+989126660004', 'fa'],
      ['member', '+989126660005', 'en'],
      ['bahram', '+989126660040', 'en'],
      ['bahar', '+989126660041', 'en'],
    ];
    for (const [i, [name, phone, locale]] of people.entries()) {
      users[name] = api.user({ id: 7600000001 + i, first_name: name, language_code: locale });
      const firstName = name === 'bahram' ? 'Bahram' : name === 'bahar' ? 'Bahar' : name;
      const { member } = await joinClub(
        database.db,
        { platform: 'telegram', userId: users[name]!.id, chatId: users[name]!.id },
        { phone, firstName, locale },
        { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [OWNER], now: clock.now },
      );
      ids[name] = member.id;
    }
    await database.db.updateTable('members').set({ last_name: 'Karimi' }).where('id', '=', ids.bahram!).execute();
    branchId = (await database.db.selectFrom('branches').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
    const owner = { memberId: ids.owner!, role: 'owner' as const };
    await addStaff(database.db, owner, '+989126660002', 'manager', null, clock.now);
    await addStaff(database.db, owner, '+989126660003', 'cashier', branchId, clock.now);
    await addStaff(database.db, owner, '+989126660004', 'cashier', branchId, clock.now);
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('shows each role only its own buttons; a member sees no panel', async () => {
    const cashier = await openPanel(users.cashier!);
    expect(cashier).toEqual(['open:till', 'open:code', 'open:voucher', 'open:today', 'open:help', 'home']);
    const manager = await openPanel(users.manager!);
    expect(manager).toEqual(expect.arrayContaining(['open:till', 'open:void', 'open:adjust', 'open:disputes', 'open:tickets', 'open:surveys', 'open:segments', 'open:campaigns', 'open:vouchers', 'open:automations', 'open:reports']));
    expect(manager).not.toContain('open:staff');
    expect(manager).not.toContain('open:rules');
    const owner = await openPanel(users.owner!);
    expect(owner).toEqual(expect.arrayContaining([...manager, 'open:staff', 'open:branches', 'open:rules', 'open:tiers', 'open:rewards', 'open:events', 'open:settings']));
    // In Persian, the button is «🛠 مدیریت باشگاه».
    await openPanel(users.cashierFa!, '🛠 مدیریت باشگاه');

    const m = users.member!;
    await m.send('/menu');
    const home = await m.waitFor((msg) => inlineButtons(msg).length > 0);
    expect(inlineButtons(home).map((b) => b.text)).not.toContain('🛠 Manage the club');
    // A forged press is refused: every open: handler checks the role again.
    await users.cashier!.pressData('open:rules');
    await new Promise((r) => setTimeout(r, 200));
    expect(await database.db.selectFrom('audit_log').select('id').where('action', '=', 'rules.set').execute()).toHaveLength(0);
  });

  it('/help lists the commands of the staff member’s role and those below it', async () => {
    const helpOf = async (name: string) => {
      await users[name]!.send('/help');
      return plain(await users[name]!.waitFor(hasText(/Help/)));
    };
    const member = await helpOf('member');
    expect(member).not.toMatch(/Staff commands|\/void/);
    const cashier = await helpOf('cashier');
    expect(cashier).toMatch(/Cashiers[\s\S]*\/code · confirm/);
    expect(cashier).not.toMatch(/Managers|\/void/);
    const manager = await helpOf('manager');
    expect(manager).toMatch(/\/void number · void a purchase/);
    expect(manager).not.toMatch(/Owners|\/audit/);
    expect(await helpOf('owner')).toMatch(/Owners[\s\S]*\/audit · who did what/);
  });

  it('a cashier finds a member by part of the name and by phone in Persian digits, and sees today’s till', async () => {
    const c = users.cashier!;
    await openPanel(c);
    await then(c, () => c.press('🔎 Find a member'), /phone number, member number, or part of their name/);
    await c.send('bah');
    const pick = await c.waitFor(hasText(/Which one\?/));
    expect(inlineButtons(pick).map((b) => b.text).join(' ')).toMatch(/Bahram Karimi[\s\S]*Bahar|Bahar[\s\S]*Bahram Karimi/);
    await then(c, () => c.press(/^Bahram Karimi/), /Bahram Karimi/);

    await openPanel(c);
    await then(c, () => c.press('🔎 Find a member'), /part of their name/);
    await c.send('۰۹۱۲۶۶۶۰۰۴۱');
    const view = await c.waitFor((m) => inlineButtons(m).some((b) => b.callback_data === `till:p:${ids.bahar}`));
    expect(plain(view)).toMatch(/Bahar/);

    await recordPurchase(database.db, { memberId: ids.bahar!, branchId, cashierMemberId: ids.cashier!, amountRials: 1_200_000, operationId: 'panel-today-1' }, { now: clock.now, timeZone: 'Asia/Tehran' });
    await recordPurchase(database.db, { memberId: ids.bahram!, branchId, cashierMemberId: ids.cashierFa!, amountRials: 500_000, operationId: 'panel-today-2' }, { now: clock.now, timeZone: 'Asia/Tehran' });
    await openPanel(c);
    // The cashier's own till: one purchase of 120,000 Toman, not the colleague's.
    await then(c, () => c.press("📊 Today's till"), /Your till today[\s\S]*Purchases: 1\nSales: 120,000 Toman \(1,200,000 Rials\)/);
  });

  it('an owner edits a reward’s stock, retires it, and renames a branch', async () => {
    const o = users.owner!;
    // The command reads Persian digits too.
    await o.send('/reward_add ۳۰۰ ۵ قهوه رایگان | Free coffee');
    await o.waitFor(hasText(/Free coffee/));
    const reward = await database.db.selectFrom('rewards').selectAll().where('title_en', '=', 'Free coffee').executeTakeFirstOrThrow();
    expect([reward.points_cost, reward.stock]).toEqual([300, 5]);

    await openPanel(o);
    await thenButton(o, () => o.press('🎁 Rewards'), /^Free coffee/);
    await then(o, () => o.press(/^Free coffee/), /Stock: 5/);
    await then(o, () => o.press('Stock'), /How many are there/);
    await then(o, () => o.send('۱۲'), /Back to the screen/);
    expect(o.messages.map(plain)).toContain('✅ Saved: 12');
    expect((await database.db.selectFrom('rewards').select('stock').where('id', '=', reward.id).executeTakeFirstOrThrow()).stock).toBe(12);
    await then(o, () => o.press('» Back'), /Stock: 12/);
    await then(o, () => o.press('🚫 Retire'), /Status: retired/);
    expect((await database.db.selectFrom('rewards').select('active').where('id', '=', reward.id).executeTakeFirstOrThrow()).active).toBe(false);

    await openPanel(o);
    const branch = await database.db.selectFrom('branches').selectAll().where('id', '=', branchId).executeTakeFirstOrThrow();
    await thenButton(o, () => o.press('🏬 Branches'), branch.name);
    await thenButton(o, () => o.press(branch.name), 'Rename');
    await then(o, () => o.press('Rename'), /new name/);
    await o.send('Downtown');
    await o.waitFor(hasText(/Saved: Downtown/));
    expect((await database.db.selectFrom('branches').select('name').where('id', '=', branchId).executeTakeFirstOrThrow()).name).toBe('Downtown');
  });

  it('an owner changes the earning rule with «۱۰٬۰۰۰» and a staff member’s role with «مدیر»', async () => {
    const o = users.owner!;
    await openPanel(o);
    await thenButton(o, () => o.press('⭐ Earning rules'), "The club's rule");
    await thenButton(o, () => o.press("The club's rule"), 'Spend per point');
    await then(o, () => o.press('Spend per point'), /How much spending earns one point\? \(in Toman/);
    await o.send('۱۰٬۰۰۰');
    await o.waitFor(hasText(/Saved: 10,000 Toman \(100,000 Rials\)/));
    const rule = () => database.db.selectFrom('earning_rules').select('rials_per_point').where('branch_id', 'is', null).executeTakeFirstOrThrow();
    expect((await rule()).rials_per_point).toBe(100_000);
    // The command reads the same numbers (in Rials, as it always has), with the Persian comma too.
    await o.send('/rules spend ۲۰،۰۰۰');
    await o.waitFor(hasText(/Saved/));
    expect((await rule()).rials_per_point).toBe(20_000);

    await openPanel(o);
    await thenButton(o, () => o.press('👥 Staff'), /^cashierFa/);
    await thenButton(o, () => o.press(/^cashierFa/), '🔁 Change role');
    await then(o, () => o.press('🔁 Change role'), /The new role/);
    await o.send('مدیر');
    await o.waitFor(hasText(/Saved: manager/));
    expect((await database.db.selectFrom('staff').select('role').where('member_id', '=', ids.cashierFa!).executeTakeFirstOrThrow()).role).toBe('manager');
    // And the command takes the Persian word for cashier.
    await o.send('/staff_add ۰۹۱۲۶۶۶۰۰۰۴ صندوقدار ' + branchId);
    await o.waitFor(hasText(/cashierFa is now a cashier/));
  });

  it('an owner sets the survey points; a new survey offers them and pays them', async () => {
    const o = users.owner!;
    await openPanel(o);
    await then(o, () => o.press('🎉 Event points'), /Answering a survey \(a new survey's reward\): 20/);
    await then(o, () => o.press("Answering a survey (a new survey's reward)"), /Points for answering a survey/);
    await o.send('۳۵');
    await o.waitFor(hasText(/Saved: 35/));

    await thenButton(o, () => o.send('/surveys'), '➕ New survey');
    await then(o, () => o.press('➕ New survey'), /Survey title/);
    await o.send('نظر شما | Your view');
    await o.waitFor(hasText(/Question 1: what kind/));
    await o.press('✍️ Free text');
    await o.waitFor(hasText(/The question/));
    await o.send('Anything else?');
    await o.waitFor(hasText(/Must members answer it/));
    await o.press('Required');
    await o.waitFor(hasText(/Question 2/));
    await o.press('✅ No more questions');
    await o.waitFor(hasText(/Reward in points/));
    await o.tapReply('35');
    await o.waitFor(hasText(/Who receives it/));
    await o.press('All members');
    await o.waitFor(hasText(/Close it after how many days/));
    await thenButton(o, () => o.tapReply('Skip'), /^🚀 Publish/);
    const survey = await database.db.selectFrom('surveys').selectAll().executeTakeFirstOrThrow();
    expect(survey.reward_points).toBe(35);
    const invite = users.member!.waitFor(hasText(/Your view/));
    await o.press(`🚀 Publish #${survey.id}`);
    const m = users.member!;
    await m.press('▶️ Start', { messageId: (await invite).message_id });
    await m.waitFor(hasText(/Anything else\?/));
    await m.send('All good');
    await m.waitFor(hasText(/\+35 points/));
    const balance = await database.db.selectFrom('members').select('points_balance').where('id', '=', ids.member!).executeTakeFirstOrThrow();
    expect(balance.points_balance).toBe(35);
  });
});
