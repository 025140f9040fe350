/** pg's own text encoding of a bind parameter (pg ships no types for its lib/ files). */
declare module 'pg/lib/utils.js' {
  const utils: { prepareValue(value: unknown): string | Buffer | null };
  export default utils;
}
