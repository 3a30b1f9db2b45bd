import type { Transporter } from 'nodemailer';
import { htmlFromText } from './mail-html.ts';

export type MailMessage = { to: string; subject: string; text: string };

/**
 * The transport only: SMTP when SMTP_URL is set, otherwise `keep` (the outbox table the CLI shows). Nothing sends
 * through this directly: a mail is a job written in the transaction of the change that causes it (modules/mail),
 * and the job runner delivers it, with retries.
 */
export function createMailer(deps: {
  smtpUrl: string | undefined;
  from: string;
  keep: (message: MailMessage) => Promise<void>;
}) {
  // Loaded with the first mail: a setup that writes to the outbox never pays for nodemailer.
  let transport: Promise<Transporter> | undefined;
  const smtp = (url: string) => {
    transport ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport(url));
    return transport;
  };

  return {
    async send(message: MailMessage): Promise<void> {
      if (!deps.smtpUrl) return deps.keep(message);
      await (await smtp(deps.smtpUrl)).sendMail({
        from: deps.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        // Text and HTML (multipart/alternative): clients that show HTML get clickable links.
        html: htmlFromText(message.subject, message.text),
      });
    },
  };
}

export type Mailer = ReturnType<typeof createMailer>;
