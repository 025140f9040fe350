/**
 * Re-derives a lottery's winners from its published proof alone (the file members download after
 * the draw: ticket list, digest, seed, winners) and fails on a tampered list, seed or result.
 *
 *   npm run verify-lottery -- lottery-12.json [--commitment <hex>] [--digest <hex>]
 *
 * --commitment and --digest are the values announced before the draw (the commitment) and at it
 * (the list digest): with them, a file rewritten consistently from scratch fails too.
 * The algorithm: src/club/lottery-proof.ts and README "Lotteries".
 */
import { readFileSync } from 'node:fs';
import { checkProof, commitmentOf, type LotteryProof } from '../src/club/lottery-proof.ts';

function main(argv: string[]): number {
  const args = [...argv];
  const announced: { commitment?: string; digest?: string } = {};
  const files: string[] = [];
  while (args.length) {
    const arg = args.shift()!;
    if (arg === '--commitment') announced.commitment = args.shift() ?? '';
    else if (arg === '--digest') announced.digest = args.shift() ?? '';
    else files.push(arg);
  }
  if (files.length !== 1) {
    console.error('usage: npm run verify-lottery -- <proof.json> [--commitment <hex>] [--digest <hex>]');
    return 2;
  }
  let proof: LotteryProof;
  try {
    proof = JSON.parse(readFileSync(files[0]!, 'utf8')) as LotteryProof;
  } catch (error) {
    console.error(`cannot read ${files[0]}: ${(error as Error).message}`);
    return 2;
  }
  const problem = checkProof(proof, announced);
  if (problem) {
    console.error(`NOT VERIFIED: ${problem}`);
    return 1;
  }
  const tickets = proof.tickets.reduce((s, t) => s + t.tickets, 0);
  console.log(`Lottery ${proof.lottery} "${proof.title}": verified.`);
  console.log(`commitment  ${proof.commitment} = SHA-256(seed ${proof.seed.slice(0, 8)}…) ${commitmentOf(proof.seed) === proof.commitment ? 'ok' : ''}`);
  console.log(`list digest ${proof.list_digest} (${proof.tickets.length} members, ${tickets} tickets)`);
  for (const w of proof.winners) console.log(`  ${proof.prizes[w.prize]?.title ?? `prize ${w.prize + 1}`}: member ${w.member} (ticket ${w.ticket})`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
