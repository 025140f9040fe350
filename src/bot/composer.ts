import { Composer, type Context as BaseContext, type Middleware, type MiddlewareFn } from 'grammy';

type MaybePromise<T> = T | Promise<T>;
type MaybeArray<T> = T | T[];

/** A middleware, or several run in order, as one function; a composer's handlers are read when it runs (they may be added later). */
function asFunction<C extends BaseContext>(middleware: MaybeArray<Middleware<C>>): MiddlewareFn<C> {
  if (Array.isArray(middleware)) return new Composer<C>(...middleware).middleware();
  return typeof middleware === 'function' ? middleware : (ctx, next) => middleware.middleware()(ctx, next);
}

/**
 * grammY's Composer with filters that cost nothing for the updates they let pass.
 *
 * grammY builds every filter (`command`, `callbackQuery`, `on`, `hears`, `chatType`...) on
 * `lazy`, which makes a new Composer for every update at every filter it reaches, whether or not
 * the filter matches: an update for a late feature passes a hundred of them (grammY's middleware
 * plumbing was the largest share of the club's allocations per update in `npm run bench:updates`).
 * Here a filter is one function, decided at once (without a promise when the predicate is
 * synchronous, as grammY's own predicates are); what a filter means does not change.
 */
export class ClubComposer<C extends BaseContext> extends Composer<C> {
  override filter<D extends C>(predicate: (ctx: C) => ctx is D, ...middleware: Array<Middleware<D>>): Composer<D>;
  override filter(predicate: (ctx: C) => MaybePromise<boolean>, ...middleware: Array<Middleware<C>>): Composer<C>;
  override filter(predicate: (ctx: C) => MaybePromise<boolean>, ...middleware: Array<Middleware<C>>): Composer<C> {
    const composer = new ClubComposer<C>(...middleware);
    this.branch(predicate, composer, []);
    return composer;
  }

  override branch(predicate: (ctx: C) => MaybePromise<boolean>, trueMiddleware: MaybeArray<Middleware<C>>, falseMiddleware: MaybeArray<Middleware<C>>): Composer<C> {
    const yes = asFunction(trueMiddleware);
    const no = Array.isArray(falseMiddleware) && falseMiddleware.length === 0 ? undefined : asFunction(falseMiddleware);
    return this.use((ctx, next) => {
      const decided = predicate(ctx);
      const take = (ok: boolean) => (ok ? yes(ctx, next) : no ? no(ctx, next) : next());
      return decided instanceof Promise ? decided.then(take) : take(decided);
    });
  }
}
