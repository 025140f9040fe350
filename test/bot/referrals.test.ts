import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase, voidPurchase } from '../../src/club/purchases.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type BotMessage, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, plain } from '../support/messages.ts';
import { decodeQr } from '../support/qr.ts';

const buttons = (m: BotMessage | undefined) => ((m?.reply_markup?.inline_keyboard ?? []) as { text: string; url?: string }[][]).flat();

describe(`referrals through the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let inviter: FakeUser;
  let inviterId: number;
  let link: string;
  let nextId = 7400000100;

  const pointsOf = async (id: number) => (await database.db.selectFrom('members').select('points_balance').where('id', '=', id).executeTakeFirstOrThrow()).points_balance;

  async function signUp(user: FakeUser, payload: string) {
    await user.send(`/start ${payload}`);
    await user.waitFor(hasText(/Share my phone number/));
    await user.shareContact();
    await user.waitFor(hasText(/What should we call you/));
    await user.send(user.init.first_name);
    await user.waitFor(hasText(/birthday/));
    await user.tapReply('Skip');
    await user.waitFor(hasText(/gender/));
    await user.tapReply('Skip');
    await user.waitFor((m) => buttons(m).some((b) => b.text === '⭐ My points'));
    return (await database.db.selectFrom('member_accounts').select('member_id').where('user_id', '=', user.id).executeTakeFirstOrThrow()).member_id;
  }
  function friend(name: string) {
    const id = ++nextId;
    return api.user({ id, first_name: name, language_code: 'en', phone: `98912${String(id).slice(-7)}` });
  }

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_ref_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: '09129990000' } });
    owner = api.user({ id: 7400000001, first_name: 'Owner', language_code: 'en' });
    await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989129990000', firstName: 'Owner', locale: 'en' }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129990000'], now: new Date() });
    inviter = api.user({ id: 7400000002, first_name: 'Reza', language_code: 'en', phone: '989121110000' });
    inviterId = await signUp(inviter, '');
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('shows the member their link as text, QR and a share button, and a text to forward', async () => {
    await inviter.send('/menu');
    const home = await inviter.waitFor((m) => buttons(m).some((b) => b.text === '👥 Invite friends'));
    // Both waiters before the press: the text to forward follows the card at once.
    const card$ = inviter.waitFor((m) => m.photo === true);
    const forward = inviter.waitFor(hasText(/Reza invites you to our customer club/));
    await inviter.press('👥 Invite friends', { messageId: home.message_id });
    const card = await card$;
    link = decodeQr(card.photoBytes!);
    const code = (await database.db.selectFrom('members').select('referral_code').where('id', '=', inviterId).executeTakeFirstOrThrow()).referral_code;
    expect(link).toBe(`https://t.me/bashgah_ref_bot?start=r_${code}`);
    expect(link.split('start=')[1]!.length).toBeLessThanOrEqual(64);
    expect(plain(card)).toContain(link);
    expect(plain(card)).toMatch(/10% off their first purchase/);
    const share = buttons(card).find((b) => b.url)?.url;
    expect(share).toMatch(/^https:\/\/t\.me\/share\/url\?url=https%3A%2F%2Ft\.me%2Fbashgah_ref_bot%3Fstart%3Dr_/);
    await forward;
  });

  it('a friend joins with the link, gets the welcome voucher, and their first qualifying purchase rewards the inviter', async () => {
    const payload = link.split('start=')[1]!;
    const sara = friend('Sara');
    const joined = inviter.waitFor(hasText(/Sara joined the club with your invitation/));
    const saraId = await signUp(sara, payload);
    await joined;
    expect(sara.messages.some(hasText(/10% off your first purchase/))).toBe(true);
    const saraRow = await database.db.selectFrom('members').select('referred_by').where('id', '=', saraId).executeTakeFirstOrThrow();
    expect(saraRow.referred_by).toBe(inviterId);

    // The cashier sees the voucher on the staff view.
    await owner.send(`/member ${saraId}`);
    await owner.waitFor(hasText(/Welcome voucher: 10% off this first purchase/));

    // A small purchase does not qualify; one of 500,000 Rials or more does, once.
    const before = await pointsOf(inviterId);
    const branchId = (await database.db.selectFrom('branches').select('id').executeTakeFirstOrThrow()).id;
    const env = { now: new Date(), timeZone: 'Asia/Tehran' };
    await owner.press('🧾 Record purchase');
    await owner.waitFor(hasText(/What is the amount/));
    await owner.send('200000 ریال');
    await owner.waitFor(hasText(/Receipt number/));
    await owner.tapReply('Skip');
    // The voucher is offered, and used only when the cashier applies it; both sides are told.
    await owner.waitFor(hasText(/Apply a voucher/));
    await owner.tapReply('🎁 Welcome voucher 10%');
    const preview = await owner.waitFor(hasText(/Points to earn/));
    expect(plain(preview)).toMatch(/Welcome voucher \(10%\): −2,000 Toman \(20,000 Rials\)/);
    expect(plain(preview)).toMatch(/Amount to pay: 18,000 Toman \(180,000 Rials\)/);
    const saraTold = sara.waitFor(hasText(/Your welcome voucher was used on this purchase: −2,000 Toman \(20,000 Rials\)/));
    await owner.press('✅ Confirm');
    await owner.waitFor(hasText(/recorded/));
    const receipt = await saraTold;
    expect(plain(receipt)).toMatch(/Paid: 18,000 Toman \(180,000 Rials\)/);
    expect(await pointsOf(inviterId)).toBe(before);
    const used = await database.db.selectFrom('member_vouchers').innerJoin('purchases', 'purchases.id', 'member_vouchers.used_purchase_id').select(['purchases.voucher_discount_rials', 'purchases.points_earned']).where('member_vouchers.member_id', '=', saraId).executeTakeFirstOrThrow();
    // Points are earned on what was paid: 180,000 Rials at 1 per 10,000.
    expect(used).toEqual({ voucher_discount_rials: 20_000, points_earned: 18 });
    // The voucher was for the first purchase and is now used.
    await owner.send(`/member ${saraId}`);
    const view = await owner.waitFor(hasText(/Member \d+: Sara/));
    expect(plain(view)).not.toMatch(/Welcome voucher/);

    const rewarded = inviter.waitFor(hasText(/Your friend Sara made their first purchase: \+200 points/));
    await owner.press('🧾 Record purchase', { messageId: view.message_id });
    await owner.waitFor(hasText(/What is the amount/));
    await owner.send('600,000 ریال');
    await owner.waitFor(hasText(/Receipt number/));
    await owner.tapReply('Skip');
    await owner.waitFor(hasText(/Points to earn/));
    await owner.press('✅ Confirm');
    await owner.waitFor(hasText(/recorded/));
    await rewarded;
    expect(await pointsOf(inviterId)).toBe(before + 200);
    const again = await recordPurchase(database.db, { memberId: saraId, branchId, cashierMemberId: inviterId, amountRials: 900_000, operationId: randomUUID() }, env);
    expect(again.duplicate).toBe(false);
    expect(await pointsOf(inviterId)).toBe(before + 200);

    // Voiding the qualifying purchase reverses the inviter's reward.
    const qualifying = (await database.db.selectFrom('referrals').select('qualifying_purchase_id').where('referee_id', '=', saraId).executeTakeFirstOrThrow()).qualifying_purchase_id!;
    await voidPurchase(database.db, qualifying, inviterId, 'returned goods', env);
    expect(await pointsOf(inviterId)).toBe(before);
    const referral = await database.db.selectFrom('referrals').select('status').where('referee_id', '=', saraId).executeTakeFirstOrThrow();
    expect(referral.status).toBe('reversed');
    expect(await ledgerViolations(database.db)).toEqual([]);
  });

  it('refuses self-referral and existing members, with reasons managers can read', async () => {
    const payload = link.split('start=')[1]!;
    await inviter.send(`/start ${payload}`);
    await inviter.waitFor(hasText(/That is your own invitation link/));
    const sara = api.user({ id: 7400000101, first_name: 'Sara', language_code: 'en' }); // already a member
    await sara.send(`/start ${payload}`);
    await sara.waitFor(hasText(/already a member of the club/));
    // The inviter's phone on the other messenger (a new account): still the same person.
    const alias = api.user({ id: 7400000003, first_name: 'Reza2', language_code: 'en', phone: '989121110000' });
    await alias.send(`/start ${payload}`);
    await alias.waitFor(hasText(/Share my phone number/));
    await alias.shareContact();
    await alias.waitFor(hasText(/now linked to your club membership/));

    await owner.send('/referrals');
    const list = await owner.waitFor(hasText(/Refused in the last 30 days/));
    expect(plain(list)).toMatch(/Reza → Reza: own link/);
    expect(plain(list)).toMatch(/Reza → Sara: already a member/);
    const refused = await database.db.selectFrom('referrals').select('reason').where('status', '=', 'refused').orderBy('id').execute();
    expect(refused.map((r) => r.reason)).toEqual(['self', 'already_member', 'self']);
  });

  it('the sixth referral of a day waits for a manager, who approves it from the list', async () => {
    const payload = link.split('start=')[1]!;
    // Sara was the first today; four more fill the daily cap of five.
    for (const name of ['Ali', 'Bita', 'Cyrus', 'Dara']) await signUp(friend(name), payload);
    // The inviter's notices come from the outbox at one a second per chat (the Bot API's limit): five queue up.
    const held = inviter.waitFor(hasText(/Elham joined with your invitation\. You have invited many friends lately/), 20_000);
    const elhamId = await signUp(friend('Elham'), payload);
    await held;
    const row = await database.db.selectFrom('referrals').select(['id', 'status', 'reason']).where('referee_id', '=', elhamId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'pending_review', reason: 'cap' });

    await owner.send('/referrals');
    const list = await owner.waitFor(hasText(/Referrals waiting for review[\s\S]*Reza invited Elham/));
    await owner.press(new RegExp(`Approve #${row.id}$`), { messageId: list.message_id });
    await expect.poll(async () => (await database.db.selectFrom('referrals').select('status').where('id', '=', row.id).executeTakeFirstOrThrow()).status).toBe('pending');
    await owner.press(new RegExp(`Approve #${row.id}$`), { messageId: list.message_id });
    await expect.poll(() => owner.callbackAnswers.at(-1)?.text).toBe('Already decided.');
  });

  it('growth links attribute signups and the report counts them', async () => {
    await owner.send('/links add poster-1 Shop window poster');
    const created = await owner.waitFor((m) => m.photo === true);
    const url = decodeQr(created.photoBytes!);
    expect(url).toBe('https://t.me/bashgah_ref_bot?start=j_poster-1');
    await owner.send('/links add bad!slug Poster');
    await owner.waitFor(hasText(/1 to 32 lowercase letters/));
    const passer = friend('Passer');
    const id = await signUp(passer, 'j_poster-1');
    const m = await database.db.selectFrom('members').select(['join_link_id', 'referred_by']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(m.join_link_id).not.toBeNull();
    expect(m.referred_by).toBeNull();
    await owner.send('/referral_rules inviter 250');
    await owner.waitFor(hasText(/The inviter gets: 250 points at the friend's first purchase of at least 500,000 Rials/));
    await owner.send('/referral_rules when never');
    await owner.waitFor(hasText(/Change with: \/referral_rules friend voucher 10/));
    await owner.send('/links');
    const report = await owner.waitFor(hasText(/Growth, last 30 days/));
    expect(plain(report)).toMatch(/poster-1: 1 · 0/);
    expect(plain(report)).toMatch(/Reza #\d+: 6 · 1/);
  });
});
