const PERSIAN = '۰۱۲۳۴۵۶۷۸۹';
const ARABIC = '٠١٢٣٤٥٦٧٨٩';

/** Persian (۰-۹) and Arabic-Indic (٠-٩) digits, and the Arabic separators, to ASCII. */
export function toLatinDigits(s: string): string {
  return s.replace(/[۰-۹٠-٩٫٬]/g, (c) => {
    if (c === '٫') return '.';
    if (c === '٬') return ',';
    const p = PERSIAN.indexOf(c);
    return String(p >= 0 ? p : ARABIC.indexOf(c));
  });
}

export function toPersianDigits(s: string): string {
  return s.replace(/[0-9]/g, (d) => PERSIAN[Number(d)]!);
}
