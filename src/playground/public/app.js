import { renderText } from './render.js';

// The playground page: one column per person, each a chat with the club's bot as the messenger
// shows it. Everything it shows comes from the server's event stream; everything a person does is
// a POST the emulator turns into a Bot API update.

let strings = {};
let state = null;
let platform = localStorage.getItem('playground.platform') === 'bale' ? 'bale' : 'telegram';
const $ = (id) => document.getElementById(id);

function s(key, vars = {}) {
  const text = strings[key] ?? key;
  return text.replace(/\{\{(\w+)\}\}/g, (_, name) => String(vars[name] ?? ''));
}

function number(n) {
  return new Intl.NumberFormat(state?.language === 'en' ? 'en-US' : 'fa-IR').format(n);
}

function dateTime(date, withDate) {
  const locale = state?.language === 'en' ? 'en-GB' : 'fa-IR-u-ca-persian';
  const options = withDate ? { dateStyle: 'medium', timeStyle: 'short' } : { hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale, { ...options, timeZone: state?.timeZone ?? 'Asia/Tehran' }).format(date);
}

async function post(path, body = {}) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const result = await response.json();
  if (!response.ok) throw Object.assign(new Error(result.description ?? response.statusText), { code: result.description });
  return result;
}

function status(text) {
  $('status').textContent = text;
}

async function act(path, body) {
  try {
    return await post(path, body);
  } catch (error) {
    status(s('failed', { reason: error.message }));
    throw error;
  }
}

async function loadStrings(language) {
  strings = await (await fetch(`/api/strings?lang=${language}`)).json();
  document.documentElement.lang = language;
  document.documentElement.dir = language === 'fa' ? 'rtl' : 'ltr';
  document.title = s('title');
  const text = {
    title: 'title', intro: 'intro', 'controls-title': 'controls', 'messenger-legend': 'messenger', 'language-legend': 'language',
    'ff-legend': 'fast_forward', 'ff-day': 'plus_day', 'ff-week': 'plus_week', 'ff-month': 'plus_month', seed: 'seed',
    'add-customer': 'add_customer', 'link-dialog-title': 'open_link', 'link-dialog-cancel': 'cancel', 'scan-dialog-title': 'scan_from',
    'scan-dialog-cancel': 'cancel',
  };
  for (const [id, key] of Object.entries(text)) $(id).textContent = s(key);
  for (const el of document.querySelectorAll('[data-s]')) el.textContent = s(el.dataset.s);
  $('chats').setAttribute('aria-label', s('chats'));
}

// ---- rendering ----

function chatOf(persona) {
  return persona.chats[platform];
}

function renderAll() {
  document.body.dataset.platform = platform;
  for (const input of document.querySelectorAll('input[name=platform]')) input.checked = input.value === platform;
  for (const input of document.querySelectorAll('input[name=language]')) input.checked = input.value === state.language;
  $('clock').textContent = s('clock', { date: dateTime(new Date(state.now), true) });
  const main = $('chats');
  const focused = focusKey();
  const drafts = new Map([...main.querySelectorAll('.composer input')].map((i) => [i.id, i.value]));
  main.replaceChildren(...state.personas.map(renderColumn));
  // A new column opens at its newest message, as a messenger does (it can only scroll once attached).
  for (const log of main.querySelectorAll('.log')) log.scrollTop = log.scrollHeight;
  for (const [id, value] of drafts) if ($(id)) $(id).value = value;
  restoreFocus(focused);
}

function renderColumn(persona) {
  const chat = chatOf(persona);
  const section = document.createElement('section');
  section.className = 'chat';
  section.dataset.persona = persona.key;
  section.dataset.chat = chat.key;
  section.setAttribute('aria-labelledby', `name-${persona.key}`);

  const header = document.createElement('header');
  const avatar = document.createElement('span');
  avatar.className = 'avatar';
  avatar.setAttribute('aria-hidden', 'true');
  avatar.textContent = persona.name.slice(0, 1);
  const who = document.createElement('div');
  const name = document.createElement('h2');
  name.id = `name-${persona.key}`;
  name.textContent = `${persona.name} · ${s(`role_${persona.role}`)}`;
  const phone = document.createElement('div');
  phone.className = 'who';
  const bdi = document.createElement('bdi');
  bdi.textContent = persona.phone;
  phone.append(bdi);
  who.append(name, phone);
  header.append(avatar, who);
  if (persona.role === 'cashier' || persona.role === 'owner') {
    const scan = document.createElement('button');
    scan.type = 'button';
    scan.className = 'scan';
    scan.textContent = `📷 ${s('scan')}`;
    scan.addEventListener('click', () => openScanDialog(persona));
    header.append(scan);
  }

  const log = document.createElement('div');
  log.className = 'log';
  log.setAttribute('role', 'log');
  log.setAttribute('aria-label', persona.name);
  log.tabIndex = 0;

  const keyboard = document.createElement('div');
  keyboard.className = 'reply-kb';
  keyboard.setAttribute('role', 'group');
  keyboard.setAttribute('aria-label', s('keyboard'));

  const form = document.createElement('form');
  form.className = 'composer';
  const label = document.createElement('label');
  label.className = 'visually-hidden';
  label.htmlFor = `input-${persona.key}`;
  label.textContent = s('message_label', { name: persona.name });
  const input = document.createElement('input');
  input.id = `input-${persona.key}`;
  input.autocomplete = 'off';
  input.dir = 'auto';
  const send = document.createElement('button');
  send.type = 'submit';
  send.className = 'primary';
  send.textContent = s('send');
  form.append(label, input, send);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    await act(`/api/chats/${chatOf(persona).key}/send`, { text });
  });

  section.append(header, log, keyboard, form);
  fillChat(section, persona, chat);
  return section;
}

