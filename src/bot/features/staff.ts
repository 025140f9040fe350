import { Composer, type MiddlewareFn } from 'grammy';
import { listStaff } from '../../club/staff.ts';
import type { StaffRole } from '../../db/schema.ts';
import { maskPhone } from '../../lib/phone.ts';
import type { Context } from '../context.ts';
import { say } from '../ui.ts';

/** Lets the update through only for the given staff roles; everyone else is told plainly. */
export function staffOnly(...roles: StaffRole[]): MiddlewareFn<Context> {
  return async (ctx, next) => {
    if (ctx.role && roles.includes(ctx.role)) return next();
    // A cashier at a managers' command is staff, just not allowed this one.
    await say(ctx, ctx.t(ctx.role && !roles.includes('cashier') ? 'errors.manager_only' : 'errors.not_staff'));
  };
}

export function staffFeature() {
  const composer = new Composer<Context>();
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
