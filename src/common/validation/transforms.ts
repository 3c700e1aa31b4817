/** class-transformer: a string query or body value in lower case (stages are case-insensitive). */
export const lowerCase = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.toLowerCase() : value;
