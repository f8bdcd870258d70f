/**
 * CSS for remote cursors and selections. y-monaco (and our extra-selection
 * decorations) only add the classes `yRemoteSelection-<clientID>` and
 * `yRemoteSelectionHead-<clientID>`; this colours them per participant and
 * puts the person's name on every cursor.
 * @module
 */
import { CSS_COLOR } from '@codecell/protocol';

/** What the styles need of a participant. */
export interface CursorOwner {
  readonly clientId: number;
  readonly name: string;
  readonly color: string;
}

/** A CSS string literal holding `text`, safe inside a stylesheet. */
export function cssString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f || ch === '<' || ch === '>') out += `\\${code.toString(16)} `;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * Rules for every remote participant; colours that do not pass
 * {@link CSS_COLOR} (the server checks too) get a neutral grey.
 * @example cursorCss([{ clientId: 7, name: 'Ada', color: '#30a46c' }])
 */
export function cursorCss(owners: readonly CursorOwner[]): string {
  return owners
    .filter((o) => Number.isSafeInteger(o.clientId) && o.clientId >= 0)
    .map((o) => {
      const color = CSS_COLOR.test(o.color) ? o.color : '#888888';
      const id = o.clientId;
      return [
        `.yRemoteSelection-${id}{background-color:color-mix(in srgb,${color} 28%,transparent);}`,
        `.yRemoteSelectionHead-${id}{border-color:${color};}`,
        `.yRemoteSelectionHead-${id}::after{content:${cssString(o.name)};background-color:${color};}`,
      ].join('\n');
    })
    .join('\n');
}
