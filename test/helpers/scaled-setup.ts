/** The scaled suite runs processes against a real PostgreSQL: without DATABASE_URL there is nothing to run it on. */
export default function setup() {
  if (!process.env.DATABASE_URL) {
    throw new Error(
      'npm run test:scaled needs DATABASE_URL (a PostgreSQL database this run may create databases beside)',
    );
  }
}
