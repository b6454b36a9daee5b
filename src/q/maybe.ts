// Values that are synchronous unless a native returned a Promise: evaluation stays on the caller's stack
// (the hot path never awaits) and switches to Promises only from the first asynchronous native on.

export type Maybe<T> = T | Promise<T>;

export function isPromise<T>(x: Maybe<T>): x is Promise<T> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

/** f(x) now if x is a value, or once x settles. */
export function andThen<T, U>(x: Maybe<T>, f: (v: T) => Maybe<U>): Maybe<U> {
  return isPromise(x) ? x.then(f) : f(x);
}

/** Maps items from last to first (q evaluates arguments and list items right to left), in order. */
export function mapRightToLeft<T, U>(items: readonly T[], f: (item: T) => Maybe<U>): Maybe<U[]> {
  const out = new Array<U>(items.length);
  for (let k = items.length - 1; k >= 0; k--) {
    const r = f(items[k] as T);
    if (isPromise(r)) return finish(r, k);
    out[k] = r;
  }
  return out;

  async function finish(pending: Promise<U>, at: number): Promise<U[]> {
    out[at] = await pending;
    for (let k = at - 1; k >= 0; k--) out[k] = await f(items[k] as T);
    return out;
  }
}

/** Runs f on each item first to last, each after the previous settles; the last result is returned. */
export function runInOrder<T, U>(items: readonly T[], f: (item: T) => Maybe<U>, empty: U): Maybe<U> {
  let result: Maybe<U> = empty;
  for (let k = 0; k < items.length; k++) {
    if (isPromise(result)) return finishInOrder(result, items, k, f);
    result = f(items[k] as T);
  }
  return result;
}

async function finishInOrder<T, U>(pending: Promise<U>, items: readonly T[], from: number,
  f: (item: T) => Maybe<U>): Promise<U> {
  let result = await pending;
  for (let k = from; k < items.length; k++) result = await f(items[k] as T);
  return result;
}
