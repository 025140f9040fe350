import { createHash, createHmac } from 'node:crypto';

/**
 * The draw of a lottery as anyone can re-derive it (README "Lotteries"). Pure: no database, so
 * scripts/verify-lottery.ts runs the very code the club ran.
 *
 * 1. At creation the club draws a secret 32-byte seed and publishes commitment = SHA-256(seed).
 * 2. At the draw the ticket list (member number and ticket count, ascending by member) is frozen
 *    and digest = SHA-256 of its canonical text (canonicalList) is published.
 * 3. Winners: the blocks HMAC-SHA256(key = seed, digest || counter as 4 bytes big-endian),
 *    counter = 0, 1, 2, ..., are read as 64-bit big-endian numbers x. A draw among R tickets still
 *    in play rejects x >= floor(2^64 / R) * R (so no ticket is favoured) and otherwise takes
 *    ticket x mod R, counting the tickets in play in list order. Prizes are drawn in their order,
 *    `count` times each. The winning ticket leaves play; with unique winners all of the winner's
 *    tickets do. When no ticket is left the remaining prizes stay undrawn.
 * 4. The seed is revealed; SHA-256(seed) must equal the commitment.
 */

export const PROOF_FORMAT = 'bashgah-lottery/1';

export interface TicketLine {
  member: number;
  tickets: number;
}

export interface Winner {
  /** 0-based order of the draw. */
  position: number;
  /** Index into the prizes. */
  prize: number;
  member: number;
  /** The winning ticket, numbered from 0 across the frozen list in its order. */
  ticket: number;
}

export interface DrawInput {
  lottery: number;
  commitment: string;
  prizes: { count: number }[];
  unique_winners: boolean;
  tickets: TicketLine[];
}

/** The file members download after the draw: everything needed to check it, and nothing personal. */
export interface LotteryProof extends DrawInput {
  format: typeof PROOF_FORMAT;
  title: string;
  prizes: { title: string; count: number }[];
  list_digest: string;
  seed: string;
  winners: Winner[];
}

export const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** The commitment published at creation. */
export function commitmentOf(seedHex: string): string {
  return sha256Hex(Buffer.from(seedHex, 'hex'));
}

/** The text the digest is taken of: the draw's rules, then one "member tickets" line per member. */
export function canonicalList(input: DrawInput): string {
  const lines = [
    PROOF_FORMAT,
    `lottery ${input.lottery}`,
    `commitment ${input.commitment}`,
    `prizes ${input.prizes.map((p) => p.count).join(',')}`,
    `unique ${input.unique_winners ? 1 : 0}`,
    ...input.tickets.map((t) => `${t.member} ${t.tickets}`),
  ];
  return `${lines.join('\n')}\n`;
}

export function listDigest(input: DrawInput): string {
  return sha256Hex(canonicalList(input));
}

const TWO_64 = 1n << 64n;

/** The winners, deterministically from the seed and the frozen list. */
export function deriveWinners(seedHex: string, input: DrawInput): Winner[] {
  const seed = Buffer.from(seedHex, 'hex');
  const digest = Buffer.from(listDigest(input), 'hex');
  let counter = 0;
  const uniform = (range: bigint): bigint => {
    const limit = (TWO_64 / range) * range;
    for (;;) {
      const block = Buffer.alloc(4);
      block.writeUInt32BE(counter++);
      const x = createHmac('sha256', seed).update(digest).update(block).digest().readBigUInt64BE(0);
      if (x < limit) return x % range;
    }
  };

  const starts: number[] = [];
  let total = 0;
  for (const t of input.tickets) {
    starts.push(total);
    total += t.tickets;
  }
  // Tickets still in play per member, and the winning tickets taken out of each member's block.
  const left = input.tickets.map((t) => t.tickets);
  const taken = input.tickets.map((): number[] => []);
  let inPlay = total;
  const winners: Winner[] = [];
  for (const [prize, { count }] of input.prizes.entries()) {
    for (let c = 0; c < count && inPlay > 0; c++) {
      let r = Number(uniform(BigInt(inPlay)));
      let i = 0;
      while (r >= left[i]!) r -= left[i++]!;
      // The r-th ticket of member i still in play, as its number in the frozen list.
      let ticket = starts[i]! + r;
      for (const t of taken[i]!) if (t <= ticket) ticket++;
      winners.push({ position: winners.length, prize, member: input.tickets[i]!.member, ticket });
      if (input.unique_winners) {
        inPlay -= left[i]!;
        left[i] = 0;
      } else {
        taken[i]!.push(ticket);
        taken[i]!.sort((a, b) => a - b);
        left[i]!--;
        inPlay--;
      }
    }
  }
  return winners;
}

/** Why a proof does not hold, or null when it does. */
export function checkProof(proof: LotteryProof, announced: { commitment?: string; digest?: string } = {}): string | null {
  if (proof.format !== PROOF_FORMAT) return `unknown format ${String(proof.format)}`;
  if (!/^[0-9a-f]{64}$/.test(proof.seed ?? '')) return 'the seed is not 32 bytes of hex';
  if (commitmentOf(proof.seed) !== proof.commitment) return 'the seed does not match the commitment';
  if (announced.commitment && announced.commitment.toLowerCase() !== proof.commitment) return 'the commitment is not the one announced';
  let previous = -Infinity;
  for (const t of proof.tickets) {
    if (!Number.isSafeInteger(t.member) || !Number.isSafeInteger(t.tickets) || t.tickets <= 0 || t.member <= previous) return `bad ticket line ${JSON.stringify(t)}`;
    previous = t.member;
  }
  if (listDigest(proof) !== proof.list_digest) return 'the ticket list does not match its digest';
  if (announced.digest && announced.digest.toLowerCase() !== proof.list_digest) return 'the list digest is not the one announced';
  const derived = deriveWinners(proof.seed, proof);
  const same = derived.length === proof.winners.length && derived.every((w, i) => {
    const p = proof.winners[i]!;
    return w.position === p.position && w.prize === p.prize && w.member === p.member && w.ticket === p.ticket;
  });
  return same ? null : 'the winners do not follow from the seed and the list';
}
