import { afterEach } from 'vitest';
import { assertNoFormattingViolations } from './fake-bot-api.ts';

// One guard for every test that talks to the fake Bot API: markup sent without parse_mode fails it.
afterEach(() => assertNoFormattingViolations());
