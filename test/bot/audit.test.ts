import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { audit } from '../../src/club/audit.ts';
import { createCampaign, scheduleCampaign, setCampaignStatus } from '../../src/club/campaigns.ts';
import { joinClub } from '../../src/club/members.ts';
import { saveSegment } from '../../src/club/segments.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

const clock = { now: new Date('2026-12-01T09:00:00Z') };
const OWNER = '+989127660001';

describe(`the audit log: append-only, read by owners with filters (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let manager: FakeUser;
  let managerId: number;
  let ownerId: number;

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_audit_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: OWNER }, now: () => clock.now });
    owner = api.user({ id: 7500000001, first_name: 'Owner', language_code: 'en' });
    manager = api.user({ id: 7500000002, first_name: 'Mina', language_code: 'en' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [OWNER], now: clock.now };
    ownerId = (await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: OWNER, firstName: 'Owner', locale: 'en' }, policy)).member.id;
    managerId = (await joinClub(database.db, { platform: 'telegram', userId: manager.id, chatId: manager.id }, { phone: '+989127660002', firstName: 'Mina', locale: 'en' }, policy)).member.id;
    const welcomed = manager.waitFor(hasText(/added to the club's staff/));
    await owner.send('/staff_add 09127660002 manager');
    await owner.waitFor(hasText(/Mina is now a manager/));
    await welcomed;
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('refuses UPDATE, DELETE and TRUNCATE on audit_log in the database', async () => {
    const before = await database.db.selectFrom('audit_log').selectAll().orderBy('id').execute();
    expect(before.length).toBeGreaterThan(0);
    await expect(sql`update audit_log set action = 'nothing'`.execute(database.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`.execute(database.db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_log`.execute(database.db)).rejects.toThrow(/append-only/);
    expect(await database.db.selectFrom('audit_log').selectAll().orderBy('id').execute()).toEqual(before);
  });

  it('segment saves and campaign schedule, pause and cancel are audited', async () => {
    const segment = await saveSegment(database.db, managerId, 'Women', { groups: [[{ field: 'gender', value: 'female' }]] }, clock.now);
    const campaign = await createCampaign(database.db, managerId, { segmentId: segment.id, text: 'Hello', photoFileId: null, button: null }, clock.now);
    await scheduleCampaign(database.db, campaign.id, new Date(clock.now.getTime() + 86_400_000), { memberId: managerId, now: clock.now });
    await setCampaignStatus(database.db, campaign.id, 'cancelled', { memberId: managerId, now: clock.now });
    const rows = await database.db.selectFrom('audit_log').select(['actor_member_id', 'action', 'payload']).where('actor_member_id', '=', managerId).orderBy('id').execute();
    expect(rows.map((r) => r.action)).toEqual(['segment.save', 'campaign.schedule', 'campaign.cancel']);
    expect(rows[0]!.payload).toMatchObject({ segment_id: segment.id, name: 'Women' });
    expect(rows[2]!.payload).toMatchObject({ campaign_id: campaign.id });
  });

  it('/audit is for owners: newest first, paged, filtered by staff member and by action', async () => {
    await manager.send('/audit');
    await manager.waitFor(hasText(/This is for the club's owner/));

    // Enough older entries by the owner to need a second page.
    for (let i = 0; i < 12; i++) await audit(database.db, { actor: ownerId, action: 'rules.set', payload: { n: i }, at: new Date(clock.now.getTime() - 3_600_000) });
    await audit(database.db, { actor: ownerId, action: 'points.adjust', payload: { member_id: managerId, amount: 40 }, at: clock.now });

    await owner.send('/audit');
    const page = await owner.waitFor(hasText(/Audit log/));
    const lines = plain(page).split('\n').filter((l) => l.startsWith('•'));
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe(`• 1 December 2026 at 12:30 · Owner: points adjusted · member ${managerId} · amount 40`);
    expect(lines[1]).toMatch(/1 December 2026 at 11:30 · Owner: earning rule changed$/);
    const data = inlineButtons(page).map((b) => b.callback_data!);
    expect(data.every((d) => Buffer.byteLength(d) <= 64)).toBe(true);

    await owner.press('Older ⏭', { messageId: page.message_id });
    const older = await owner.waitFor((m) => m.message_id === page.message_id && m.edits === 1);
    expect(plain(older)).toMatch(/Mina: campaign cancelled · campaign \d+/);
    expect(plain(older)).toMatch(/Owner: staff role given · member \d+ · manager/);
    await owner.press('⏮ Newest', { messageId: page.message_id });
    await owner.waitFor((m) => m.message_id === page.message_id && m.edits === 2 && plain(m).includes('points adjusted'));

    await owner.press('👤 By staff member', { messageId: page.message_id });
    await owner.waitFor((m) => m.message_id === page.message_id && plain(m).includes('Whose actions?'));
    await owner.press('Mina', { messageId: page.message_id });
    const mina = await owner.waitFor((m) => m.message_id === page.message_id && plain(m).includes('by Mina'));
    expect(plain(mina).split('\n').filter((l) => l.startsWith('•')).map((l) => l.replace(/^.*Mina: /, ''))).toEqual([
      expect.stringMatching(/^campaign cancelled/),
      expect.stringMatching(/^campaign scheduled/),
      'segment saved · segment 1',
    ]);

    await owner.press('✖️ Clear filters', { messageId: page.message_id });
    await owner.waitFor((m) => m.message_id === page.message_id && !plain(m).includes('by Mina') && plain(m).includes('points adjusted'));
    await owner.press('🏷 By action', { messageId: page.message_id });
    await owner.waitFor((m) => m.message_id === page.message_id && plain(m).includes('Which actions?'));
    await owner.press('Staff and branches', { messageId: page.message_id });
    const staff = await owner.waitFor((m) => m.message_id === page.message_id && plain(m).includes('Staff and branches'));
    const staffLines = plain(staff).split('\n').filter((l) => l.startsWith('•'));
    expect(staffLines.map((l) => l.replace(/^.*· (Owner|Mina|the club): /, ''))).toEqual([expect.stringMatching(/^staff role given/), expect.stringMatching(/^owner from OWNER_PHONES/)]);
  });
});
