-- Each API process caches principals and access chains (src/modules/authz/authz.cache.ts) and drops them when told
-- here. NOTIFY is delivered at commit, so no writer (API, CLI, jobs, manual SQL) can skip it and a rolled-back
-- change tells nobody. Payload: the user id whose principal or accesses changed, or 'all' when the company tree or
-- the access codes changed (every user's chains may then differ).
CREATE FUNCTION "authz_notify_user"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('leadsy_authz', OLD."id"::text);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION "authz_notify_user_access"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('leadsy_authz', OLD."user_id"::text);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM pg_notify('leadsy_authz', NEW."user_id"::text);
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION "authz_notify_all"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('leadsy_authz', 'all');
  RETURN NULL;
END $$;--> statement-breakpoint
-- Logins write failed_logins and the like on every attempt: only the columns a principal is made of notify.
CREATE TRIGGER "users_authz_update" AFTER UPDATE ON "users" FOR EACH ROW
  WHEN (OLD."status" IS DISTINCT FROM NEW."status" OR OLD."token_version" IS DISTINCT FROM NEW."token_version"
    OR OLD."superadmin" IS DISTINCT FROM NEW."superadmin")
  EXECUTE FUNCTION "authz_notify_user"();--> statement-breakpoint
CREATE TRIGGER "users_authz_delete" AFTER DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION "authz_notify_user"();--> statement-breakpoint
CREATE TRIGGER "user_accesses_authz_insert_delete" AFTER INSERT OR DELETE ON "user_accesses" FOR EACH ROW
  EXECUTE FUNCTION "authz_notify_user_access"();--> statement-breakpoint
CREATE TRIGGER "user_accesses_authz_update" AFTER UPDATE ON "user_accesses" FOR EACH ROW
  WHEN (OLD."user_id" IS DISTINCT FROM NEW."user_id" OR OLD."company_id" IS DISTINCT FROM NEW."company_id"
    OR OLD."access_id" IS DISTINCT FROM NEW."access_id")
  EXECUTE FUNCTION "authz_notify_user_access"();--> statement-breakpoint
CREATE TRIGGER "companies_authz_update" AFTER UPDATE ON "companies" FOR EACH ROW
  WHEN (OLD."parent_company_id" IS DISTINCT FROM NEW."parent_company_id")
  EXECUTE FUNCTION "authz_notify_all"();--> statement-breakpoint
CREATE TRIGGER "companies_authz_delete" AFTER DELETE ON "companies" FOR EACH STATEMENT
  EXECUTE FUNCTION "authz_notify_all"();--> statement-breakpoint
CREATE TRIGGER "accesses_authz_update" AFTER UPDATE ON "accesses" FOR EACH ROW
  WHEN (OLD."code" IS DISTINCT FROM NEW."code")
  EXECUTE FUNCTION "authz_notify_all"();--> statement-breakpoint
CREATE TRIGGER "accesses_authz_delete" AFTER DELETE ON "accesses" FOR EACH STATEMENT
  EXECUTE FUNCTION "authz_notify_all"();--> statement-breakpoint
CREATE TRIGGER "users_authz_truncate" AFTER TRUNCATE ON "users" FOR EACH STATEMENT
  EXECUTE FUNCTION "authz_notify_all"();--> statement-breakpoint
CREATE TRIGGER "user_accesses_authz_truncate" AFTER TRUNCATE ON "user_accesses" FOR EACH STATEMENT
  EXECUTE FUNCTION "authz_notify_all"();--> statement-breakpoint
CREATE TRIGGER "companies_authz_truncate" AFTER TRUNCATE ON "companies" FOR EACH STATEMENT
  EXECUTE FUNCTION "authz_notify_all"();
