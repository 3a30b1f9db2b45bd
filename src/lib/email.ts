/** Emails are compared and stored trimmed and lower-cased (the unique index relies on it). */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** `jane.doe@example.com` → `j*******@example.com`, for answers that must not reveal the address. */
export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}${'*'.repeat(Math.max(local.length - 1, 1))}@${domain}`;
}

// Deliberately plain: one @, no spaces, a dot in the domain. Deliverability is the mail server's business.
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;

export const isEmail = (email: string) => email.length <= 254 && EMAIL.test(email);
