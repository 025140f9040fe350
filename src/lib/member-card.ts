import { createCanvas, loadImage } from '@napi-rs/canvas';
import QRCode from 'qrcode';
import type { Locale } from '../db/schema.ts';
import { FONT_FAMILY, rtlText } from './chart.ts';

export interface MemberCardSpec {
  clubName: string;
  /** The club's logo (PNG/JPEG bytes), when the owner set one. */
  logo?: Buffer | null;
  memberName: string;
  /** The member number as shown (Persian digits in fa). */
  number: string;
  numberLabel: string;
  tierName: string;
  tierCode: string;
  /** What the QR code carries: the card's deep link. */
  qrText: string;
  locale: Locale;
}

/** Each tier's colour on the card (unknown tiers get the club's blue). */
const TIER_COLORS: Record<string, string> = { bronze: '#a0643c', silver: '#7d8a96', gold: '#c9a227', platinum: '#4a5a78' };

const W = 1000;
const H = 560;
const QR_BOX = 440;

/**
 * The member card as a branded image: the club's name and logo on a band of the member's tier
 * colour, the member's name, number and tier, and the QR the cashier scans. The QR is drawn module
 * by module in black on white with a quiet zone, so any phone camera reads it.
 */
export async function renderMemberCard(spec: MemberCardSpec): Promise<Buffer> {
  const canvas = createCanvas(W, H);
  const ctx = canvas.getContext('2d');
  const color = TIER_COLORS[spec.tierCode] ?? '#2f6fdf';
  const rtl = spec.locale === 'fa';
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, W, H);
  ctx.fillStyle = color;
  ctx.fillRect(0, 0, W, 120);

  // The band: logo and club name, from the right in Persian.
  let textEdge = rtl ? W - 40 : 40;
  if (spec.logo) {
    try {
      const logo = await loadImage(spec.logo);
      const size = 88;
      const x = rtl ? W - 40 - size : 40;
      ctx.drawImage(logo, x, 16, size, size);
      textEdge = rtl ? x - 20 : x + size + 20;
    } catch {
      // A logo that cannot be read is left out; the card is still usable.
    }
  }
  ctx.fillStyle = '#ffffff';
  ctx.font = `bold 44px ${FONT_FAMILY}`;
  ctx.textAlign = rtl ? 'right' : 'left';
  ctx.textBaseline = 'middle';
  ctx.fillText(rtlText(spec.clubName, spec.locale), textEdge, 62, W - QR_BOX);

  // The QR on the left (Persian) or right (English), the member's details on the other side.
  const qr = QRCode.create(spec.qrText, { errorCorrectionLevel: 'M' });
  const modules = qr.modules.size;
  const cell = Math.floor((QR_BOX - 40) / (modules + 8));
  const qrSize = cell * (modules + 8);
  const qrX = rtl ? 40 : W - 40 - qrSize;
  const qrY = 120 + Math.floor((H - 120 - qrSize) / 2);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(qrX, qrY, qrSize, qrSize);
  ctx.fillStyle = '#000000';
  for (let r = 0; r < modules; r++) {
    for (let c = 0; c < modules; c++) {
      if (qr.modules.get(r, c)) ctx.fillRect(qrX + (c + 4) * cell, qrY + (r + 4) * cell, cell, cell);
    }
  }

  const x = rtl ? W - 40 : 40;
  ctx.textAlign = rtl ? 'right' : 'left';
  ctx.fillStyle = '#222222';
  ctx.font = `bold 48px ${FONT_FAMILY}`;
  ctx.fillText(rtlText(spec.memberName, spec.locale), x, 220, W - qrSize - 120);
  ctx.font = `34px ${FONT_FAMILY}`;
  ctx.fillStyle = '#444444';
  ctx.fillText(rtlText(`${spec.numberLabel} ${spec.number}`, spec.locale), x, 300, W - qrSize - 120);
  // The tier as a coloured pill.
  ctx.font = `bold 32px ${FONT_FAMILY}`;
  const tierWidth = ctx.measureText(spec.tierName).width + 48;
  const pillX = rtl ? x - tierWidth : x;
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.roundRect(pillX, 360, tierWidth, 60, 30);
  ctx.fill();
  ctx.fillStyle = '#ffffff';
  ctx.textAlign = 'center';
  ctx.fillText(rtlText(spec.tierName, spec.locale), pillX + tierWidth / 2, 391);
  return canvas.encode('png');
}
