import pg from 'pg';

/** The template and per-file databases are named after the run's DATABASE_URL database. */
export function templateName(url: string): string {
  return `${new URL(url).pathname.slice(1) || 'leadsy'}_tpl`;
}

export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** Runs one statement on the run's own database (CREATE/DROP DATABASE cannot run in a transaction or a pool). */
export async function adminQuery(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
