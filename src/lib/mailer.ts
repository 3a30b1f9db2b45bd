import type { Transporter } from 'nodemailer';
import type { Db } from '../db/client.ts';
import { outboxMessages } from '../db/schema/index.ts';

export type MailMessage = { to: string; subject: string; text: string };
type Logger = { error(obj: unknown, msg: string): void };

/**
 * The one way mail leaves Leadsy: SMTP when SMTP_URL is set, otherwise the outbox table (shown by the CLI).
 * Callers send after their transaction commits, never inside it; `sendLater` keeps slow SMTP off the
 * response path and `drain` lets shutdown wait for what is in flight.
 */
export function createMailer(deps: { smtpUrl: string | undefined; from: string; db: Db; logger: Logger }) {
  // Loaded with the first mail: a setup that writes to the outbox never pays for nodemailer.
  let transport: Promise<Transporter> | undefined;
  const smtp = (url: string) => {
    transport ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport(url));
    return transport;
  };
  const inFlight = new Set<Promise<void>>();

  async function send(message: MailMessage): Promise<void> {
    if (deps.smtpUrl) {
      await (await smtp(deps.smtpUrl)).sendMail({
        from: deps.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
    } else {
      await deps.db.insert(outboxMessages).values(message);
    }
  }

  return {
    send,
    sendLater(message: MailMessage): void {
      const pending = send(message)
        .catch((error: unknown) => deps.logger.error({ err: error, to: message.to }, 'mail delivery failed'))
        .finally(() => inFlight.delete(pending));
      inFlight.add(pending);
    },
    async drain(): Promise<void> {
      await Promise.all([...inFlight]);
    },
    close(): void {
      void transport?.then((open) => open.close());
    },
  };
}

export type Mailer = ReturnType<typeof createMailer>;
