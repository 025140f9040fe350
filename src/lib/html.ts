/**
 * The one escape for text that people typed (names, ticket texts, survey answers, campaign
 * texts...) before it goes into a message written in Telegram's HTML subset. Telegram needs only
 * these four; on Bale the platform adapter turns the whole message back into plain text.
 */
export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