function fillChat(section, persona, chat) {
  const log = section.querySelector('.log');
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  if (chat.messages.length === 0) {
    const start = document.createElement('button');
    start.type = 'button';
    start.className = 'primary empty';
    start.textContent = s('start');
    start.dataset.focus = `${chat.key}:start`;
    start.addEventListener('click', () => act(`/api/chats/${chat.key}/send`, { text: '/start' }));
    log.replaceChildren(start);
  } else {
    log.replaceChildren(...chat.messages.map((m) => renderMessage(chat, m)));
  }
  if (nearBottom || log.dataset.count !== String(chat.messages.length)) log.scrollTop = log.scrollHeight;
  log.dataset.count = String(chat.messages.length);

  const keyboard = section.querySelector('.reply-kb');
  keyboard.hidden = !chat.replyKeyboard;
  keyboard.replaceChildren(
    ...(chat.replyKeyboard ?? []).map((row, r) => {
      const line = document.createElement('div');
      line.className = 'row';
      for (const [c, button] of row.entries()) {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = button.text;
        b.dataset.focus = `${chat.key}:kb:${r}:${c}`;
        b.addEventListener('click', () =>
          button.request_contact ? act(`/api/chats/${chat.key}/contact`) : act(`/api/chats/${chat.key}/send`, { text: button.text }),
        );
        line.append(b);
      }
      return line;
    }),
  );
}

function renderMessage(chat, m) {
  const bubble = document.createElement('article');
  bubble.className = `msg ${m.from}`;
  bubble.dataset.messageId = String(m.id);
  bubble.setAttribute('aria-label', m.from === 'bot' ? s('bot') : s('you'));
  if (m.photo) {
    const img = document.createElement('img');
    img.src = `/media/${m.photo}`;
    img.alt = s('photo');
    img.width = 240;
    img.height = 240;
    bubble.append(img);
  }
  if (m.document) {
    const a = document.createElement('a');
    a.className = 'doc';
    a.href = `/media/${m.document.media}?download`;
    a.download = m.document.name;
    a.textContent = `📄 ${m.document.name}`;
    a.setAttribute('aria-label', s('download', { name: m.document.name }));
    bubble.append(a);
  }
  const text = m.text ?? m.caption;
  if (text !== undefined || m.contact) {
    const body = document.createElement('div');
    body.className = 'body';
    body.dir = 'auto';
    if (m.contact) body.textContent = s('shared_contact', { phone: m.contact });
    else body.append(renderText(text, m.html && chat.platform === 'telegram'));
    bubble.append(body);
  }
  if (m.inline?.length) {
    const rows = document.createElement('div');
    rows.className = 'inline';
    for (const [r, row] of m.inline.entries()) {
      const line = document.createElement('div');
      line.className = 'row';
      for (const [c, button] of row.entries()) {
        let el;
        if (button.url) {
          el = document.createElement('a');
          el.className = 'button';
          el.href = button.url;
          el.target = '_blank';
          el.rel = 'noopener';
        } else {
          el = document.createElement('button');
          el.type = 'button';
          if (button.callback_data !== undefined) {
            el.addEventListener('click', () => act(`/api/chats/${chat.key}/press`, { messageId: m.id, data: button.callback_data }));
          } else el.disabled = true;
        }
        el.textContent = button.text;
        el.dataset.focus = `${chat.key}:${m.id}:${r}:${c}`;
        line.append(el);
      }
      rows.append(line);
    }
    bubble.append(rows);
  }
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.textContent = `${m.edited ? `${s('edited')} · ` : ''}${dateTime(new Date(m.date * 1000), false)}`;
  bubble.append(meta);
  return bubble;
}

function focusKey() {
  return document.activeElement?.dataset?.focus ?? null;
}

function restoreFocus(key) {
  if (!key) return;
  const el = document.querySelector(`[data-focus="${CSS.escape(key)}"]`);
  if (el) el.focus({ preventScroll: true });
}

