import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinClub } from '../../src/club/members.ts';
import { addStaff, listBranches } from '../../src/club/staff.ts';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { TEST_TOKEN } from '../support/club.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons } from '../support/messages.ts';
import { exited, startClubProcess } from '../support/process.ts';

const OWNER_PHONE = '+989128109999';
const CASHIER_PHONE = '+989128100001';

/**
 * The receipt is a row of the purchase's own transaction: a process killed (SIGKILL, no clean stop)
 * right after the purchase commits, its receipt still unsent, leaves the row; the next process
 * delivers it, once. Real processes on embedded storage, as `npm start` runs them.
 */
describe('a receipt survives kill -9 right after the purchase commits', () => {
  let api: FakeBotApi;
  let dataDir: string;
  let cashier: FakeUser;
  let member: FakeUser;
  let memberId: number;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_crash_bot' });
    await api.start();
    dataDir = await mkdtemp(path.join(tmpdir(), 'bashgah-crash-'));
    const owner = api.user({ id: 7500000001, first_name: 'Owner', language_code: 'en' });
    cashier = api.user({ id: 7500000002, first_name: 'Cashier', language_code: 'en' });
    member = api.user({ id: 7500000003, first_name: 'Parisa', language_code: 'fa' });
    // The club's storage as the process will find it: migrated, an owner, a cashier and a member.
    const handle = await createDatabase({ dataDir });
    try {
      await migrateToLatest(handle);
      const now = new Date();
      const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [OWNER_PHONE], now };
      const join = async (user: FakeUser, phone: string, firstName: string, locale: 'fa' | 'en') =>
        (await joinClub(handle.db, { platform: 'telegram', userId: user.id, chatId: user.id }, { phone, firstName, locale }, policy)).member.id;
      const ownerId = await join(owner, OWNER_PHONE, 'Owner', 'en');
      await join(cashier, CASHIER_PHONE, 'Cashier', 'en');
      memberId = await join(member, '+989128100002', 'پریسا', 'fa');
      const [branch] = await listBranches(handle.db);
      await addStaff(handle.db, { memberId: ownerId, role: 'owner' }, CASHIER_PHONE, 'cashier', branch!.id, now);
    } finally {
      await handle.close();
    }
  }, 60_000);
  afterAll(async () => {
    // A failed test leaves no club running.
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await api?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const env = () => ({ PATH: process.env.PATH, HOME: process.env.HOME, BOT_TOKEN: TEST_TOKEN, BOT_API_ROOT: api.apiRoot, DATA_DIR: dataDir, OWNER_PHONES: OWNER_PHONE, LOG_LEVEL: 'info' });
  async function start() {
    const club = await startClubProcess(env());
    children.push(club.child);
    return club;
  }
  const receipts = () => member.messages.filter(hasText(/۱۲۰\+ امتیاز برای خرید ۱۲۰٬۰۰۰ تومان/));

  it('the next process sends the receipt with "This wasn\'t me", exactly once', async () => {
    // The member's chat stalls: the first process commits the purchase but cannot deliver its receipt.
    member.hold();
    const first = await start();
    await cashier.send(`/member ${memberId}`);
    await cashier.waitFor(hasText(/Member \d+: پریسا/), 20_000);
    await cashier.press('🧾 Record purchase');
    await cashier.waitFor(hasText(/What is the amount in Toman/), 20_000);
    await cashier.send('120,000');
    await cashier.waitFor(hasText(/Receipt number/), 20_000);
    await cashier.tapReply('Skip');
    await cashier.waitFor(hasText(/Points to earn: 120/), 20_000);
    await cashier.press('✅ Confirm');
    // The cashier hears of it only after the commit: kill -9 now.
    await cashier.waitFor(hasText(/Purchase #\d+ recorded/), 20_000);
    const killed = exited(first.child);
    first.child.kill('SIGKILL');
    expect(await killed).toBe('SIGKILL');
    // Gone for good: nothing of the first process is left to send anything.
    expect(() => process.kill(first.child.pid!, 0)).toThrow();
    // What it was sending when killed never arrived.
    member.drop();
    expect(receipts()).toHaveLength(0);

    // The next process finds the row (pending, or claimed by the dead one until its lease runs out).
    const told = member.waitFor(hasText(/۱۲۰\+ امتیاز برای خرید ۱۲۰٬۰۰۰ تومان \(۱٬۲۰۰٬۰۰۰ ریال\)/), 90_000);
    const second = await start();
    try {
      const receipt = await told;
      expect(inlineButtons(receipt).map((b) => b.text)).toEqual(['⚠️ این خرید من نبود']);
    } finally {
      const stopped = exited(second.child);
      second.child.kill('SIGTERM');
      expect(await stopped, second.output()).toBe(0);
    }
    expect(receipts()).toHaveLength(1);

    // And the row says so: sent, once, nothing left to send again.
    const handle = await createDatabase({ dataDir });
    try {
      // (Only the receipt: a badge the purchase earned is announced by the minute job whenever its tick falls.)
      const rows = await handle.db.selectFrom('notifications').select(['kind', 'status', 'attempts', 'error']).where('member_id', '=', memberId).where('kind', '=', 'receipt').execute();
      expect(rows).toEqual([{ kind: 'receipt', status: 'sent', attempts: expect.any(Number), error: null }]);
    } finally {
      await handle.close();
    }
  }, 180_000);
});
