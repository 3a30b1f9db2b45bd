const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
// After escaping, so a link can neither close its attribute nor open a tag; `&amp;` stays valid inside href.
const LINK = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)]/g;

/**
 * The HTML part of a mail, made from its text part so the two always say the same thing: paragraphs from blank
 * lines, line breaks kept, links clickable, everything else escaped (an inviter's company name is user input).
 */
export function htmlFromText(subject: string, text: string): string {
  const paragraphs = text
    .trim()
    .split(/\n{2,}/)
    .map(
      (block) =>
        `<p>${escapeHtml(block)
          .replace(LINK, (url) => `<a href="${url}">${url}</a>`)
          .replace(/\n/g, '<br>')}</p>`,
    );
  return (
    '<!doctype html><html><head><meta charset="utf-8">' +
    `<title>${escapeHtml(subject)}</title></head>` +
    `<body style="font-family:sans-serif;line-height:1.5">${paragraphs.join('')}</body></html>`
  );
}
