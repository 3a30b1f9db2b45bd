/** The event types of API.md "Integrations": the `type` of a webhook body and of a Server-Sent Event. */
export const EVENT_TYPES = [
  'lead.created',
  'lead.updated',
  'lead.assigned',
  'lead.stage_changed',
  'lead.deleted',
  'note.created',
  'appointment.created',
  'appointment.updated',
  'appointment.canceled',
  'import.completed',
  'import.failed',
  'user_access.created',
  'user_access.deleted',
  'webhook.ping',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];
