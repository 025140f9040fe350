import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';


describe(`complaints and their threads (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let member: FakeUser;

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_tickets_bot' });
    await api.start();
    club = await startTestClub({ api, database });
    owner = api.user({ id: 7600000001, first_name: 'Owner', language_code: 'en' });
    member = api.user({ id: 7600000002, first_name: 'Hamid', language_code: 'fa' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989126660001'], now: new Date() };
    await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989126660001', firstName: 'Owner', locale: 'en' }, policy);
    await joinClub(database.db, { platform: 'telegram', userId: member.id, chatId: member.id }, { phone: '+989126660002', firstName: 'حمید', locale: 'fa' }, policy);
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('a complaint with a photo reaches the manager, gets a reply, an answer back, is closed and rated', async () => {
    await member.send('/menu');
    const home = await member.waitFor((m) => JSON.stringify(m.reply_markup ?? {}).includes('💬 تماس با ما'));
    await member.press('💬 تماس با ما', { messageId: home.message_id });
    await member.waitFor(hasText(/مدیر همهٔ پیام‌ها را می‌خواند/));
    await member.press('😞 شکایت');
    await member.waitFor(hasText(/شکایت دربارهٔ چیست/));
    await member.press('کارکنان');
    await member.waitFor(hasText(/در یک پیام بنویسید/));
    // A restart here loses nothing.
    await club.stop();
    club = await startTestClub({ api, database });
    await member.send('x'.repeat(2001));
    await member.waitFor(hasText(/حداکثر ۲٬۰۰۰ نویسه/));
    // What the member typed reaches the manager as typed, `&` and `<` included.
    await member.send('صندوقدار بی‌ادب بود & قیمت‌ها <بالا>');
    await member.waitFor(hasText(/عکس هم بفرستید/));
    const toOwner = owner.waitFor(hasText(/New complaint #\d+ \(Staff\) from حمید:\nصندوقدار بی‌ادب بود & قیمت‌ها <بالا>/));
    const opened = member.waitFor(hasText(/شمارهٔ پیگیری شما [۰-۹]+ است/));
    await member.sendPhoto();
    const note = await toOwner;
    // The member's photo reaches the manager as a photo, the complaint as its caption, with the buttons.
    expect(note.photo).toBe(true);
    const ticket = await database.db.selectFrom('tickets').selectAll().executeTakeFirstOrThrow();
    expect(ticket).toMatchObject({ kind: 'complaint', category: 'staff', status: 'open' });
    const first = await database.db.selectFrom('ticket_messages').selectAll().where('ticket_id', '=', ticket.id).executeTakeFirstOrThrow();
    expect(first.photo_file_id).toMatch(/-l$/); // the largest size
    await opened;

    await owner.press('↩️ Reply', { messageId: note.message_id });
    await owner.waitFor(hasText(new RegExp(`Your reply to ticket #${ticket.id}`)));
    const toMember = member.waitFor(hasText(new RegExp(`پاسخ به تیکت شمارهٔ ${ticket.id.toString().replace(/\d/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[Number(d)]!)} شما:\\nعذرخواهی می‌کنیم`)));
    await owner.send('عذرخواهی می‌کنیم، پیگیری شد');
    await owner.waitFor(hasText(/Sent/));
    const reply = await toMember;
    expect((await database.db.selectFrom('tickets').select('first_response_at').where('id', '=', ticket.id).executeTakeFirstOrThrow()).first_response_at).not.toBeNull();

    await member.press('↩️ جواب', { messageId: reply.message_id });
    await member.waitFor(hasText(/جواب شما دربارهٔ تیکت/));
    const answered = owner.waitFor(hasText(/حمید answered on ticket #\d+:\nممنون/));
    await member.send('ممنون');
    await member.waitFor(hasText(/فرستاده شد/));
    const answer = await answered;

    await owner.send('/tickets');
    await owner.waitFor(hasText(/Open tickets[\s\S]*complaint, Staff, حمید: 0 h old, answered/));
    const rate = member.waitFor(hasText(/بسته شد. رسیدگی ما چطور بود/));
    await owner.press('✅ Close', { messageId: answer.message_id });
    const ask = await rate;
    await member.press('۴⭐', { messageId: ask.message_id });
    await member.waitFor(hasText(/از نمرهٔ شما سپاسگزاریم/));
    expect((await database.db.selectFrom('tickets').select(['status', 'rating']).where('id', '=', ticket.id).executeTakeFirstOrThrow())).toEqual({ status: 'closed', rating: 4 });
    // The thread is closed: answering is refused clearly.
    await member.press('↩️ جواب', { messageId: reply.message_id });
    await member.waitFor(hasText(/جواب شما/));
    await member.send('یک چیز دیگر');
    await member.waitFor(hasText(/این تیکت بسته شده است/));

    await owner.send(`/goodwill ${ticket.id} 50 sorry`);
    await owner.waitFor(hasText(/50 goodwill points given/));
    await owner.send(`/goodwill ${ticket.id} 50 sorry again`);
    await owner.waitFor(hasText(/already received 50 goodwill points/));
    expect((await database.db.selectFrom('members').select('points_balance').where('phone', '=', '+989126660002').executeTakeFirstOrThrow()).points_balance).toBe(50);

    await owner.send('/tickets report');
    await owner.waitFor(hasText(/By category:\n• Staff: open 0, closed 1, median first response 0 min, rating 4\.0/));
    await member.send('/tickets');
    await member.waitFor(hasText(/فقط برای کارکنان/));
  });

  it('a photo with a caption is the complaint and its photo; staff see it in /tickets and the thread; the member lists their tickets', async () => {
    await member.send('/menu');
    const home = await member.waitFor((m) => JSON.stringify(m.reply_markup ?? {}).includes('💬 تماس با ما'));
    await member.press('💬 تماس با ما', { messageId: home.message_id });
    await member.waitFor(hasText(/مدیر همهٔ پیام‌ها را می‌خواند/));
    await member.press('😞 شکایت');
    await member.waitFor(hasText(/شکایت دربارهٔ چیست/));
    await member.press('کالا');
    await member.waitFor(hasText(/در یک پیام بنویسید/));
    // A photo alone is not a complaint yet.
    await member.sendPhoto();
    await member.waitFor(hasText(/با چند کلمه توضیح زیر عکس/));
    const toOwner = owner.waitFor(hasText(/New complaint #\d+ \(Products\) from حمید:\nنان کپک زده بود/));
    const askedForPhoto = member.messages.filter(hasText(/عکس هم بفرستید/)).length;
    await member.sendPhoto('نان کپک زده بود');
    await member.waitFor(hasText(/شمارهٔ پیگیری شما [۰-۹]+ است/));
    // The photo came with its words: no photo question.
    expect(member.messages.filter(hasText(/عکس هم بفرستید/)).length).toBe(askedForPhoto);
    const alert = await toOwner;
    expect(alert.photo).toBe(true);
    const ticket = await database.db.selectFrom('tickets').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
    const first = await database.db.selectFrom('ticket_messages').selectAll().where('ticket_id', '=', ticket.id).executeTakeFirstOrThrow();
    expect(first).toMatchObject({ text: 'نان کپک زده بود', photo_platform: 'telegram' });
    expect(first.photo_file_id).toMatch(/-l$/);
    const sentPhoto = api.calls.filter((c) => c.method === 'sendPhoto' && c.params.photo === first.photo_file_id);
    expect(sentPhoto.length).toBeGreaterThan(0);

    await owner.send('/tickets');
    const list = await owner.waitFor(hasText(/Open tickets/));
    expect(plain(list)).toMatch(new RegExp(`#${ticket.id} complaint, Products, حمید: 0 h old, not answered yet 📷`));
    const photosBefore = owner.messages.filter((m) => m.photo).length;
    await owner.press(`🧵 Thread #${ticket.id}`, { messageId: list.message_id });
    const thread = await owner.waitFor(hasText(new RegExp(`Ticket #${ticket.id}[\\s\\S]*حمید · .* 📷\nنان کپک زده بود`)));
    expect(inlineButtons(thread).map((b) => b.text)).toEqual(['↩️ Reply', '✅ Close']);
    await owner.waitFor(hasText(new RegExp(`Photo in ticket #${ticket.id}`)));
    expect(owner.messages.filter((m) => m.photo).length).toBe(photosBefore + 1);

    // The member's own list: the first ticket closed, this one waiting.
    await member.send('/menu');
    const again = await member.waitFor((m) => JSON.stringify(m.reply_markup ?? {}).includes('💬 تماس با ما') && m.message_id !== home.message_id);
    await member.press('💬 تماس با ما', { messageId: again.message_id });
    await member.waitFor(hasText(/مدیر همهٔ پیام‌ها را می‌خواند/));
    await member.press('📋 پیگیری‌های من');
    const mine = await member.waitFor(hasText(/پیگیری‌های من/));
    const rows = plain(mine).split('\n').filter((l) => l.startsWith('•'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/شکایت، .*: در انتظار پاسخ 📷$/);
    expect(rows[1]).toMatch(/شکایت، .*: بسته شده 📷$/);
    // Another member's ticket is not theirs to read.
    await member.pressData('tk:vw:999999', { messageId: mine.message_id });
    await member.waitFor(hasText(/پیدا نشد|وجود ندارد/));
  });
});
