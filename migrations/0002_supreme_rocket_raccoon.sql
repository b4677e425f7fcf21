CREATE TABLE "call_records" (
	"id" uuid PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"site_id" uuid NOT NULL,
	"organization_id" uuid NOT NULL,
	"call_id" text NOT NULL,
	"from_uri" text NOT NULL,
	"to_uri" text NOT NULL,
	"direction" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"answered_at" timestamp with time zone,
	"ended_at" timestamp with time zone NOT NULL,
	"status" integer NOT NULL,
	"disposition" text NOT NULL,
	"end_reason" text,
	"duration_sec" integer NOT NULL,
	"codes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"packets_in" bigint,
	"packets_out" bigint,
	"bytes_in" bigint,
	"bytes_out" bigint,
	"one_way" boolean,
	"mos" real,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "registration_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"site_id" uuid NOT NULL,
	"organization_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"aor" text NOT NULL,
	"contact" text NOT NULL,
	"action" text NOT NULL,
	"expires_sec" integer NOT NULL,
	"source" text NOT NULL,
	"transport" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "security_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"site_id" uuid NOT NULL,
	"organization_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"event" text NOT NULL,
	"source" text NOT NULL,
	"detail" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stats_hourly" (
	"scope" text NOT NULL,
	"scope_id" uuid NOT NULL,
	"organization_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"calls" integer DEFAULT 0 NOT NULL,
	"answered" integer DEFAULT 0 NOT NULL,
	"answered_sec" bigint DEFAULT 0 NOT NULL,
	"one_way_calls" integer DEFAULT 0 NOT NULL,
	"failed_auths" integer DEFAULT 0 NOT NULL,
	"security_events" integer DEFAULT 0 NOT NULL,
	"registrations" integer DEFAULT 0 NOT NULL,
	"peak_concurrent" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "stats_hourly_scope_scope_id_hour_pk" PRIMARY KEY("scope","scope_id","hour")
);
--> statement-breakpoint
ALTER TABLE "call_records" ADD CONSTRAINT "call_records_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_records" ADD CONSTRAINT "call_records_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "registration_events" ADD CONSTRAINT "registration_events_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "registration_events" ADD CONSTRAINT "registration_events_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "security_events" ADD CONSTRAINT "security_events_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "security_events" ADD CONSTRAINT "security_events_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stats_hourly" ADD CONSTRAINT "stats_hourly_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "call_records_site_ended_idx" ON "call_records" USING btree ("site_id","ended_at");--> statement-breakpoint
CREATE INDEX "call_records_org_ended_idx" ON "call_records" USING btree ("organization_id","ended_at");--> statement-breakpoint
CREATE INDEX "registration_events_site_at_idx" ON "registration_events" USING btree ("site_id","at");--> statement-breakpoint
CREATE INDEX "security_events_site_at_idx" ON "security_events" USING btree ("site_id","at");--> statement-breakpoint
CREATE INDEX "security_events_org_at_idx" ON "security_events" USING btree ("organization_id","at");--> statement-breakpoint
CREATE INDEX "stats_hourly_org_hour_idx" ON "stats_hourly" USING btree ("organization_id","hour");