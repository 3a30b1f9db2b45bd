#!/usr/bin/env node
// npm run lint:api — the OpenAPI document as /docs/json serves it, linted as a gate (issue 15):
// Redocly `recommended` (redocly.yaml): 0 errors and 0 warnings; Spectral `spectral:oas` plus our rules
// (.spectral.yaml, spectral/leadsy.yaml): 0 errors. Offline: the document is written from source, and neither tool
// is let to call home. Usage: node scripts/lint-api.mjs [--document FILE] (lint FILE instead of writing one).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const env = {
  ...process.env,
  REDOCLY_TELEMETRY: 'off',
  REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
  NO_UPDATE_NOTIFIER: '1',
  // A served document names the public URL it is deployed at; localhost is what Redocly's no-server-example.com
  // refuses, so the gate lints the document as a deployment with PUBLIC_URL set would serve it.
  PUBLIC_URL: process.env.LINT_PUBLIC_URL ?? 'https://api.leadsy.test',
  LOG_LEVEL: 'silent',
};

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw result.error;
  return result;
}

/** The JSON a tool printed (the tools print banners around it on some Node versions). */
function jsonOf(text, open) {
  const start = text.indexOf(open);
  if (start < 0) throw new Error(`no JSON in the output:\n${text.slice(0, 2000)}`);
  return JSON.parse(text.slice(start, text.lastIndexOf(open === '[' ? ']' : '}') + 1));
}

const { values } = parseArgs({ options: { document: { type: 'string' } } });
const dir = mkdtempSync(join(tmpdir(), 'leadsy-lint-api-'));
let failed = false;
try {
  const document = values.document ?? join(dir, 'openapi.json');
  if (!values.document) {
    const written = run(bin('tsx'), ['src/cli.ts', 'openapi', '--out', document]);
    if (written.status !== 0) throw new Error(`writing the document failed:\n${written.stderr}`);
  }

  const redocly = run(bin('redocly'), ['lint', '--config', 'redocly.yaml', '--format', 'json', document]);
  const { totals, problems = [] } = jsonOf(redocly.stdout, '{');
  for (const problem of problems) {
    console.log(
      `redocly ${problem.severity} ${problem.ruleId}: ${problem.message} (${problem.location?.[0]?.pointer})`,
    );
  }
  console.log(`Redocly recommended: ${totals.errors} errors, ${totals.warnings} warnings`);
  if (totals.errors > 0 || totals.warnings > 0) failed = true;

  const spectral = run(bin('spectral'), ['lint', document, '--ruleset', '.spectral.yaml', '--format', 'json']);
  const results = spectral.stdout.includes('[') ? jsonOf(spectral.stdout, '[') : [];
  if (spectral.status !== 0 && results.length === 0) throw new Error(`spectral failed:\n${spectral.stderr}`);
  const SEVERITY = ['error', 'warning', 'info', 'hint'];
  const count = (ours, severity) =>
    results.filter((r) => r.code.startsWith('leadsy-') === ours && SEVERITY[r.severity] === severity).length;
  for (const result of results) {
    console.log(`spectral ${SEVERITY[result.severity]} ${result.code}: ${result.message} (${result.path.join('.')})`);
  }
  console.log(
    `Spectral spectral:oas: ${count(false, 'error')} errors, ${count(false, 'warning')} warnings; ` +
      `ours (spectral/leadsy.yaml): ${count(true, 'error')} errors, ${count(true, 'warning')} warnings`,
  );
  if (results.some((r) => r.severity === 0)) failed = true;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed ? 'lint:api failed' : 'lint:api passed');
process.exitCode = failed ? 1 : 0;
