import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

const clock = { now: new Date('2026-12-01T09:00:00Z') };
const OWNER = '+989127550001';

describe(`"This wasn't me": managers decide with buttons, the member hears the outcome (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let manager: FakeUser;
  let member: FakeUser;
  let memberId: number;
  let menuId: number;
  const purchases: number[] = [];

  const dispute = (purchaseId: number) => database.db.selectFrom('disputes').selectAll().where('purchase_id', '=', purchaseId).executeTakeFirstOrThrow();
  const balance = async () => (await database.db.selectFrom('members').select('points_balance').where('id', '=', memberId).executeTakeFirstOrThrow()).points_balance;

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_dispute_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: OWNER }, now: () => clock.now });
    owner = api.user({ id: 7600000001, first_name: 'Owner', language_code: 'en' });
    manager = api.user({ id: 7600000002, first_name: 'Mina', language_code: 'en' });
    member = api.user({ id: 7600000003, first_name: 'Sara', language_code: 'en' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [OWNER], now: clock.now };
    const join = async (user: FakeUser, phone: string, name: string) =>
      (await joinClub(database.db, { platform: 'telegram', userId: user.id, chatId: user.id }, { phone, firstName: name, locale: 'en' }, policy)).member.id;
    const ownerId = await join(owner, OWNER, 'Owner');
    await join(manager, '+989127550002', 'Mina');
    memberId = await join(member, '+989127550003', 'Sara');
    const welcomed = manager.waitFor(hasText(/added to the club's staff/));
    await owner.send('/staff_add 09127550002 manager');
    await owner.waitFor(hasText(/Mina is now a manager/));
    await welcomed;
    const branchId = (await database.db.selectFrom('branches').select('id').executeTakeFirstOrThrow()).id;
    for (const [i, amount] of [1_000_000, 600_000].entries()) {
      const { purchase } = await recordPurchase(database.db, { memberId, branchId, cashierMemberId: ownerId, amountRials: amount, operationId: `dispute-${i}` }, { now: clock.now, timeZone: 'Asia/Tehran' });
      purchases.push(purchase.id);
    }
    // The receipt's "This wasn't me" button carries `dp:<purchase>`; pressed here on the member's menu.
    await member.send('/menu');
    menuId = (await member.waitFor(() => true)).message_id;
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('a dispute reaches managers with Void and Dismiss; voiding tells the member and settles it for everyone', async () => {
    const [p1] = purchases;
    expect(await balance()).toBe(160);
    const managerAlert = manager.waitFor(hasText(new RegExp(`Sara says purchase #${p1} \\(100,000 Toman \\(1,000,000 Rials\\)\\) wasn't them`)));
    const ownerAlert = owner.waitFor(hasText(new RegExp(`Sara says purchase #${p1} `)));
    await member.pressData(`dp:${p1}`, { messageId: menuId });
    await member.waitFor(hasText(/We've told the manager/));
    const alert = await managerAlert;
    expect(inlineButtons(alert).map((b) => b.text)).toEqual([`🚫 Void #${p1}`, `✖️ Dismiss #${p1}`]);
    const staleOwnerAlert = await ownerAlert;

    // A member cannot press a manager's button.
    await member.pressData(inlineButtons(alert)[0]!.callback_data!, { messageId: menuId });
    await expect.poll(() => member.callbackAnswers.at(-1)?.text).toMatch(/for the owner or a manager/);

    await manager.press(`🚫 Void #${p1}`, { messageId: alert.message_id });
    await manager.waitFor(hasText(new RegExp(`Void purchase #${p1} of Sara[\\s\\S]*What is the reason`)));
    const told = member.waitFor(hasText(/the manager agreed and voided it \(Wrong card at the till\); 100 points were taken back/));
    await manager.send('Wrong card at the till');
    await manager.waitFor(hasText(/Confirm\?/));
    await manager.press('✅ Confirm');
    await manager.waitFor(hasText(new RegExp(`Purchase #${p1} is void`)));
    await told;
    expect(await dispute(p1!)).toMatchObject({ status: 'resolved', outcome: 'voided', reason: 'Wrong card at the till' });
    expect(await balance()).toBe(60);

    // The owner's copy of the alert is stale now: it says so and changes nothing.
    await owner.press(`🚫 Void #${p1}`, { messageId: staleOwnerAlert.message_id });
    await expect.poll(() => owner.callbackAnswers.at(-1)?.text).toMatch(/already been decided/);
    expect(await ledgerViolations(database.db)).toEqual([]);
  });

  it('a dismissed dispute keeps the purchase, and the member reads the reason', async () => {
    const [, p2] = purchases;
    const managerAlert = manager.waitFor(hasText(new RegExp(`Sara says purchase #${p2} `)));
    await member.pressData(`dp:${p2}`, { messageId: menuId });
    await member.waitFor(hasText(new RegExp(`We've told the manager that purchase #${p2}`)));
    const alert = await managerAlert;

    await manager.send('/disputes');
    const list = await manager.waitFor(hasText(/Disputed purchases/));
    expect(plain(list)).toContain(`#${p2} Sara, 60,000 Toman (600,000 Rials)`);
    expect(plain(list)).not.toContain(`#${purchases[0]} Sara`);

    await manager.press(`✖️ Dismiss #${p2}`, { messageId: alert.message_id });
    await manager.waitFor(hasText(/Why was it theirs\? Sara will read this reason/));
    const told = member.waitFor(hasText(new RegExp(`purchase #${p2} you said wasn't you: the manager checked and found it was yours. Reason: Signed receipt, camera at 12:25`)));
    await manager.send('Signed receipt, camera at 12:25');
    await manager.waitFor(hasText(new RegExp(`Dispute on purchase #${p2} dismissed`)));
    await told;
    expect(await dispute(p2!)).toMatchObject({ status: 'resolved', outcome: 'dismissed', reason: 'Signed receipt, camera at 12:25' });
    const purchase = await database.db.selectFrom('purchases').select('status').where('id', '=', p2!).executeTakeFirstOrThrow();
    expect(purchase.status).toBe('recorded');
    expect(await balance()).toBe(60);

    await manager.send('/disputes');
    await manager.waitFor(hasText(/No open disputes/));
  });
});
