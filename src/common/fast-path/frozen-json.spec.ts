import express from 'express';
import request from 'supertest';
import { serveFrozenJson, servedManyTimes } from './frozen-json';

const answer = {
  name: 'model-é',
  versions: [{ version: 1, tags: { a: 'b' } }],
  long: 'x'.repeat(2000),
};

function app() {
  const a = express();
  a.set('etag', false);
  serveFrozenJson(a);
  const frozen = servedManyTimes(structuredClone(answer));
  a.get('/plain', (_req, res) => {
    res.json(structuredClone(answer));
  });
  a.get('/frozen', (_req, res) => {
    res.json(frozen);
  });
  a.get('/typed', (_req, res) => {
    res.type('application/vnd.test+json').json(frozen);
  });
  return a;
}

const withoutDate = (headers: Record<string, unknown>) => {
  const copy = { ...headers };
  delete copy.date;
  return copy;
};

describe('serveFrozenJson', () => {
  it('answers a value served many times with the same status, headers and bytes', async () => {
    const a = app();
    for (let i = 0; i < 2; i++) {
      const plain = await request(a).get('/plain');
      const frozen = await request(a).get('/frozen');
      expect(frozen.status).toBe(200);
      expect(withoutDate(frozen.headers)).toEqual(withoutDate(plain.headers));
      expect(frozen.text).toBe(plain.text);
      expect(frozen.headers['content-type']).toBe('application/json; charset=utf-8');
    }
  });

  it('serializes a value served many times once, not on every answer', async () => {
    const a = app();
    const stringify = jest.spyOn(JSON, 'stringify');
    try {
      for (let i = 0; i < 3; i++) await request(a).get('/frozen').expect(200);
      const ofAnswer = stringify.mock.calls.filter(([value]) => {
        const v = value as { name?: unknown } | undefined;
        return typeof v === 'object' && v !== null && v.name === answer.name;
      });
      expect(ofAnswer).toHaveLength(1);
    } finally {
      stringify.mockRestore();
    }
  });

  it('answers HEAD without a body, like res.json', async () => {
    const a = app();
    const plain = await request(a).head('/plain');
    const frozen = await request(a).head('/frozen');
    expect(withoutDate(frozen.headers)).toEqual(withoutDate(plain.headers));
    expect(frozen.text).toBeUndefined();
  });

  it('leaves a Content-Type set before to Express', async () => {
    const res = await request(app()).get('/typed');
    expect(res.headers['content-type']).toBe('application/vnd.test+json; charset=utf-8');
    expect(JSON.parse(res.text)).toEqual(answer);
  });

  it('is not installed when the app changes how JSON is written', async () => {
    const a = express();
    a.set('json spaces', 2);
    serveFrozenJson(a);
    const frozen = servedManyTimes({ a: 1 });
    a.get('/', (_req, res) => {
      res.json(frozen);
    });
    expect((await request(a).get('/')).text).toBe('{\n  "a": 1\n}');
  });
});
