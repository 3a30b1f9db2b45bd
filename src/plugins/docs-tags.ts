/**
 * The document's tags, in the order a reader meets the API: each says what the group is for, so a reference UI's
 * sidebar explains itself. A route's tag missing here fails the document test (test/app/openapi-document.test.ts).
 */
export const TAGS: { name: string; description: string }[] = [
  {
    name: 'Users',
    description:
      'Sign up, log in (a JWT for `Authorization: Bearer`), reset and verify, and manage your profile; staff list ' +
      'and manage every user.',
  },
  {
    name: 'User Onboarding',
    description: "A new user's first steps: onboarding answers and the acceptance of the current legal terms.",
  },
  {
    name: 'User Providers',
    description: 'Sign-in with an external identity provider (OpenID Connect) and the providers linked to a user.',
  },
  {
    name: 'Companies',
    description:
      'Tenants: create a company (you become its admin), read and change it; child companies inherit their ' +
      "parents' accesses.",
  },
  {
    name: 'User Company Relation',
    description: "A user's accesses (roles) in companies: grant, change, list and remove them.",
  },
  { name: 'Company Users', description: 'The people of a company with their access, for managers and admins.' },
  {
    name: 'Invitations',
    description: 'Invite someone by email into a company with an access; they accept with the code from the email.',
  },
  {
    name: 'Accesses',
    description: 'The catalog of roles (admin, manager, agent) and the permissions each one grants.',
  },
  { name: 'Stages', description: 'The pipeline stages a lead moves through, open ones then won and lost.' },
  { name: 'Memberships', description: 'The plans a company can subscribe to, with their limits.' },
  { name: 'Membership', description: "A company's subscription to a plan: read, subscribe, change or end it." },
  { name: 'Legal Terms', description: 'The current terms of service and privacy policy users accept.' },
  {
    name: 'Leads',
    description:
      "A company's leads: create, list with filters and keyset pages, update (stage, assignee, answers), delete, " +
      'find duplicates, metrics by stage, and each lead’s activity timeline.',
  },
  { name: 'Lead Notes', description: 'Notes written on a lead by the people working it.' },
  {
    name: 'Appointments',
    description: "Meetings booked with a lead for an agent, and each user's calendar feed (iCalendar).",
  },
  {
    name: 'Sources',
    description:
      'Where leads come from (a web form, a partner…): their priority and the agents who receive their leads.',
  },
  { name: 'Campaigns', description: 'Marketing campaigns a lead can belong to, each with its own questions.' },
  {
    name: 'Questions',
    description:
      'Qualification questions a lead answers (text, number, date, yes/no, choices), by company or campaign.',
  },
  {
    name: 'Cycles',
    description: 'Round-robin rotations that distribute new leads among agents, optionally weighted or per source.',
  },
  {
    name: 'Territories',
    description: 'Rules that route a lead to a rotation by its location: postal code, region or country.',
  },
  {
    name: 'Import',
    description:
      'Bulk import of leads from CSV or XLSX: upload, follow the progress, download the rejected rows, cancel.',
  },
  { name: 'Avatars', description: 'Profile pictures of users and companies, re-encoded on upload.' },
  {
    name: 'API keys',
    description: 'Company API keys for integrations: a key acts in its company with the access it was given.',
  },
  {
    name: 'Webhooks',
    description: 'HTTPS endpoints that receive signed events (lead created, updated…), with their delivery log.',
  },
  {
    name: 'Events',
    description: 'The live stream of a company’s events (Server-Sent Events): the same bodies webhooks receive.',
  },
  {
    name: 'System',
    description: 'Health and readiness probes, Prometheus metrics and this document; no token needed.',
  },
];
