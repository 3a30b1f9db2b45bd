import nodemailer from 'nodemailer';
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
  const transport = deps.smtpUrl ? nodemailer.createTransport(deps.smtpUrl) : undefined;
  const inFlight = new Set<Promise<void>>();

  async function send(message: MailMessage): Promise<void> {
    if (transport) {
      await transport.sendMail({ from: deps.from, to: message.to, subject: message.subject, text: message.text });
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
      transport?.close();
    },
  };
}

export type Mailer = ReturnType<typeof createMailer>;
