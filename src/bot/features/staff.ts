import { ClubComposer } from '../composer.ts';
import { type MiddlewareFn } from 'grammy';
import { listStaff } from '../../club/staff.ts';
import type { StaffRole } from '../../db/schema.ts';
import { maskPhone } from '../../lib/phone.ts';
import type { Context } from '../context.ts';
import { say } from '../ui.ts';

/** Lets the update through only for the given staff roles; everyone else is told plainly. */
export function staffOnly(...roles: StaffRole[]): MiddlewareFn<Context> {
  return async (ctx, next) => {
    if (ctx.role && roles.includes(ctx.role)) return next();
    // Staff at a command above their role are told whose it is, not that they are not staff.
    await say(ctx, ctx.t(!ctx.role ? 'errors.not_staff' : roles.includes('manager') ? 'errors.manager_only' : 'errors.owner_only'));
  };
}

export function staffFeature() {
  const composer = new ClubComposer<Context>();
  const privateChat = composer.chatType('private');

  privateChat.command('staff', staffOnly('owner', 'manager'), async (ctx) => {
    const staff = await listStaff(ctx.deps.db);
    const lines = staff.map((s) =>
      ctx.t('staff.row', {
        name: [s.firstName, s.lastName].filter(Boolean).join(' '),
        phone: maskPhone(s.phone),
        role: ctx.t(`roles.${s.role}`),
        branch: s.branchName ?? ctx.t('staff.all_branches'),
      }),
    );
    await say(ctx, [ctx.t('staff.title'), '', ...lines].join('\n'));
  });

  return composer;
}
