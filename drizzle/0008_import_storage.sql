ALTER TABLE "import_files" ADD COLUMN "stored_error_rows" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "import_files" ADD COLUMN "errors_bytes" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "max_storage_bytes" bigint;