function updateChat(view) {
  for (const persona of state.personas) {
    for (const p of ['telegram', 'bale']) if (persona.chats[p].key === view.key) persona.chats[p] = view;
  }
  const section = document.querySelector(`.chat[data-chat="${CSS.escape(view.key)}"]`);
  if (!section) return;
  const persona = state.personas.find((p) => p.key === section.dataset.persona);
  const focused = focusKey();
  fillChat(section, persona, view);
  restoreFocus(focused);
}

function toast({ key, text, alert }) {
  const section = document.querySelector(`.chat[data-chat="${CSS.escape(key)}"]`);
  if (!section) return;
  const box = document.createElement('div');
  box.className = `toast${alert ? ' alert' : ''}`;
  box.setAttribute('role', alert ? 'alert' : 'status');
  box.textContent = text;
  section.append(box);
  setTimeout(() => box.remove(), alert ? 4000 : 2500);
}

// ---- dialogs: the phone camera, and a link opened by someone ----

function peopleButtons(container, people, onPick, dialog) {
  container.replaceChildren(
    ...people.map((persona) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = `${persona.name} · ${s(`role_${persona.role}`)}`;
      b.addEventListener('click', async () => {
        dialog.close();
        await onPick(persona);
      });
      return b;
    }),
  );
}

function openScanDialog(staff) {
  const dialog = $('scan-dialog');
  const customers = state.personas.filter((p) => p.role === 'customer');
  peopleButtons($('scan-dialog-people'), customers, async (customer) => {
    try {
      await post(`/api/chats/${chatOf(staff).key}/scan`, { from: chatOf(customer).key });
      status('');
    } catch (error) {
      status(error.code === 'no_card' ? s('no_card', { name: customer.name }) : s('failed', { reason: error.message }));
    }
  }, dialog);
  dialog.showModal();
}

function openLinkDialog(url) {
  const dialog = $('link-dialog');
  $('link-dialog-url').textContent = url;
  peopleButtons($('link-dialog-people'), state.personas, async (persona) => {
    const target = new URL(url).hostname === 'ble.ir' ? 'bale' : 'telegram';
    if (target !== platform) return status(s('other_platform'));
    try {
      await post(`/api/chats/${persona.chats[target].key}/open`, { url });
      status('');
    } catch (error) {
      status(error.code === 'other_platform' ? s('other_platform') : s('failed', { reason: error.message }));
    }
  }, dialog);
  dialog.showModal();
}

document.addEventListener('click', (event) => {
  const a = event.target.closest?.('.log a[href]');
  if (!a) return;
  const url = new URL(a.href);
  // A link to the club's bot opens in a chat of the playground, as it would in the messenger.
  if ((url.hostname === 't.me' || url.hostname === 'ble.ir') && url.pathname.split('/').length === 2) {
    event.preventDefault();
    openLinkDialog(a.href);
  } else if (!a.hasAttribute('download')) {
    a.target = '_blank';
    a.rel = 'noopener';
  }
});

// ---- controls ----

for (const input of document.querySelectorAll('input[name=platform]')) {
  input.addEventListener('change', () => {
    platform = input.value;
    localStorage.setItem('playground.platform', platform);
    renderAll();
  });
}
for (const input of document.querySelectorAll('input[name=language]')) {
  input.addEventListener('change', async () => {
    await act('/api/language', { language: input.value });
    state.language = input.value;
    await loadStrings(input.value);
    renderAll();
  });
}
for (const button of document.querySelectorAll('[data-days]')) {
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await act('/api/clock', { days: Number(button.dataset.days) });
      status(s('moved'));
    } finally {
      button.disabled = false;
    }
  });
}
$('seed').addEventListener('click', async () => {
  const button = $('seed');
  button.disabled = true;
  status(s('seeding'));
  try {
    const result = await act('/api/seed');
    status(result.seeded ? s('seeded', { members: number(result.members), purchases: number(result.purchases) }) : s('already_seeded'));
  } finally {
    button.disabled = false;
  }
});
$('add-customer').addEventListener('click', async () => {
  const { persona } = await act('/api/customers');
  requestAnimationFrame(() => document.querySelector(`.chat[data-persona="${persona.key}"]`)?.scrollIntoView({ behavior: 'smooth', inline: 'start' }));
});

// ---- the event stream ----

function connect() {
  const events = new EventSource('/api/events');
  events.addEventListener('state', async (event) => {
    const next = JSON.parse(event.data);
    const languageChanged = !state || next.language !== state.language;
    state = next;
    if (languageChanged) await loadStrings(state.language);
    renderAll();
    document.body.dataset.ready = 'true';
  });
  events.addEventListener('chat', (event) => state && updateChat(JSON.parse(event.data)));
  events.addEventListener('toast', (event) => toast(JSON.parse(event.data)));
  events.addEventListener('open', () => status(''));
  events.addEventListener('error', () => status(s('reconnecting')));
}

connect();
