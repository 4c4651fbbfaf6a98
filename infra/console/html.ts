/**
 * HTML for the console, escaped by construction: the `html` template escapes
 * every value it is given unless the value is itself `Html` (made by `html`).
 * Payloads, headers, ids and reasons are attacker-controlled; none of them can
 * reach a page unescaped.
 */

/** A fragment of markup that is already safe to write out. */
export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for an element's content and for a quoted attribute value. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/** What a value in an `html` template becomes: nothing for null, undefined and false; arrays joined. */
function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (value === undefined || value === null || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Markup with every interpolated value escaped (unless it is `Html`). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Trusted markup written by this module's callers, never from a request or a record. */
export const raw = (markup: string): Html => new Html(markup);

/** The page being shown; `delivery` and `error` have no entry in the navigation. */
export type Page = 'timeline' | 'delivery' | 'subscribers' | 'providers' | 'error';

const NAV: ReadonlyArray<{ page: Page; href: string; label: string }> = [
  { page: 'timeline', href: '/', label: 'Timeline' },
  { page: 'subscribers', href: '/subscribers', label: 'Subscribers' },
  { page: 'providers', href: '/providers', label: 'Providers' },
];

/** What an action left to say on the page it returns to. */
export interface Notice {
  readonly ok: boolean;
  readonly text: string;
  /** A link to follow up with. */
  readonly link?: { readonly href: string; readonly label: string };
  /** Text to show as it is (an answer's body). */
  readonly detail?: string;
}

export function noticeHtml(notice: Notice | undefined): Html {
  if (!notice) return html``;
  return html`<div class="notice ${notice.ok ? 'ok' : 'error'}" role="${notice.ok ? 'status' : 'alert'}" id="notice">
  <p>${notice.text}${notice.link ? html` <a href="${notice.link.href}">${notice.link.label}</a>` : ''}</p>
  ${notice.detail !== undefined ? html`<pre class="detail">${notice.detail}</pre>` : ''}
</div>`;
}

/** The shared layout: skip link, navigation between the pages, the page's main content. */
export function layout(options: {
  readonly title: string;
  readonly page: Page;
  readonly where: string;
  readonly writable: boolean;
  readonly body: Html;
  readonly notice?: Notice;
  /** Extra attributes of <body>, for the script: already escaped. */
  readonly bodyData?: Html;
}): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · hookonce console</title>
<link rel="stylesheet" href="/assets/console.css">
<script type="module" src="/assets/console.js"></script>
</head>
<body${options.bodyData ?? ''}>
<a class="skip" href="#main">Skip to content</a>
<header>
  <p class="brand">hookonce console <span class="where">${options.where}${options.writable ? '' : ' · read-only'}</span></p>
  <nav aria-label="Pages">
    <ul>
      ${NAV.map(
        (n) =>
          html`<li><a href="${n.href}"${n.page === options.page ? raw(' aria-current="page"') : ''}>${n.label}</a></li>`,
      )}
    </ul>
  </nav>
</header>
<main id="main" tabindex="-1">
${noticeHtml(options.notice)}
${options.body}
</main>
</body>
</html>
`;
}

/** A time as the pages show it: ISO 8601 in UTC, to the millisecond. */
export const isoTime = (ms: number): string => new Date(ms).toISOString();

/** The timeline's short time, `HH:MM:SS` in UTC (the full time is the element's datetime). */
export const clockTime = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

export function timeHtml(ms: number | undefined, short = false): Html {
  if (ms === undefined) return html`<span class="none">—</span>`;
  const iso = isoTime(ms);
  return html`<time datetime="${iso}"${short ? html` title="${iso}"` : ''}>${short ? clockTime(ms) : iso}</time>`;
}
