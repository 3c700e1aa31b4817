/*
 * Comments (on stage requests and decisions): one that is empty or only whitespace says
 * nothing. An optional comment like that is read as absent (stored and shown as null), so a
 * form's empty field is no error; a required one (a rejection's reason) is refused with a 400
 * naming it.
 */

/** @Transform for an optional comment: blank is absent. */
export const blankAsAbsent = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** Some character that is not whitespace (the same whitespace String.prototype.trim removes). */
export const NOT_BLANK = /\S/;
export const NOT_BLANK_MESSAGE = 'must contain more than whitespace';
