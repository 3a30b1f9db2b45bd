CREATE INDEX "leads_company_deleted_updated_index" ON "leads" USING btree ("company_id","updated_at","id") WHERE deleted_at is not null;
