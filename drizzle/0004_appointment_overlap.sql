-- One agent cannot be in two scheduled appointments at once, whatever the concurrency (half-open ranges: back to
-- back is fine).
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_no_overlap" EXCLUDE USING gist (
  "user_access_id" WITH =,
  tstzrange("starts_at", "ends_at", '[)') WITH &&
) WHERE ("status" = 'scheduled');--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_range_check" CHECK ("ends_at" > "starts_at");
