import { describe, expect, it } from 'vitest';
import { Api, Composer, Context } from 'grammy';
import type { Update, UserFromGetMe } from 'grammy/types';
import { ClubComposer } from '../../src/bot/composer.ts';

/**
 * ClubComposer runs its handlers as a list (and its filters without grammY's `lazy`): it must mean
 * exactly what grammY's Composer means. Each scenario is built on both and must leave the same trace.
 */
const me = { id: 1, is_bot: true, first_name: 'Club', username: 'club_bot' } as UserFromGetMe;
const api = new Api('1:test');
const chat = { id: 7, type: 'private' as const, first_name: 'A' };
const message = (text: string): Update => ({
  update_id: 1,
  message: { message_id: 1, date: 0, chat, from: { id: 7, is_bot: false, first_name: 'A' }, text, ...(text.startsWith('/') ? { entities: [{ type: 'bot_command' as const, offset: 0, length: text.split(' ')[0]!.length }] } : {}) },
});
const press = (data: string): Update => ({
  update_id: 2,
  callback_query: { id: 'q', chat_instance: 'c', from: { id: 7, is_bot: false, first_name: 'A' }, data, message: { message_id: 2, date: 0, chat, text: 'x' } as never },
});

type Make = () => Composer<Context>;
const grammy: Make = () => new Composer<Context>();
const club: Make = () => new ClubComposer<Context>();

/** Runs `update` through the composer `build` made; the trace of what ran, and how the run ended. */
async function trace(make: Make, build: (c: Composer<Context>, log: (s: string) => void) => void, update: Update) {
  const log: string[] = [];
  const root = make();
  build(root, (s) => log.push(s));
  const ctx = new Context(update, api, me);
  try {
    await root.middleware()(ctx, async () => {
      log.push('fell through');
    });
    log.push('resolved');
  } catch (error) {
    log.push(`rejected: ${(error as Error).message}`);
  }
  return log;
}

const scenarios: Record<string, { build: (c: Composer<Context>, log: (s: string) => void) => void; updates: Update[] }> = {
  'handlers in order; the first that does not call next ends it': {
    build: (c, log) => {
      c.use(async (_ctx, next) => {
        log('a');
        await next();
        log('a after');
      });
      c.command('menu', () => log('menu'));
      c.command('help', () => log('help'));
      c.use(() => log('unhandled'));
    },
    updates: [message('/menu'), message('/help'), message('hello'), press('x')],
  },
  'a composer given more handlers after it was installed, and nested composers': {
    build: (c, log) => {
      const later = c.use((_ctx, next) => {
        log('first');
        return next();
      });
      c.callbackQuery('pay', () => log('pay'));
      later.use((_ctx, next) => {
        log('added later, inside the first');
        return next();
      });
      const inner = new Composer<Context>();
      inner.hears(/^hi/, () => log('hi'));
      c.use(inner);
      c.on('message:text', (_ctx, next) => {
        log('text');
        return next();
      });
    },
    updates: [message('hi there'), message('other'), press('pay'), press('other')],
  },
  'filters, branch, drop, chatType and errorBoundary': {
    build: (c, log) => {
      c.filter((ctx) => ctx.from?.id === 7).use((_ctx, next) => {
        log('from 7');
        return next();
      });
      c.branch(
        (ctx) => Promise.resolve(ctx.callbackQuery !== undefined),
        (_ctx, next) => {
          log('yes');
          return next();
        },
        (_ctx, next) => {
          log('no');
          return next();
        },
      );
      c.chatType('private').use((_ctx, next) => {
        log('private');
        return next();
      });
      c.drop((ctx) => ctx.message?.text === 'drop').use(() => log('not dropped'));
      c.errorBoundary((err) => log(`boundary: ${(err.error as Error).message}`)).command('boom', () => {
        throw new Error('boom');
      });
      c.use(() => log('end'));
    },
    updates: [message('drop'), message('/boom'), press('z')],
  },
  'next called twice, and a handler that throws at once': {
    build: (c, log) => {
      c.command('twice', async (_ctx, next) => {
        await next();
        await next();
      });
      c.command('throws', () => {
        throw new Error('at once');
      });
      c.use(async (_ctx, next) => {
        log('rest');
        // next returns a promise even when the rest is synchronous. (Within one tick, ClubComposer's
        // filters decide at once where grammY's await a promise: only the order of the awaited ends counts.)
        const rest = next();
        const promised = rest instanceof Promise;
        await rest;
        log(promised ? 'a promise' : 'no promise');
      });
      c.hears('sync', () => {
        log('handled without a promise');
      });
    },
    updates: [message('/twice'), message('/throws'), message('plain'), message('sync')],
  },
};

describe('ClubComposer means what grammY’s Composer means', () => {
  for (const [name, { build, updates }] of Object.entries(scenarios)) {
    it(name, async () => {
      for (const update of updates) {
        const expected = await trace(grammy, build, update);
        expect(await trace(club, build, update)).toEqual(expected);
      }
    });
  }

  it('the traces are not trivially equal (the scenarios do exercise the paths)', async () => {
    const { build } = scenarios['next called twice, and a handler that throws at once']!;
    expect(await trace(club, build, message('/twice'))).toEqual(['rest', 'fell through', 'a promise', 'rejected: `next` already called before!']);
    expect(await trace(club, build, message('/throws'))).toEqual(['rejected: at once']);
    expect(await trace(club, build, message('sync'))).toEqual(['rest', 'handled without a promise', 'a promise', 'resolved']);
    const first = scenarios['handlers in order; the first that does not call next ends it']!.build;
    expect(await trace(club, first, message('/help'))).toEqual(['a', 'help', 'a after', 'resolved']);
  });

  it('the handlers after the one that handles an update do not run', async () => {
    let reached = 0;
    const c = new ClubComposer<Context>();
    c.command('menu', () => undefined);
    for (let i = 0; i < 50; i++) c.use((_ctx, next) => (reached++, next()));
    await c.middleware()(new Context(message('/menu'), api, me), () => Promise.resolve());
    expect(reached).toBe(0);
    await c.middleware()(new Context(message('other'), api, me), () => Promise.resolve());
    expect(reached).toBe(50);
  });
});
