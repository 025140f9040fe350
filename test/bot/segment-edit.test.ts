import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { createCampaign, scheduleCampaign } from '../../src/club/campaigns.ts';
import { joinClub } from '../../src/club/members.ts';
import { saveSegment } from '../../src/club/segments.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

/** Saved segments are renamed, edited with the builder and deleted from the segments screen; one in use is not deleted. */
describe(`editing and deleting saved segments in the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let ownerId: number;
  let gold: number;
  let busy: number;
  let scheduled: number;
  const clock = new Date('2026-12-20T08:00:00Z');

  const segmentRow = (id: number) => database.db.selectFrom('segments').select(['name', 'filter', 'archived_at']).where('id', '=', id).executeTakeFirstOrThrow();

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_segedit_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: '09129970001' }, now: () => clock });
    owner = api.user({ id: 7970000001, first_name: 'Owner', language_code: 'en' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129970001'], now: clock };
    ownerId = (await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989129970001', firstName: 'Owner', locale: 'en' }, policy)).member.id;
    await database.db.updateTable('members').set({ marketing_opt_in: false }).where('id', '=', ownerId).execute();
    const goldTier = (await database.db.selectFrom('tiers').select('id').where('code', '=', 'gold').executeTakeFirstOrThrow()).id;
    // Three gold members, two of them women; one bronze woman.
    for (const [i, gender, tier] of [[1, 'female', goldTier], [2, 'female', goldTier], [3, 'male', goldTier], [4, 'female', null]] as const) {
      const { member } = await joinClub(database.db, { platform: 'telegram', userId: 7970000010 + i, chatId: 7970000010 + i }, { phone: `+98912997001${i}`, firstName: `M${i}`, locale: 'fa' }, policy);
      await database.db.updateTable('members').set({ gender, ...(tier ? { tier_id: tier } : {}) }).where('id', '=', member.id).execute();
    }
    gold = (await saveSegment(database.db, ownerId, 'Gold', { groups: [[{ field: 'tier', in: ['gold'] }]] }, clock)).id;
    busy = (await saveSegment(database.db, ownerId, 'Women', { groups: [[{ field: 'gender', value: 'female' }]] }, clock)).id;
    // A campaign to "Women" waits for tomorrow: the segment is in use.
    scheduled = (await createCampaign(database.db, ownerId, { segmentId: busy, text: 'Yalda offer', photoFileId: null, button: null }, clock)).id;
    await scheduleCampaign(database.db, scheduled, new Date(clock.getTime() + 86_400_000), { memberId: ownerId, now: clock });
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  async function openSegment(name: string, expected: RegExp) {
    await owner.send('/segments');
    const list = await owner.waitFor(hasText(/Segments/));
    const screen = owner.waitFor(hasText(expected));
    await owner.press(`✏️ ${name}`, { messageId: list.message_id });
    return screen;
  }

  it('renames a segment and edits its conditions with the builder, starting from the saved ones', async () => {
    const screen = await openSegment('Gold', /👥 Gold \(segment \d+\)[\s\S]*Conditions:\n• Tier: Gold[\s\S]*3 members match[\s\S]*Nothing scheduled uses it/);
    expect(inlineButtons(screen).map((b) => b.text)).toEqual(['✏️ Rename', '🧩 Edit conditions', '🗑 Delete', '◀️ Segments']);

    await owner.press('✏️ Rename', { messageId: screen.message_id });
    await owner.waitFor(hasText(/A new name for «Gold»/));
    await owner.send('   ');
    await owner.waitFor(hasText(/Please answer with text/));
    expect((await segmentRow(gold)).name).toBe('Gold');
    await owner.send('Gold VIP');
    await owner.waitFor(hasText(/The segment is now called «Gold VIP»/));
    expect((await segmentRow(gold)).name).toBe('Gold VIP');

    const edit = await openSegment('Gold VIP', /Gold VIP/);
    const builder = owner.waitFor(hasText(/Editing «Gold VIP»\n+• Tier: Gold\n+👥 3 members match/));
    await owner.press('🧩 Edit conditions', { messageId: edit.message_id });
    await builder;
    await owner.press('🚻 Gender');
    await owner.waitFor(hasText(/Which\?/));
    const narrowed = owner.waitFor(hasText(/• Tier: Gold\n• Women\n+👥 2 members match/));
    await owner.press('Women');
    await narrowed;
    await owner.press('💾 Save');
    await owner.waitFor(hasText(/«Gold VIP» saved with the new conditions: 2 members/));
    // The same segment changed (no new one), under its new name.
    const row = await segmentRow(gold);
    expect(row.filter).toEqual({ groups: [[{ field: 'tier', in: ['gold'] }, { field: 'gender', value: 'female' }]] });
    expect(await database.db.selectFrom('segments').select('id').execute()).toHaveLength(2);
    const actions = await database.db.selectFrom('audit_log').select('action').where('action', 'like', 'segment.%').orderBy('id').execute();
    expect(actions.map((a) => a.action)).toEqual(['segment.save', 'segment.save', 'segment.rename', 'segment.edit']);
  });

  it('a segment a scheduled campaign uses says so and is not deleted; an unused one is deleted after a confirmation', async () => {
    const screen = await openSegment('Women', new RegExp(`Used by[^\\n]*\\n• scheduled campaign No\\. ${scheduled}`));
    const refusal = owner.waitFor(hasText(new RegExp(`«Women» cannot be deleted: it is still in use\\.\\n• scheduled campaign No\\. ${scheduled}\\nCancel or change those first`)));
    await owner.press('🗑 Delete', { messageId: screen.message_id });
    const refused = await refusal;
    expect(inlineButtons(refused).map((b) => b.text)).toEqual(['◀️ Segments']);
    expect((await segmentRow(busy)).archived_at).toBeNull();
    // A "Yes, delete" it never offered (an old message, a forged press) is refused the same way.
    const again = owner.waitFor((m) => m.message_id !== refused.message_id && /«Women» cannot be deleted/.test(plain(m)));
    await owner.send('/segments');
    const list = await owner.waitFor(hasText(/Segments/));
    await owner.pressData(`seg:rm!:${busy}`, { messageId: list.message_id });
    await again;
    expect((await segmentRow(busy)).archived_at).toBeNull();

    const other = await openSegment('Gold VIP', /Gold VIP/);
    const ask = owner.waitFor(hasText(/Delete the segment «Gold VIP»\?/));
    await owner.press('🗑 Delete', { messageId: other.message_id });
    const question = await ask;
    expect(inlineButtons(question).map((b) => b.text)).toEqual(['🗑 Yes, delete it', 'No, keep it']);
    // "No" keeps it and goes back to it.
    await owner.press('No, keep it', { messageId: question.message_id });
    await owner.waitFor(hasText(/👥 Gold VIP \(segment/));
    expect((await segmentRow(gold)).archived_at).toBeNull();

    const reopened = await openSegment('Gold VIP', /Gold VIP/);
    const confirm = owner.waitFor(hasText(/Delete the segment «Gold VIP»\?/));
    await owner.press('🗑 Delete', { messageId: reopened.message_id });
    const yes = await confirm;
    await owner.press('🗑 Yes, delete it', { messageId: yes.message_id });
    await owner.waitFor(hasText(/The segment «Gold VIP» is deleted/));
    expect((await segmentRow(gold)).archived_at).toEqual(clock);

    // Gone from the list and the pickers; a press on its old button finds nothing to change.
    await owner.send('/segments');
    const after = await owner.waitFor((m) => /Segments/.test(plain(m)) && !/Delete the segment/.test(plain(m)));
    expect(plain(after)).not.toContain('Gold VIP');
    expect(inlineButtons(after).map((b) => b.text)).not.toContain('✏️ Gold VIP');
    await owner.pressData(`seg:rn:${gold}`, { messageId: after.message_id });
    await owner.waitFor(hasText(/That segment no longer exists/));
    expect((await segmentRow(gold)).name).toBe('Gold VIP');

    // The campaign's audience picker offers the segments still kept, not the deleted one.
    await owner.send('/broadcast');
    const picker = await owner.waitFor(hasText(/Who receives this message/));
    const choices = inlineButtons(picker).map((b) => b.text);
    expect(choices).toContain('Women');
    expect(choices).not.toContain('Gold VIP');
    await owner.press('✖️ Cancel', { messageId: picker.message_id });
    await owner.waitFor(hasText(/Cancelled; nothing was sent/));
  });
});
