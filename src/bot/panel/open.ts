import type { Composer } from 'grammy';
import type { StaffRole } from '../../db/schema.ts';
import type { Context } from '../context.ts';

export const CASHIERS: readonly StaffRole[] = ['owner', 'manager', 'cashier'];
export const MANAGERS: readonly StaffRole[] = ['owner', 'manager'];
export const OWNERS: readonly StaffRole[] = ['owner'];

/**
 * The panel's button `open:<name>` (see the staff panel contract): answers the press and opens the
 * feature's first screen, for the given roles only. The role is checked again here, not trusted
 * from the panel that drew the button (an old panel can outlive a role).
 */
export function opens(composer: Composer<Context>, name: string, roles: readonly StaffRole[], open: (ctx: Context) => unknown) {
  composer.callbackQuery(`open:${name}`, async (ctx) => {
    if (!ctx.role || !roles.includes(ctx.role)) {
      const key = !ctx.role ? 'errors.not_staff' : roles.includes('manager') ? 'errors.manager_only' : 'errors.owner_only';
      await ctx.answerCallbackQuery({ text: ctx.t(key), show_alert: true });
      return;
    }
    await ctx.answerCallbackQuery();
    await open(ctx);
  });
}
