/** Domain errors carry an i18n key; the bot boundary turns them into a localized answer. */
export class ClubError extends Error {
  constructor(
    readonly i18nKey: string,
    readonly params: Record<string, unknown> = {},
    /** What went wrong underneath (a parser's error...), for the log: the person sees the key. */
    options?: { cause?: unknown },
  ) {
    super(i18nKey, options);
    this.name = new.target.name;
  }
}

export class NotStaff extends ClubError {
  constructor() {
    super('errors.not_staff');
  }
}

export class MemberNotFound extends ClubError {
  constructor() {
    super('errors.member_not_found');
  }
}

/** PostgreSQL unique_violation, optionally on one constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string } | null;
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

export class InsufficientBalance extends ClubError {
  constructor(currency: 'points' | 'credit', balance: number) {
    super(currency === 'points' ? 'errors.insufficient_points' : 'errors.insufficient_credit', { balance });
  }
}
