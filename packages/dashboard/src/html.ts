/**
 * HTML built from template literals where every interpolated value is escaped unless it is already
 * `Html`: the pages show queue names, task names and error texts that anyone who can enqueue chooses.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

function piece(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(piece).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let text = strings[0]!;
  for (let i = 0; i < values.length; i++) text += piece(values[i]) + strings[i + 1]!;
  return new Html(text);
}

/** Trusted markup (built here, never from data). */
export function raw(text: string): Html {
  return new Html(text);
}
