/**
 * Runs single requests in groups the way a database commits a group: the first request made while
 * no group is running is run at once, alone (no timer: a lone request waits for nobody); the ones
 * made while a group runs wait for it and then run together, at most `max` at a time. `run` is
 * given the group's items and returns one result per item, in the same order; each caller gets its
 * own result. A group that fails fails each of its callers; the next group runs all the same.
 *
 * Used on the update path (issue 14): under a burst, one statement serves many updates.
 */
export function grouped<T, R>(max: number, run: (items: T[]) => Promise<R[]>): (item: T) => Promise<R> {
  type Waiting = { item: T; resolve: (result: R) => void; reject: (error: unknown) => void };
  let queue: Waiting[] = [];
  let running = false;
  const drain = async () => {
    running = true;
    while (queue.length > 0) {
      const group = queue.length <= max ? queue : queue.slice(0, max);
      queue = queue.length <= max ? [] : queue.slice(max);
      try {
        const results = await run(group.map((w) => w.item));
        for (let i = 0; i < group.length; i++) group[i]!.resolve(results[i]!);
      } catch (error) {
        for (const w of group) w.reject(error);
      }
    }
    running = false;
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!running) void drain();
    });
}
