import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type BotMessage, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText } from '../support/messages.ts';
import { createPool, displayCode } from '../../src/club/vouchers.ts';
import { decodeQr } from '../support/qr.ts';

const inlineButtons = (m: BotMessage | undefined) =>
  ((m?.reply_markup?.inline_keyboard ?? []) as { text: string }[][]).flat().map((b) => b.text);

describe(`the club on Bale (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let clock = new Date('2026-11-22T08:00:00Z');
  let arash: FakeUser;
  let boss: FakeUser;

  beforeAll(async () => {
    database = await testDatabase();
    // Bale may lack optional calls such as setMyCommands: the club must start anyway.
    api = new FakeBotApi({ platform: 'bale', botUsername: 'bashgah_bale_bot', unsupported: ['setMyCommands'] });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: '09129999999', CARD_TOKEN_TTL_MINUTES: '10' }, now: () => clock });
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  async function join(user: FakeUser, name: string) {
    await user.send('/start');
    await user.waitFor(hasText(/باشگاه مشتریان|customer club/));
    await user.shareContact();
    await user.waitFor(hasText(/چه صدا کنیم|call you/));
    await user.send(name);
    await user.waitFor(hasText(/تولد|birthday/));
    await user.send('1365/12/29');
    await user.waitFor(hasText(/جنسیت|gender/));
    await user.tapReply(/مرد|Male/);
    return user.waitFor((m) => inlineButtons(m).some((b) => /امتیازهای من|My points/.test(b)));
  }

  it('signs up and shows menus with no parse_mode and no HTML left in any text', async () => {
    const user = (arash = api.user({ id: 880001, first_name: 'Arash', language_code: 'fa', phone: '989121110001' }));
    const home = await join(user, 'آرش');
    expect(home.text).toContain('آرش، به باشگاه خودتان خوش آمدید');
    await user.press('⭐ امتیازهای من');
    const points = await user.waitFor(hasText(/امتیاز کسب‌شده/));
    // Bale edits keyboards unreliably: the screen arrives as a new message.
    expect(points.message_id).toBeGreaterThan(home.message_id);
    await user.press('❓ راهنما', { messageId: home.message_id });
    await user.waitFor(hasText(/راهنما[\s\S]*\/points/));

    const sends = api.calls.filter((c) => /^(send|edit)/.test(c.method));
    expect(sends.length).toBeGreaterThan(5);
    expect(sends.filter((c) => 'parse_mode' in c.params)).toEqual([]);
    expect(api.violations).toEqual([]);
    expect(api.calls.filter((c) => c.status === 400)).toEqual([]);
    expect(api.calls.filter((c) => c.method === 'setMyCommands').map((c) => c.status)).toEqual([404, 404]);
  });

  it("gives a card whose QR opens the club's Bale bot, and a cashier who scans it sees the member", async () => {
    const member = api.user({ id: 880002, first_name: 'Shirin', language_code: 'en', phone: '989121110002' });
    await join(member, 'Shirin');
    await member.press('💳 My card');
    const card = await member.waitFor((m) => m.photo === true);
    const link = decodeQr(card.photoBytes!);
    expect(link).toMatch(/^https:\/\/ble\.ir\/bashgah_bale_bot\?start=c_[A-Za-z0-9_-]+$/);
    const payload = link.split('start=')[1]!;
    expect(payload.length).toBeLessThanOrEqual(64);
    expect(card.caption).toMatch(/member number \d+/);
    expect(card.caption).not.toMatch(/<\/?b>/);

    // A customer scanning somebody's card learns nothing about them.
    const stranger = api.user({ id: 880003, first_name: 'Curious', language_code: 'en', phone: '989121110003' });
    await stranger.send(`/start ${payload}`);
    await stranger.waitFor(hasText(/member card/));
    expect(stranger.messages.some(hasText(/Shirin/))).toBe(false);

    const owner = (boss = api.user({ id: 880009, first_name: 'Owner', language_code: 'en', phone: '989129999999' }));
    await join(owner, 'Owner');
    await owner.send(`/start ${payload}`);
    const view = await owner.waitFor(hasText(/Shirin/));
    expect(view.text).toMatch(/Phone: \+98912\*\*\*0002/);
    expect(view.text).toMatch(/Tier: Bronze \(0% discount\)/);
    expect(view.text).toMatch(/Points: 50/);

    // A forged token and an expired one are refused.
    await owner.send(`/start ${payload.slice(0, -2)}xx`);
    await owner.waitFor(hasText(/This card is not valid/));
    clock = new Date(clock.getTime() + 11 * 60_000);
    await owner.send(`/start ${payload}`);
    await owner.waitFor(hasText(/This card has expired/));
    expect(api.violations).toEqual([]);
  });

  it('sends a voucher campaign, and its preview, as plain text: the code readable, the manager\'s & and < as typed', async () => {
    const owner = boss;
    const ownerId = (await database.db.selectFrom('member_accounts').select('member_id').where('platform', '=', 'bale').where('user_id', '=', owner.id).executeTakeFirstOrThrow()).member_id;
    await createPool(
      database.db,
      ownerId,
      { name: 'Yalda', discount: { kind: 'percent', value: 20 }, validFrom: clock, validTo: new Date(clock.getTime() + 7 * 86_400_000), perMemberLimit: 1, segmentId: null },
      { generate: 5 },
      clock,
    );
    await owner.send('/broadcast');
    await owner.waitFor(hasText(/Who receives this message/));
    await owner.press('👥 All members');
    await owner.waitFor(hasText(/Send the message/));
    await owner.send('Sale for {name} & friends <today>');
    await owner.waitFor(hasText(/Add a button/));
    await owner.press('No button');
    await owner.waitFor(hasText(/Attach a voucher pool/));
    const preview = owner.waitFor(hasText(/Sale for Owner/));
    const confirm = owner.waitFor(hasText(/Send it to \d+ members/));
    await owner.press('Yalda');
    expect((await preview).text).toBe('Sale for Owner & friends <today>\n\n🎟 Your voucher code: SAMP-LE00');
    await confirm;
    const inbox = arash.waitFor(hasText(/Sale for/), 15_000);
    await owner.press('🚀 Send now');
    const received = await inbox;
    const code = await database.db.selectFrom('voucher_codes').innerJoin('member_accounts', 'member_accounts.member_id', 'voucher_codes.member_id').select('code').where('member_accounts.user_id', '=', arash.id).executeTakeFirstOrThrow();
    expect(received.text).toBe(`Sale for آرش & friends <today>\n\n🎟 کد تخفیف شما: ${displayCode(code.code)}`);
    expect(received.parse_mode).toBeUndefined();
  });
});
