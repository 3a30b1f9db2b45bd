import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { PageMeta } from '../../lib/pagination.ts';
import { accessOf, principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import { multipartClientError, streamedBody } from '../../plugins/multipart.ts';
import { CompanyParams } from '../companies/companies.schemas.ts';
import {
  IMPORT_MAX_BYTES,
  ImportFileJson,
  ImportParams,
  ImportUpload,
  ListImportsQuery,
  presentImport,
  TemplateQuery,
} from './imports.schemas.ts';
import { type ImportsService, tooLarge, type UploadPart, unsupported } from './imports.service.ts';

const tags = ['Import'];

/** The multipart body as the service takes it: plain fields and file streams, in order. */
async function* uploadParts(request: FastifyRequest): AsyncGenerator<UploadPart> {
  for await (const part of request.parts()) {
    if (part.type === 'field') yield { kind: 'field', name: part.fieldname, value: String(part.value) };
    else yield { kind: 'file', name: part.fieldname, filename: part.filename, stream: part.file };
  }
}
const ImportEnvelope = Type.Object({ import_file: ImportFileJson });
const CSV = { 200: { description: 'text/csv', content: { 'text/csv': { schema: Type.String() } } } };

export const importsRoutes: FastifyPluginAsyncTypebox<{ service: ImportsService }> = async (app, { service }) => {
  // Registered here only: the import upload is the one multipart route of this plugin.
  await app.register(multipart, {
    limits: { fileSize: IMPORT_MAX_BYTES, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 12, headerPairs: 100 },
  });

  app.post(
    '/api/v1/companies/:company_id/imports',
    {
      config: { policy: { permission: 'imports:write' } },
      validatorCompiler: streamedBody(app),
      schema: {
        operationId: 'createImport',
        tags,
        summary: 'Import leads for a company',
        description:
          'Multipart: `file` (CSV or XLSX, at most 50 MB, the type read from the content) and optional `source_id`, ' +
          '`campaign_id`, `mapping` (JSON) and `on_duplicate` (`skip`, the default, or `update`). The file is streamed ' +
          'to storage and a background job imports it: the answer is 202 with the import `pending`; poll it for ' +
          'progress. Rows are normalized and validated like leads created through the API, deduplicated against the ' +
          'file and the existing leads (email, phone, external_id), assigned by the distribution rules and counted ' +
          "against the plan's monthly lead limit.",
        params: CompanyParams,
        consumes: ['multipart/form-data'],
        body: ImportUpload,
        response: {
          202: ImportEnvelope,
          400: problemResponse('The multipart body is malformed.'),
          413: problemResponse('The file is larger than 50 MB.'),
          415: problemResponse('Not multipart, or the file is neither CSV nor XLSX.'),
        },
      },
    },
    async (request, reply) => {
      const actor = { userId: principalOf(request).userId, companyId: accessOf(request).companyId };
      if (!request.isMultipart()) throw unsupported();
      const row = await service.upload(actor, uploadParts(request)).catch((error: unknown) => {
        // Busboy's own errors (a broken body, the size limit) become 400 and 413 here, where HTTP is known.
        throw multipartClientError(error, tooLarge);
      });
      return reply.code(202).send({ import_file: presentImport(row) });
    },
  );

  app.get(
    '/api/v1/companies/:company_id/imports/template',
    {
      config: { policy: { permission: 'imports:read' } },
      schema: {
        operationId: 'importTemplate',
        tags,
        summary: 'Download leads import template for a company',
        description:
          "A CSV or XLSX with a column for each lead field and each of the company's questions, and an example row. " +
          'Cells are written so that no spreadsheet runs them as formulas.',
        params: CompanyParams,
        querystring: TemplateQuery,
        response: {
          200: {
            description: 'The template file',
            content: {
              'text/csv': { schema: Type.String() },
              'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {
                schema: Type.String({ format: 'binary' }),
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'csv';
      const { body } = await service.template(request.params.company_id, format);
      const type =
        format === 'csv'
          ? 'text/csv; charset=utf-8'
          : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
      return reply
        .type(type)
        .header('content-disposition', `attachment; filename="leads-template.${format}"`)
        .send(body as unknown as string);
    },
  );

  app.get(
    '/api/v1/companies/:company_id/imports',
    {
      config: { policy: { permission: 'imports:read' } },
      schema: {
        operationId: 'listImports',
        tags,
        summary: 'List of ImportFiles',
        description: 'Newest first, keyset pages.',
        params: CompanyParams,
        querystring: ListImportsQuery,
        response: { 200: Type.Object({ import_files: Type.Array(ImportFileJson), meta: PageMeta }) },
      },
    },
    async (request) => {
      const page = await service.list(request.params.company_id, request.query);
      return { import_files: page.items.map(presentImport), meta: page.meta };
    },
  );

  app.get(
    '/api/v1/companies/:company_id/imports/:import_id',
    {
      config: { policy: { permission: 'imports:read' } },
      schema: {
        operationId: 'getImport',
        tags,
        summary: 'Check status of an import',
        description:
          '`pending`, `processing`, `completed`, `failed` (with `error_message`) or `canceled`; row counts, ' +
          '`progress` (0 to 1) while it runs, and the first rejected rows (all of them: the errors CSV).',
        params: ImportParams,
        response: { 200: ImportEnvelope },
      },
    },
    async (request) => ({
      import_file: presentImport(await service.show(request.params.company_id, request.params.import_id)),
    }),
  );

  app.get(
    '/api/v1/companies/:company_id/imports/:import_id/errors',
    {
      config: { policy: { permission: 'imports:read' } },
      schema: {
        operationId: 'importErrors',
        tags,
        summary: "An import's rejected rows as CSV",
        description:
          'Row number, reason and the original values of every rejected or skipped row. UTF-8 with a BOM; cells ' +
          'that a spreadsheet would run as formulas are neutralized.',
        params: ImportParams,
        response: CSV,
      },
    },
    async (request, reply) => {
      const file = await service.errorsFile(request.params.company_id, request.params.import_id);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${file.fileName}"`)
        .send(file.body as unknown as string);
    },
  );

  app.delete(
    '/api/v1/companies/:company_id/imports/:import_id',
    {
      config: { policy: { permission: 'imports:write' } },
      schema: {
        operationId: 'cancelImport',
        tags,
        summary: 'Cancel an import',
        description:
          'Answers the import as the cancel left it. Not running (pending, waiting for a retry, or its job already ' +
          'ended): `canceled` at once. Running: stays `processing` with `cancel_requested` until its next batch, ' +
          'then `canceled` (the rows already written stay; a worker lost meanwhile ends it `canceled` too). ' +
          'Already canceled: 200, unchanged. Completed or failed: 409, nothing changes.',
        params: ImportParams,
        response: { 200: ImportEnvelope, 409: problemResponse('The import has already finished.') },
      },
    },
    async (request) => ({
      import_file: presentImport(await service.cancel(request.params.company_id, request.params.import_id)),
    }),
  );
};
