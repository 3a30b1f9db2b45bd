import { describe, expect, it } from 'vitest';
import { htmlFromText } from '../../src/lib/mail-html.ts';

describe('the HTML part of a mail', () => {
  it('escapes what people typed, keeps paragraphs and line breaks, and makes links clickable', () => {
    const html = htmlFromText(
      'Join <Acme>',
      'Hello,\n\nAcme <script>alert(1)</script> & Co invited you.\n\nAccept at https://app.example.com/invitations/a_b-C.\nThanks',
    );
    expect(html).toContain('<title>Join &lt;Acme&gt;</title>');
    expect(html).toContain('<p>Hello,</p>');
    expect(html).toContain('Acme &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co invited you.');
    expect(html).not.toContain('<script>');
    // The sentence's full stop is not part of the link.
    expect(html).toContain(
      '<p>Accept at <a href="https://app.example.com/invitations/a_b-C">https://app.example.com/invitations/a_b-C</a>.<br>Thanks</p>',
    );
  });

  it('cannot be made to open an attribute or a tag through a link', () => {
    const html = htmlFromText('x', 'https://evil.example/"onmouseover="alert(1) and https://ok.example/?a=1&b=2');
    expect(html).not.toMatch(/href="[^"]*"on/);
    expect(html).toContain('<a href="https://ok.example/?a=1&amp;b=2">');
  });
});
