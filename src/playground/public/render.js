// Renders a bot's text as the messenger does: Telegram's HTML subset (anything else is shown as
// text, never as markup), or plain text (Bale, or a message without parse_mode). Links are live.

const TAGS = {
  b: 'strong', strong: 'strong', i: 'em', em: 'em', u: 'u', ins: 'u', s: 's', strike: 's', del: 's',
  code: 'code', pre: 'pre', blockquote: 'blockquote', a: 'a', span: 'span', 'tg-spoiler': 'span', 'tg-emoji': 'span',
};
const URL_RE = /(https?:\/\/[^\s<>"'«»]+[^\s<>"'«».,;:!?؟،)\]])/g;

function linkify(text, parent) {
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    const a = document.createElement('a');
    a.href = match[0];
    a.textContent = match[0];
    a.dir = 'ltr';
    parent.append(a);
    last = match.index + match[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

function walk(source, parent) {
  for (const node of source.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      if (parent.tagName === 'A') parent.append(node.textContent);
      else linkify(node.textContent, parent);
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = node.tagName.toLowerCase();
    const el = document.createElement(TAGS[tag] ?? 'span');
    if (tag === 'a') {
      const href = node.getAttribute('href') ?? '';
      if (/^(https?:|tg:)/i.test(href)) el.href = href;
    }
    if (tag === 'tg-spoiler' || node.getAttribute('class') === 'tg-spoiler') {
      el.className = 'spoiler';
      el.tabIndex = 0;
    }
    walk(node, el);
    parent.append(el);
  }
}

/** A DOM fragment for the text: HTML parsed inertly (DOMParser runs no script, loads nothing). */
export function renderText(text, html) {
  const fragment = document.createDocumentFragment();
  if (!html) {
    linkify(text, fragment);
    return fragment;
  }
  const doc = new DOMParser().parseFromString(`<body>${text}</body>`, 'text/html');
  walk(doc.body, fragment);
  return fragment;
}
