import type { Context as BaseContext } from 'grammy';
import type { Speech } from './context.ts';

/** At most one edit per this many milliseconds: a long import stays within the messenger's limits. */
const EVERY_MS = 2000;

/**
 * A message that shows how far a long job has got, edited as it goes (on Bale too: a text without
 * a keyboard edits reliably there), and edited a last time with the outcome.
 */
export async function progressMessage(ctx: BaseContext & Speech, text: (n: number) => string) {
  const first = ctx.adapter.render(text(0));
  const sent = await ctx.reply(first.text, first.parse_mode ? { parse_mode: first.parse_mode } : {});
  let last = Date.now();
  let shown = first.text;
  const edit = async (html: string) => {
    const { text: body, parse_mode } = ctx.adapter.render(html);
    if (body === shown) return;
    shown = body;
    await ctx.api.editMessageText(sent.chat.id, sent.message_id, body, parse_mode ? { parse_mode } : {}).catch(() => undefined);
  };
  return {
    update: async (n: number) => {
      if (Date.now() - last < EVERY_MS) return;
      last = Date.now();
      await edit(text(n));
    },
    done: (html: string) => edit(html),
  };
}
