// Runs in the playground page (see browser.test.ts): controls without a name, and text whose
// contrast with its background is under WCAG's 4.5:1.
() => {
const nameOf = (el) =>
  (el.getAttribute('aria-label') ?? el.labels?.[0]?.textContent ?? el.textContent ?? '').trim();
const unnamed = [...document.querySelectorAll('button, input, a[href]')]
  .filter((el) => el.offsetParent !== null && nameOf(el) === '')
  .map((el) => el.outerHTML.slice(0, 80));
const luminance = (rgb) => {
  const [r, g, b] = rgb.map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const parse = (color) => (color.match(/[\d.]+/g) ?? []).map(Number);
const background = (el) => {
  for (; el; el = el.parentElement) {
    const c = parse(getComputedStyle(el).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
  }
  return [255, 255, 255];
};
const lowContrast = [...document.querySelectorAll('button, .msg .body, .meta, .who, legend, label, h1, h2, output')]
  .filter((el) => el.offsetParent !== null && el.textContent.trim() !== '' && !el.disabled)
  .map((el) => {
    const [a, b] = [luminance(parse(getComputedStyle(el).color).slice(0, 3)), luminance(background(el))];
    return { el: el.outerHTML.slice(0, 60), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
  })
  .filter((r) => r.ratio < 4.5);
return { unnamed, lowContrast, lang: document.documentElement.lang, dir: document.documentElement.dir };
    }
