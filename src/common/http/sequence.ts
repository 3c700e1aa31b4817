import type { NextFunction, Request, Response } from 'express';

export type Middleware = (req: Request, res: Response, next: NextFunction) => void;

/**
 * Several Express middlewares as one: each request walks one router layer instead of one per
 * middleware (Express matches every layer's path for every request). Same semantics as
 * installing them one after the other: `next()` goes on, `next(err)` skips the rest and hands
 * the error on, a middleware that answers simply does not call `next`, and one that throws
 * hands its error on.
 */
export function sequence(...middlewares: Middleware[]): Middleware {
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== 'route') {
        next(err);
        return;
      }
      const middleware = middlewares[i++];
      if (middleware === undefined) {
        next();
        return;
      }
      try {
        middleware(req, res, step);
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
}
