import { findNulCharacter } from './nul-characters';

describe('findNulCharacter', () => {
  it('names the first string, key or array item holding U+0000, with its path', () => {
    expect(findNulCharacter({ a: 'x', b: { c: ['ok', 'n\u0000o'] } })).toBe('b.c[1]');
    expect(findNulCharacter({ tags: { 'k\u0000': 'v' } })).toBe('tags.k\\u0000');
    expect(findNulCharacter('a\u0000', 'file')).toBe('file');
    expect(findNulCharacter('a\u0000')).toBe('value');
  });

  it('finds nothing in clean values, numbers, booleans and null', () => {
    expect(findNulCharacter({ a: 'x', n: 1, b: true, z: null, l: ['\\u0000'] })).toBeUndefined();
    expect(findNulCharacter(undefined)).toBeUndefined();
  });
});
