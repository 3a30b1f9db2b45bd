-- Trigram indexes serve the leads list's `q` search; btree_gist serves the exclusion constraint that keeps one
-- agent's appointments from overlapping. Both ship with PostgreSQL's contrib and with PGlite.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS btree_gist;
