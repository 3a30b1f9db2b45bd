import ical, { ICalEventStatus } from 'ical-generator';
import type { AppointmentView } from './appointments.repository.ts';
import { leadLabel } from './appointments.schemas.ts';

/** Calendar applications poll a subscription; this asks them to come back every 15 minutes. */
const REFRESH_SECONDS = 15 * 60;

/** The UID stays the same across edits and cancellation, so a calendar application updates the event in place. */
export const eventUid = (appointmentId: number) => `appointment-${appointmentId}@leadsy`;

function description(view: AppointmentView): string {
  return [`Lead: ${leadLabel(view.lead)}`, `Company: ${view.companyName}`, view.appointment.notes ?? '']
    .filter(Boolean)
    .join('\n');
}

/** An RFC 5545 VCALENDAR of appointments, times in UTC. */
export function renderCalendar(ownerName: string, views: AppointmentView[]): string {
  const calendar = ical({
    name: `Leadsy appointments — ${ownerName}`,
    prodId: { company: 'Leadsy', product: 'appointments', language: 'EN' },
    ttl: REFRESH_SECONDS,
  });
  for (const view of views) {
    const a = view.appointment;
    calendar.createEvent({
      id: eventUid(a.id),
      start: a.startsAt,
      end: a.endsAt,
      stamp: a.updatedAt,
      created: a.createdAt,
      lastModified: a.updatedAt,
      summary: a.title ?? `Appointment with ${leadLabel(view.lead)}`,
      location: a.location,
      description: description(view),
      status: a.status === 'canceled' ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
    });
  }
  return calendar.toString();
}
