CREATE TABLE "cycle_members" (
	"cycle_id" bigint NOT NULL,
	"company_id" bigint NOT NULL,
	"user_access_id" bigint NOT NULL,
	"position" integer NOT NULL,
	"weight" integer DEFAULT 1 NOT NULL,
	"current_weight" bigint DEFAULT 0 NOT NULL,
	"assigned_count" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "cycle_members_cycle_id_user_access_id_pk" PRIMARY KEY("cycle_id","user_access_id")
);
--> statement-breakpoint
CREATE TABLE "cycles" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "cycles_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"company_id" bigint NOT NULL,
	"name" text NOT NULL,
	"source_id" bigint,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "territories" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "territories_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"company_id" bigint NOT NULL,
	"name" text NOT NULL,
	"country" text,
	"regions" text[] DEFAULT '{}'::text[] NOT NULL,
	"postal_codes" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "territory_members" (
	"territory_id" bigint NOT NULL,
	"company_id" bigint NOT NULL,
	"user_access_id" bigint NOT NULL,
	"position" integer NOT NULL,
	"weight" integer DEFAULT 1 NOT NULL,
	"current_weight" bigint DEFAULT 0 NOT NULL,
	"assigned_count" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "territory_members_territory_id_user_access_id_pk" PRIMARY KEY("territory_id","user_access_id")
);
--> statement-breakpoint
CREATE TABLE "import_errors" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "import_errors_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"company_id" bigint NOT NULL,
	"import_file_id" bigint NOT NULL,
	"row_number" integer NOT NULL,
	"reason" text NOT NULL,
	"values" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "import_files" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "import_files_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"company_id" bigint NOT NULL,
	"created_by_user_id" bigint,
	"file_key" text NOT NULL,
	"file_name" text NOT NULL,
	"file_size" integer NOT NULL,
	"format" text NOT NULL,
	"source_id" bigint,
	"campaign_id" bigint,
	"mapping" jsonb,
	"on_duplicate" text DEFAULT 'skip' NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"total_rows" integer,
	"processed_rows" integer DEFAULT 0 NOT NULL,
	"imported_rows" integer DEFAULT 0 NOT NULL,
	"updated_rows" integer DEFAULT 0 NOT NULL,
	"duplicate_rows" integer DEFAULT 0 NOT NULL,
	"failed_rows" integer DEFAULT 0 NOT NULL,
	"checkpoint_row" integer DEFAULT 0 NOT NULL,
	"first_errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"error_message" text,
	"job_id" bigint,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"cancel_requested_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "jobs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"kind" text NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 5 NOT NULL,
	"run_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"lease_until" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "source_user_accesses" ADD COLUMN "current_weight" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "cycle_members" ADD CONSTRAINT "cycle_members_cycle_id_cycles_id_fk" FOREIGN KEY ("cycle_id") REFERENCES "public"."cycles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cycle_members" ADD CONSTRAINT "cycle_members_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cycle_members" ADD CONSTRAINT "cycle_members_user_access_id_user_accesses_id_fk" FOREIGN KEY ("user_access_id") REFERENCES "public"."user_accesses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cycles" ADD CONSTRAINT "cycles_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cycles" ADD CONSTRAINT "cycles_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "territories" ADD CONSTRAINT "territories_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "territory_members" ADD CONSTRAINT "territory_members_territory_id_territories_id_fk" FOREIGN KEY ("territory_id") REFERENCES "public"."territories"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "territory_members" ADD CONSTRAINT "territory_members_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "territory_members" ADD CONSTRAINT "territory_members_user_access_id_user_accesses_id_fk" FOREIGN KEY ("user_access_id") REFERENCES "public"."user_accesses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_errors" ADD CONSTRAINT "import_errors_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_errors" ADD CONSTRAINT "import_errors_import_file_id_import_files_id_fk" FOREIGN KEY ("import_file_id") REFERENCES "public"."import_files"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_files" ADD CONSTRAINT "import_files_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_files" ADD CONSTRAINT "import_files_created_by_user_id_users_id_fk" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_files" ADD CONSTRAINT "import_files_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_files" ADD CONSTRAINT "import_files_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "cycle_members_user_access_id_index" ON "cycle_members" USING btree ("user_access_id");--> statement-breakpoint
CREATE INDEX "cycle_members_company_id_index" ON "cycle_members" USING btree ("company_id");--> statement-breakpoint
CREATE INDEX "cycles_company_id_id_index" ON "cycles" USING btree ("company_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "cycles_one_default" ON "cycles" USING btree ("company_id") WHERE is_default;--> statement-breakpoint
CREATE UNIQUE INDEX "cycles_one_per_source" ON "cycles" USING btree ("company_id","source_id") WHERE source_id is not null;--> statement-breakpoint
CREATE INDEX "cycles_source_id_index" ON "cycles" USING btree ("source_id");--> statement-breakpoint
CREATE INDEX "territories_company_id_id_index" ON "territories" USING btree ("company_id","id");--> statement-breakpoint
CREATE INDEX "territory_members_user_access_id_index" ON "territory_members" USING btree ("user_access_id");--> statement-breakpoint
CREATE INDEX "territory_members_company_id_index" ON "territory_members" USING btree ("company_id");--> statement-breakpoint
CREATE UNIQUE INDEX "import_errors_row_unique" ON "import_errors" USING btree ("import_file_id","row_number");--> statement-breakpoint
CREATE INDEX "import_errors_company_id_index" ON "import_errors" USING btree ("company_id");--> statement-breakpoint
CREATE INDEX "import_files_company_id_id_index" ON "import_files" USING btree ("company_id","id");--> statement-breakpoint
CREATE INDEX "import_files_created_by_user_id_index" ON "import_files" USING btree ("created_by_user_id");--> statement-breakpoint
CREATE INDEX "import_files_source_id_index" ON "import_files" USING btree ("source_id");--> statement-breakpoint
CREATE INDEX "import_files_campaign_id_index" ON "import_files" USING btree ("campaign_id");--> statement-breakpoint
CREATE INDEX "jobs_queued_index" ON "jobs" USING btree ("run_at") WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX "jobs_running_index" ON "jobs" USING btree ("lease_until") WHERE status = 'running';