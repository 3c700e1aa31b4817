/**
 * PostgreSQL cannot store U+0000 in text or jsonb (and MLflow's store refuses it), so a string
 * holding one would pass validation and fail in the database as a 500 on the real backends.
 * Every string of a request (path parameters, query, body: keys and values alike) is checked
 * up front instead, and the request answered 400 naming the field.
 */
const NUL = '\u0000';

/** Walks `value` without recursion; bodies are at most 32 levels deep (see deferred-body-parser). */
export function findNulCharacter(value: unknown, root = ''): string | undefined {
  const stack: { value: unknown; path: string }[] = [{ value, path: root }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes(NUL)) return path === '' ? 'value' : path;
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (Array.isArray(current)) {
      current.forEach((item, index) => stack.push({ value: item, path: `${path}[${index}]` }));
      continue;
    }
    for (const [key, item] of Object.entries(current as Record<string, unknown>)) {
      const printable = key.replaceAll(NUL, '\\u0000');
      const here = path === '' ? printable : `${path}.${printable}`;
      if (key.includes(NUL)) return here;
      stack.push({ value: item, path: here });
    }
  }
  return undefined;
}

export const nulMessage = (field: string): string =>
  `${field} must not contain the NUL character (\\u0000)`;
