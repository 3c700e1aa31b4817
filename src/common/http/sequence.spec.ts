import express from 'express';
import request from 'supertest';
import { Middleware, sequence } from './sequence';

function appWith(chain: Middleware): express.Express {
  const app = express();
  app.use(chain);
  app.get('/', (_req, res) => {
    res.json({ trail: res.getHeader('x-trail') });
  });
  app.use(
    (err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: err.message, trail: res.getHeader('x-trail') });
    },
  );
  return app;
}

const mark =
  (name: string): Middleware =>
  (_req, res, next) => {
    res.setHeader('x-trail', `${String(res.getHeader('x-trail') ?? '')}${name}`);
    next();
  };

describe('sequence', () => {
  it('runs the middlewares in order, then the route', async () => {
    const res = await request(appWith(sequence(mark('a'), mark('b'), mark('c')))).get('/');
    expect(res.body).toEqual({ trail: 'abc' });
  });

  it('goes on after a middleware that calls next later (asynchronously)', async () => {
    const later: Middleware = (_req, _res, next) => void setImmediate(() => next());
    const res = await request(appWith(sequence(mark('a'), later, mark('b')))).get('/');
    expect(res.body).toEqual({ trail: 'ab' });
  });

  it('stops at a middleware that answers', async () => {
    const answer: Middleware = (_req, res) => void res.status(204).end();
    const res = await request(appWith(sequence(mark('a'), answer, mark('b')))).get('/');
    expect(res.status).toBe(204);
    expect(res.headers['x-trail']).toBe('a');
  });

  it('hands an error passed to next, or thrown, to the error handler and skips the rest', async () => {
    const fails: Middleware = (_req, _res, next) => next(new Error('passed'));
    const throws: Middleware = () => {
      throw new Error('thrown');
    };
    for (const [bad, message] of [
      [fails, 'passed'],
      [throws, 'thrown'],
    ] as const) {
      const res = await request(appWith(sequence(mark('a'), bad, mark('b')))).get('/');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: message, trail: 'a' });
    }
  });
});
