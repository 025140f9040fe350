import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import { displayCode } from '../../src/club/vouchers.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

describe(`campaigns, vouchers and automations in the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  const members: { user: FakeUser; id: number }[] = [];

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_campaign_bot' });
    await api.start();
    club = await startTestClub({ api, database });
    owner = api.user({ id: 7900000001, first_name: 'Owner', language_code: 'en' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129990001'], now: new Date() };
    const o = await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989129990001', firstName: 'Owner', locale: 'en' }, policy);
    await database.db.updateTable('members').set({ marketing_opt_in: false }).where('id', '=', o.member.id).execute();
    for (const [i, name] of ['Ava', 'Bita', 'Cyrus'].entries()) {
      const user = api.user({ id: 7900000010 + i, first_name: name, language_code: 'en' });
      const { member } = await joinClub(
        database.db,
        { platform: 'telegram', userId: user.id, chatId: user.id },
        { phone: `+98912999001${i}`, firstName: name, locale: 'en', gender: name === 'Cyrus' ? 'male' : 'female' },
        policy,
      );
      members.push({ user, id: member.id });
    }
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('a segment with a live count; a pool from an uploaded file; a broadcast with a code each, previewed, sent and reported', async () => {
    await owner.send('/segments add');
    await owner.waitFor(hasText(/A name for the segment/));
    await owner.send('Women');
    await owner.waitFor(hasText(/Who is in it/));
    await owner.send('gender=dragon');
    await owner.waitFor(hasText(/gender=dragon/));
    await owner.send('gender=female');
    await owner.waitFor(hasText(/2 members match/));
    await owner.press('💾 Save');
    await owner.waitFor(hasText(/Segment “Women” saved \(2 members\)/));

    await owner.send('/vouchers');
    await owner.waitFor(hasText(/Voucher pools[\s\S]*No pools yet/));
    await owner.press('➕ New pool');
    await owner.waitFor(hasText(/A name for it/));
    await owner.send('Yalda');
    await owner.waitFor(hasText(/The discount/));
    await owner.send('twenty');
    await owner.waitFor(hasText(/That is not a discount/));
    await owner.send('20%');
    await owner.waitFor(hasText(/Valid until when/));
    await owner.tapReply('30');
    await owner.waitFor(hasText(/How many codes from this pool/));
    await owner.tapReply('1');
    await owner.waitFor(hasText(/Who is it for/));
    await owner.press('👥 All members');
    await owner.waitFor(hasText(/make them here, or upload/));
    await owner.press('📄 Upload a file');
    await owner.waitFor(hasText(/Send the CSV or TXT file/));
    await owner.sendDocument(Buffer.from('code\nYLD-0001\nYLD-0002\nYLD-0002\nYLD-0003\n!!\n'), 'codes.csv');
    await owner.waitFor(hasText(/Pool Yalda is ready with 3 codes \(2 skipped/));

    await owner.send('/broadcast');
    await owner.waitFor(hasText(/Who receives this message/));
    await owner.press('Women');
    await owner.waitFor(hasText(/Send the message/));
    // The manager's text is plain text: `&` and `<` reach members as typed, never as markup.
    await owner.send('Hello {name}, Yalda sale! Tea & cake <20% off>');
    await owner.waitFor(hasText(/Add a button/));
    await owner.press('💳 Show my card');
    await owner.waitFor(hasText(/Attach a voucher pool/));
    // The preview and the confirmation come one after the other: wait for both before pressing.
    const preview$ = owner.waitFor(hasText(/Hello Owner, Yalda sale!/));
    const confirm = owner.waitFor(hasText(/Send it to 2 members/));
    await owner.press('Yalda');
    const preview = await preview$;
    expect(plain(preview)).toBe('Hello Owner, Yalda sale! Tea & cake <20% off>\n\n🎟 Your voucher code: SAMP-LE00');
    expect(inlineButtons(preview).map((b) => b.text)).toEqual(['💳 My card']);
    await confirm;
    const inboxes = members.slice(0, 2).map((m) => m.user.waitFor(hasText(/Yalda sale/)));
    const done = owner.waitFor(hasText(/Campaign #\d+ is done\.[\s\S]*Sent: 2/), 15_000);
    await owner.press('🚀 Send now');
    const received = await Promise.all(inboxes);
    await done;

    const codes = await database.db.selectFrom('voucher_codes').select(['code', 'member_id']).where('member_id', 'is not', null).orderBy('member_id').execute();
    expect(codes.map((c) => c.member_id)).toEqual([members[0]!.id, members[1]!.id]);
    for (const [i, message] of received.entries()) {
      expect(plain(message)).toBe(`Hello ${members[i]!.user.init.first_name}, Yalda sale! Tea & cake <20% off>\n\n🎟 Your voucher code: ${displayCode(codes[i]!.code)}`);
    }
    // Cyrus is not in the segment.
    expect(members[2]!.user.messages.some((m) => /Yalda sale/.test(plain(m)))).toBe(false);

    // The button under the campaign opens the member's card.
    const card = members[0]!.user.waitFor((m) => Boolean(m.photo));
    await members[0]!.user.press('💳 My card', { messageId: received[0]!.message_id });
    await card;

    await owner.send('/campaigns');
    await owner.waitFor(hasText(/Recent campaigns[\s\S]*done: sent 2, blocked 0, failed 0/));
  });

  it('the cashier checks, redeems and undoes a code; a used or unknown code is refused with the reason', async () => {
    const code = (await database.db.selectFrom('voucher_codes').select('code').where('member_id', '=', members[0]!.id).executeTakeFirstOrThrow()).code;
    // Ava's code is Ava's: typed with nobody on screen it is refused, and a forged Redeem too.
    await owner.send(`/voucher ${code.toLowerCase()}`);
    const refused = await owner.waitFor(hasText(/given to Ava and is used only on their account/));
    expect(inlineButtons(refused)).toEqual([]);
    await owner.pressData(`vr:${code}:0`, { messageId: refused.message_id });
    await owner.waitFor((m) => m.message_id === refused.message_id && m.edits > 0);
    expect((await database.db.selectFrom('voucher_codes').select('redeemed_at').where('code', '=', code).executeTakeFirstOrThrow()).redeemed_at).toBeNull();

    // From the staff view of the member on screen: Bita cannot use Ava's code.
    await owner.send(`/member ${members[1]!.id}`);
    await owner.waitFor(hasText(/Bita/));
    await owner.press('🎟 Voucher');
    await owner.waitFor(hasText(/Type the voucher code/));
    await owner.send(code);
    await owner.waitFor(hasText(/belongs to another member/));

    // On Ava's own account: redeemed, undone, redeemed again.
    const redeemOnAva = async () => {
      await owner.send(`/member ${members[0]!.id}`);
      await owner.waitFor(hasText(/Member \d+: Ava/));
      await owner.press('🎟 Voucher');
      await owner.waitFor(hasText(/Type the voucher code/));
      await owner.send(code.toLowerCase());
      const card = await owner.waitFor(hasText(/Voucher .*[\s\S]*Discount: 20%[\s\S]*For: Ava/));
      expect(inlineButtons(card).map((b) => b.text)).toEqual(['✅ Redeem', '✖️ Cancel']);
      await owner.press('✅ Redeem', { messageId: card.message_id });
      await owner.waitFor(hasText(/redeemed\. Apply 20% off the bill/));
    };
    await redeemOnAva();
    await owner.press('↩️ Undo');
    await owner.waitFor(hasText(/is usable again/));
    await redeemOnAva();
    await owner.send(`/voucher ${code}`);
    await owner.waitFor(hasText(/already been used/));
    await owner.send('/voucher NOPE-NOPE');
    await owner.waitFor(hasText(/No such voucher code/));
    const redeemed = await database.db.selectFrom('voucher_codes').select('redeemed_member_id').where('code', '=', code).executeTakeFirstOrThrow();
    expect(redeemed.redeemed_member_id).toBe(members[0]!.id);
  });

  it('automations: listed, switched on, edited, with a preview of today', async () => {
    await owner.send('/automations');
    await owner.waitFor(hasText(/Automations[\s\S]*⏸ 🎂 Birthday[\s\S]*⏸ 🍉 Yalda/));
    await owner.press('⏸ 🎂 Birthday');
    await owner.waitFor(hasText(/Today it would reach 0 member/));
    await owner.press('▶️ Switch on');
    await owner.waitFor(hasText(/✅ 🎂 Birthday[\s\S]*For: 👥 All members · voucher: No voucher/));
    await owner.press('👥 Who');
    await owner.waitFor(hasText(/Who should receive it/));
    await owner.press('Women');
    await owner.waitFor(hasText(/For: Women/));
    await owner.press('🎟 Voucher');
    await owner.waitFor(hasText(/Attach a voucher pool/));
    await owner.press('Yalda');
    await owner.waitFor(hasText(/For: Women · voucher: Yalda/));
    await owner.press('🎁 Gift');
    await owner.waitFor(hasText(/Gift points with it/));
    await owner.send('many');
    await owner.waitFor(hasText(/whole number from 0/));
    await owner.send('75');
    await owner.waitFor(hasText(/Saved: 75/));
    await owner.press('📅 Days before');
    await owner.waitFor(hasText(/How many days/));
    await owner.send('-3');
    await owner.waitFor(hasText(/Days must be a whole number/));
    await owner.send('۳');
    await owner.waitFor(hasText(/Saved: 3/));
    await owner.press('✏️ Message');
    await owner.waitFor(hasText(/The message members receive/));
    await owner.send('Happy birthday {name}, from all of us!');
    await owner.waitFor(hasText(/Saved: Happy birthday \{name\}/));
    expect((await database.db.selectFrom('automations').select(['days', 'message']).where('name', '=', 'birthday').executeTakeFirstOrThrow())).toEqual({ days: 3, message: 'Happy birthday {name}, from all of us!' });
    await owner.press('✏️ Message');
    await owner.waitFor(hasText(/The message members receive/));
    await owner.tapReply('Built-in message');
    await owner.waitFor(hasText(/Saved: Built-in message/));
    const row = await database.db.selectFrom('automations').select(['enabled', 'gift_points', 'segment_id', 'voucher_pool_id', 'message']).where('name', '=', 'birthday').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ enabled: true, gift_points: 75, message: null });
    expect(row.segment_id).not.toBeNull();
    expect(row.voucher_pool_id).not.toBeNull();

    await owner.send('/automations');
    await owner.waitFor(hasText(/gift 75 points/));
    await owner.press('➕ New occasion');
    await owner.waitFor(hasText(/Its name/));
    await owner.send('Anniversary');
    await owner.waitFor(hasText(/Jalali month and day/));
    await owner.send('13/1');
    await owner.waitFor(hasText(/not a Jalali month and day/));
    await owner.send('۷/۱۵');
    await owner.waitFor(hasText(/The message members receive/));
    await owner.send('Ten years together, {name}!');
    await owner.waitFor(hasText(/Gift points with it/));
    await owner.tapReply('0');
    await owner.waitFor(hasText(/Occasion Anniversary is on/));
    const added = await database.db.selectFrom('automations').selectAll().where('name', '=', 'Anniversary').executeTakeFirstOrThrow();
    expect(added).toMatchObject({ kind: 'occasion', enabled: true, jalali_month: 7, jalali_day: 15, gift_points: 0 });
  });

  it('a generated pool, a link button, a scheduled campaign refused at impossible times, and cancelled from its controls', async () => {
    await owner.send('/vouchers add');
    await owner.waitFor(hasText(/A name for it/));
    await owner.send('Spring');
    await owner.waitFor(hasText(/The discount/));
    await owner.send('۵۰۰٬۰۰۰');
    await owner.waitFor(hasText(/Valid until when/));
    await owner.send('1405/7/31');
    await owner.waitFor(hasText(/not a future date/));
    await owner.send('1499/1/1');
    await owner.waitFor(hasText(/How many codes from this pool/));
    await owner.send('0');
    await owner.waitFor(hasText(/whole number of at least 1/));
    await owner.send('2');
    await owner.waitFor(hasText(/Who is it for/));
    await owner.press('👥 All members');
    await owner.waitFor(hasText(/make them here, or upload/));
    await owner.press('🎲 Generate codes');
    await owner.waitFor(hasText(/How many codes to make/));
    await owner.tapReply('100');
    await owner.waitFor(hasText(/Pool Spring is ready with 100 codes \(0 skipped/));
    const spring = await database.db.selectFrom('voucher_pools').selectAll().where('name', '=', 'Spring').executeTakeFirstOrThrow();
    expect(spring).toMatchObject({ discount_kind: 'rials', discount_value: 500_000, per_member_limit: 2, source: 'generated' });

    await owner.send('/broadcast');
    await owner.waitFor(hasText(/Who receives this message/));
    await owner.press('👥 All members');
    await owner.waitFor(hasText(/Send the message/));
    await owner.send('Spring menu is out');
    await owner.waitFor(hasText(/Add a button/));
    await owner.press('🔗 Link');
    await owner.waitFor(hasText(/Button text and link/));
    await owner.send('Menu | http://insecure.example');
    await owner.waitFor(hasText(/Please send “text \| https/));
    await owner.send('Menu | https://example.com/menu');
    await owner.waitFor(hasText(/Attach a voucher pool/));
    const preview$ = owner.waitFor(hasText(/^Spring menu is out$/));
    const confirm = owner.waitFor(hasText(/Send it to 3 members/));
    await owner.press('No voucher');
    expect(inlineButtons(await preview$)).toEqual([{ text: 'Menu', url: 'https://example.com/menu' }]);
    await confirm;
    await owner.press('🗓 Schedule');
    await owner.waitFor(hasText(/When\?/));
    for (const bad of ['tomorrow', '1405/7/31 10:00', '1400/1/1 10:00']) {
      await owner.send(bad);
      await owner.waitFor(hasText(/not a time in the future/));
    }
    await owner.send('۱۴۹۹/۱/۱ ۱۰:۰۰');
    await owner.waitFor(hasText(/Campaign #\d+ will go out at/));
    const scheduled = await database.db.selectFrom('campaigns').selectAll().where('text', '=', 'Spring menu is out').executeTakeFirstOrThrow();
    expect(scheduled.status).toBe('scheduled');
    expect(scheduled.button).toEqual({ kind: 'url', text: 'Menu', url: 'https://example.com/menu' });

    // The campaign controls: a member's press is refused, the owner cancels, a second cancel changes nothing.
    const ava = members[0]!.user;
    await ava.send('/help');
    await ava.next();
    const answered = ava.callbackAnswers.length;
    await ava.pressData(`cp:cancel:${scheduled.id}`);
    await vi.waitFor(() => expect(ava.callbackAnswers.length).toBe(answered + 1));
    expect(ava.callbackAnswers.at(-1)).toMatchObject({ text: expect.stringMatching(/owner or a manager/), show_alert: true });
    await owner.send('/campaigns');
    await owner.waitFor(hasText(/scheduled/));
    await owner.pressData(`cp:cancel:${scheduled.id}`);
    await owner.send('/campaigns');
    await owner.waitFor(hasText(/cancelled: sent 0/));
    await owner.pressData(`cp:resume:${scheduled.id}`);
    await owner.send('/campaigns');
    await owner.waitFor(hasText(/cancelled: sent 0/));
    expect(owner.callbackAnswers.map((a) => a.text)).toEqual(expect.arrayContaining(['Cancelled.', 'Nothing to change.']));
    // Cancelled before its time: when the time comes, it does not start.
    await database.db.updateTable('campaigns').set({ scheduled_at: new Date(Date.now() - 60_000) }).where('id', '=', scheduled.id).execute();
    await club.deps.broadcaster.resumeAll();
    expect(await database.db.selectFrom('campaign_outbox').select('chat_id').where('campaign_id', '=', scheduled.id).execute()).toEqual([]);
  });

  it('members and cashiers cannot reach the managers’ screens', async () => {
    const ava = members[0]!.user;
    for (const command of ['/broadcast', '/segments', '/vouchers', '/automations', '/voucher ABCD']) {
      await ava.send(command);
      await ava.waitFor(hasText(/staff|کارکنان/i));
    }
    await ava.pressData('au:t:1');
    await new Promise((r) => setTimeout(r, 300));
    expect((await database.db.selectFrom('automations').select('enabled').where('id', '=', 1).executeTakeFirstOrThrow()).enabled).toBe(true);
  });
});
