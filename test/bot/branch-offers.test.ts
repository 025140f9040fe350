import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import { addStaff, createBranch } from '../../src/club/staff.ts';
import { displayCode } from '../../src/club/vouchers.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

describe(`offers limited to one branch, through the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let atFirst: FakeUser;
  let atSecond: FakeUser;
  let member: FakeUser;
  const clock = new Date('2026-12-05T08:00:00Z');

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_branch_offers_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: '09129997000' }, now: () => clock });
    owner = api.user({ id: 7970000001, first_name: 'Owner', language_code: 'en' });
    atFirst = api.user({ id: 7970000002, first_name: 'Kaveh', language_code: 'en' });
    atSecond = api.user({ id: 7970000003, first_name: 'Leila', language_code: 'en' });
    member = api.user({ id: 7970000004, first_name: 'Nasrin', language_code: 'fa' });
    const policy = { signupBonusPoints: 600, pointsValidityDays: 365, ownerPhones: ['+989129997000'], now: clock };
    const join = (user: FakeUser, phone: string, name: string, locale: 'fa' | 'en') =>
      joinClub(database.db, { platform: 'telegram', userId: user.id, chatId: user.id }, { phone, firstName: name, locale }, policy);
    const o = (await join(owner, '+989129997000', 'Owner', 'en')).member;
    await join(atFirst, '+989129997001', 'Kaveh', 'en');
    await join(atSecond, '+989129997002', 'Leila', 'en');
    await join(member, '+989129997003', 'نسرین', 'fa');
    const first = (await database.db.selectFrom('branches').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
    const second = (await createBranch(database.db, o.id, 'تجریش', clock)).id;
    await addStaff(database.db, { memberId: o.id, role: 'owner' }, '+989129997001', 'cashier', first, clock);
    await addStaff(database.db, { memberId: o.id, role: 'owner' }, '+989129997002', 'cashier', second, clock);
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });
  afterEach(() => {
    const refused = api.calls.filter((c) => c.status === 400 && !c.description?.includes('message is not modified'));
    expect(refused).toEqual([]);
  });

  it('a reward for branch 2: the member sees where, the cashier at branch 1 is refused with the branch named, the one at branch 2 confirms it', async () => {
    await owner.send('/reward_add 500 1 قهوه رایگان | Free coffee');
    await owner.waitFor(hasText(/Reward Free coffee added for 500 points/));
    // The owner limits it to the second branch from the reward's screen in the panel.
    const list = owner.waitFor((m) => inlineButtons(m).some((b) => /Free coffee/.test(b.text)));
    await owner.pressData('open:rewards');
    await list;
    const detail = owner.waitFor((m) => inlineButtons(m).some((b) => b.text === 'تجریش'));
    await owner.press(/Free coffee/);
    expect(inlineButtons(await detail).map((b) => b.text)).toEqual(expect.arrayContaining(['✅ All branches', 'تجریش']));
    const limited = owner.waitFor(hasText(/Only at branch تجریش/));
    await owner.press('تجریش');
    expect(inlineButtons(await limited).map((b) => b.text)).toEqual(expect.arrayContaining(['All branches', '✅ تجریش']));

    await member.send('/menu');
    const home = await member.waitFor((m) => inlineButtons(m).some((b) => b.text === '🎁 جایزه‌ها'));
    const rewards = member.waitFor(hasText(/۶۰۰ امتیاز دارید/));
    await member.press('🎁 جایزه‌ها', { messageId: home.message_id });
    expect(inlineButtons(await rewards).map((b) => b.text)).toContain('قهوه رایگان · ۵۰۰ · فقط شعبهٔ تجریش');
    const ask = member.waitFor(hasText(/با ۵۰۰ امتیاز می‌گیرید/));
    await member.press(/قهوه رایگان/);
    expect(plain(await ask)).toContain('فقط شعبهٔ تجریش');
    const claimed = member.waitFor(hasText(/این کد را به صندوقدار نشان دهید/));
    await member.press('✅ دریافت');
    const code = /: ([A-Z0-9]{6})\b/.exec(plain(await claimed))![1]!;

    await atFirst.send('/code');
    await atFirst.waitFor(hasText(/Send the reward code/));
    await atFirst.send(code);
    await atFirst.waitFor(hasText(/This reward is handed over only at branch تجریش/));
    await atFirst.send('/cancel');
    await atFirst.waitFor(hasText(/Cancelled/));
    await atSecond.send('/code');
    await atSecond.waitFor(hasText(/Send the reward code/));
    await atSecond.send(code);
    await atSecond.waitFor(hasText(new RegExp(`Code ${code} confirmed: hand over Free coffee`)));
  });

  it('a voucher pool for branch 2, chosen when it is made, is refused at branch 1 and redeemed at branch 2', async () => {
    await owner.send('/vouchers add');
    await owner.waitFor(hasText(/A name for it/));
    await owner.send('Tajrish');
    await owner.waitFor(hasText(/The discount/));
    await owner.send('20%');
    await owner.waitFor(hasText(/Valid until when/));
    await owner.send('30');
    await owner.waitFor(hasText(/How many codes from this pool/));
    await owner.tapReply('1');
    await owner.waitFor(hasText(/Who is it for/));
    const where = owner.waitFor(hasText(/Which branch is it for/));
    await owner.press('👥 All members');
    expect(inlineButtons(await where).map((b) => b.text)).toEqual(['All branches', 'شعبهٔ مرکزی', 'تجریش']);
    const source = owner.waitFor(hasText(/make them here, or upload/));
    await owner.press('تجریش');
    await source;
    await owner.press(/Generate/);
    await owner.waitFor(hasText(/How many/));
    await owner.send('1');
    await owner.waitFor(hasText(/Pool Tajrish is ready/));
    const pool = await database.db.selectFrom('voucher_pools').selectAll().where('name', '=', 'Tajrish').executeTakeFirstOrThrow();
    const code = displayCode((await database.db.selectFrom('voucher_codes').select('code').where('pool_id', '=', pool.id).executeTakeFirstOrThrow()).code);
    await owner.send('/vouchers');
    expect(plain(await owner.waitFor(hasText(/Voucher pools/)))).toMatch(/Tajrish: 20%.* · Only at branch تجریش/);

    await atFirst.send(`/voucher ${code}`);
    const card = await atFirst.waitFor(hasText(/Redeem it now/));
    expect(plain(card)).toContain('Only at branch تجریش');
    const refused = atFirst.waitFor(hasText(/This voucher is valid only at branch تجریش/));
    await atFirst.press('✅ Redeem', { messageId: card.message_id });
    await refused;
    expect((await database.db.selectFrom('voucher_codes').select('redeemed_at').where('pool_id', '=', pool.id).executeTakeFirstOrThrow()).redeemed_at).toBeNull();

    await atSecond.send(`/voucher ${code}`);
    const again = await atSecond.waitFor(hasText(/Redeem it now/));
    const redeemed = atSecond.waitFor(hasText(new RegExp(`Voucher ${code} redeemed`)));
    await atSecond.press('✅ Redeem', { messageId: again.message_id });
    await redeemed;
  });
});
