// ANSI colours for the table output, only for a person at a terminal (https://no-color.org).
export interface Palette {
  good(text: string): string;
  bad(text: string): string;
  warn(text: string): string;
  dim(text: string): string;
}

const plain = (text: string): string => text;
const PLAIN: Palette = { good: plain, bad: plain, warn: plain, dim: plain };

const paint = (code: number) => (text: string): string => `\u001b[${code}m${text}\u001b[0m`;
const ANSI: Palette = { good: paint(32), bad: paint(31), warn: paint(33), dim: paint(2) };

export function paletteFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Palette {
  const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  return stream.isTTY === true && !noColor ? ANSI : PLAIN;
}
