import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Permission } from '../../lib/permissions.ts';
import { noBody } from '../../lib/schema.ts';
import { accessOf, principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import {
  AppointmentEnvelope,
  AppointmentList,
  AppointmentParams,
  CalendarResponse,
  CreateAppointmentBody,
  FeedJson,
  FeedQuery,
  LeadAppointmentParams,
  ListAppointmentsQuery,
  presentAppointment,
  UpdateAppointmentBody,
} from './appointments.schemas.ts';
import type { AppointmentsService } from './appointments.service.ts';

const tags = ['Appointments'];
const VISIBILITY =
  'Visible to its agent (the user holding its user access) and to admins and managers of its company; anyone ' +
  'else gets 404.';

export const appointmentsRoutes: FastifyPluginAsyncTypebox<{ service: AppointmentsService }> = async (
  app,
  { service },
) => {
  // Routes on one appointment are authorized in the appointment's company; the agent rule is the service's.
  const inAppointmentCompany = (permission: Permission) => ({
    permission,
    company: (request: FastifyRequest) =>
      service.companyOf((request.params as { appointment_id: number }).appointment_id),
  });
  const actor = (request: FastifyRequest) => ({ userId: principalOf(request).userId, access: accessOf(request) });

  app.post(
    '/api/v1/companies/:company_id/leads/:lead_id/appointments',
    {
      config: { policy: { permission: 'appointments:write' } },
      schema: {
        operationId: 'createAppointment',
        tags,
        summary: 'Book an appointment for a lead',
        description:
          'Books `user_access_id` (default: the lead’s assignee; none → 422 `no_assignee`), a member of this ' +
          'company who is not deactivated (else 422). Agents book leads assigned to them, for themselves only ' +
          '(403 otherwise). `ends_at` must be after `starts_at`, at most 24 hours later. An appointment that ' +
          'overlaps another scheduled one of the same user access is refused with 422 `appointment_overlap`, ' +
          'even under concurrent requests; back-to-back is fine (ranges are half-open). Past times are accepted ' +
          '(recording a meeting that took place).',
        params: LeadAppointmentParams,
        body: CreateAppointmentBody,
        response: { 201: AppointmentEnvelope },
      },
    },
    async (request, reply) => {
      const view = await service.book(actor(request), request.params.lead_id, request.body);
      return reply.code(201).send({ appointment: presentAppointment(view) });
    },
  );

  app.get(
    '/api/v1/appointments',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'listAppointments',
        tags,
        summary: 'List appointments for the current user',
        description:
          'The caller’s own appointments in every company, ordered by `starts_at`: those not yet ended at ' +
          '`from` (default: now, so upcoming and in progress) and starting before `to` (optional; at most 366 ' +
          'days after `from`; before `from` → 422). `status`: `scheduled` (default), `canceled` or `all`.',
        querystring: ListAppointmentsQuery,
        response: { 200: AppointmentList },
      },
    },
    async (request) => {
      const page = await service.listMine(principalOf(request).userId, request.query);
      return { appointments: page.items.map(presentAppointment), meta: page.meta };
    },
  );

  app.post(
    '/api/v1/appointments/feed',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'createAppointmentFeed',
        tags,
        summary: 'Create a calendar feed',
        description:
          'A new secret iCalendar subscription URL of your appointments (`GET /api/v1/appointments.ics`). The ' +
          'token (256 random bits) is shown once and stored hashed; anyone holding the URL reads your calendar, ' +
          'so revoke it if it leaks. At most 10 live feeds per user (422 `too_many_feeds`). Takes no body (an empty ' +
          'JSON object `{}` is accepted too).',
        response: {
          201: Type.Object({ feed: FeedJson }),
          422: problemResponse('`too_many_feeds`; or a body with fields was sent (`unexpected`).'),
        },
      },
      preValidation: noBody,
    },
    async (request, reply) => reply.code(201).send({ feed: await service.createFeed(principalOf(request).userId) }),
  );

  app.delete(
    '/api/v1/appointments/feed',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'revokeAppointmentFeeds',
        tags,
        summary: 'Revoke calendar feeds',
        description: 'Every calendar feed URL of yours stops working at once (404). Idempotent.',
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.revokeFeeds(principalOf(request).userId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/appointments.ics',
    {
      config: { policy: 'public' },
      // The token is in the query string, and Fastify logs request URLs at info: this route logs warnings only.
      logLevel: 'warn',
      schema: {
        operationId: 'getAppointmentFeed',
        tags,
        summary: 'Calendar feed (iCalendar)',
        description:
          'For calendar applications: the token from `POST /api/v1/appointments/feed` authenticates. ' +
          'Scheduled appointments from 30 days ago onward, and those canceled in the last 30 days as ' +
          '`STATUS:CANCELLED` (so subscribed calendars drop them), at most 1000, times in UTC. Each event keeps ' +
          'the UID `appointment-<id>@leadsy`. An unknown or revoked token, or one of a deactivated user, ' +
          'answers 404 problem+json.',
        querystring: FeedQuery,
        response: { 200: CalendarResponse, 404: problemResponse('Unknown or revoked feed token.') },
      },
    },
    async (request, reply) => {
      const body = await service.calendar(request.query.token);
      return reply
        .type('text/calendar; charset=utf-8')
        .header('cache-control', 'private, no-store')
        .header('referrer-policy', 'no-referrer')
        .header('content-disposition', 'inline; filename="leadsy-appointments.ics"')
        .send(body);
    },
  );

  app.get(
    '/api/v1/appointments/:appointment_id',
    {
      config: { policy: inAppointmentCompany('appointments:read') },
      schema: {
        operationId: 'getAppointment',
        tags,
        summary: 'Get appointment by id',
        description: VISIBILITY,
        params: AppointmentParams,
        response: { 200: AppointmentEnvelope },
      },
    },
    async (request) => ({
      appointment: presentAppointment(await service.show(accessOf(request), request.params.appointment_id)),
    }),
  );

  app.patch(
    '/api/v1/appointments/:appointment_id',
    {
      config: { policy: inAppointmentCompany('appointments:write') },
      schema: {
        operationId: 'updateAppointment',
        tags,
        summary: 'Change an appointment',
        description:
          `${VISIBILITY} Changes the times, title, location, notes (\`null\` clears them), or reassigns it ` +
          '(`user_access_id`: admins and managers only, 403 for agents; an active member of the company, else ' +
          '422). The same rules as booking apply (range, 24 hours, 422 `appointment_overlap`). A canceled ' +
          'appointment cannot be changed: 409 `appointment_canceled`.',
        params: AppointmentParams,
        body: UpdateAppointmentBody,
        response: { 200: AppointmentEnvelope, 409: problemResponse('The appointment is canceled.') },
      },
    },
    async (request) => ({
      appointment: presentAppointment(
        await service.update(actor(request), request.params.appointment_id, request.body),
      ),
    }),
  );

  app.delete(
    '/api/v1/appointments/:appointment_id',
    {
      config: { policy: inAppointmentCompany('appointments:write') },
      schema: {
        operationId: 'cancelAppointment',
        tags,
        summary: 'Cancel an appointment',
        description:
          `${VISIBILITY} Cancels it (the row stays, with \`status: canceled\` and \`canceled_at\`) and answers ` +
          'it; the slot can be booked again. Canceling again answers the same appointment unchanged.',
        params: AppointmentParams,
        response: { 200: AppointmentEnvelope },
      },
    },
    async (request) => ({
      appointment: presentAppointment(await service.cancel(actor(request), request.params.appointment_id)),
    }),
  );
};
