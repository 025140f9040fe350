import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText } from '../support/messages.ts';


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
    await member.waitFor(hasText(/از امتیاز شما سپاسگزاریم/));
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
});
