import type { StaffRole } from '../../db/schema.ts';
import type { Speech } from '../context.ts';

/** /help for staff: what members see, then one line per command, grouped by the role that may use it. */
export function staffHelp({ t }: Pick<Speech, 't'>, role: StaffRole): string {
  const sections = ['cashier', ...(role === 'cashier' ? [] : ['manager']), ...(role === 'owner' ? ['owner'] : [])];
  return [t('panel.help_title'), '', ...sections.map((s) => t(`panel.help_${s}`)), t('panel.help_panel')].join('\n\n');
}

/** /help: a member's help, and for staff their commands too. */
export function helpText(speech: Pick<Speech, 't'>, role: StaffRole | null): string {
  return role ? `${speech.t('help.body')}\n\n${staffHelp(speech, role)}` : speech.t('help.body');
}
