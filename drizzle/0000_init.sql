CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`key_hash` text NOT NULL,
	`scopes` text NOT NULL,
	`name` text,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_tenant` ON `api_keys` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `chain_checkpoints` (
	`tenant_id` text NOT NULL,
	`chain` text NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `chain`)
);
--> statement-breakpoint
CREATE TABLE `chain_heads` (
	`tenant_id` text NOT NULL,
	`chain` text NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `chain`)
);
--> statement-breakpoint
CREATE TABLE `delivery_chunks` (
	`message_id` text NOT NULL,
	`chunk` integer NOT NULL,
	`status` text NOT NULL,
	`provider_message_id` text,
	`error` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`message_id`, `chunk`)
);
--> statement-breakpoint
CREATE TABLE `dsr_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`subject_key` text NOT NULL,
	`kind` text NOT NULL,
	`received_at` integer NOT NULL,
	`deadline` integer NOT NULL,
	`completed_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `dsr_requests_tenant` ON `dsr_requests` (`tenant_id`,`received_at`);--> statement-breakpoint
CREATE TABLE `evidence` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`subject_key` text NOT NULL,
	`kind` text NOT NULL,
	`topic` text,
	`occurred_at` integer NOT NULL,
	`recorded_at` integer NOT NULL,
	`data` text NOT NULL,
	`personal` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `evidence_subject` ON `evidence` (`tenant_id`,`subject_key`,`occurred_at`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`tenant_id` text NOT NULL,
	`key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`status` integer,
	`content_type` text,
	`body` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `key`)
);
--> statement-breakpoint
CREATE TABLE `import_chunks` (
	`import_id` text NOT NULL,
	`seq` integer NOT NULL,
	`text` text NOT NULL,
	PRIMARY KEY(`import_id`, `seq`),
	FOREIGN KEY (`import_id`) REFERENCES `imports`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `import_rejections` (
	`import_id` text NOT NULL,
	`line` integer NOT NULL,
	`reason` text NOT NULL,
	PRIMARY KEY(`import_id`, `line`),
	FOREIGN KEY (`import_id`) REFERENCES `imports`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `imports` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`format` text NOT NULL,
	`options` text NOT NULL,
	`status` text NOT NULL,
	`idempotency_key` text,
	`bytes` integer DEFAULT 0 NOT NULL,
	`chars` integer DEFAULT 0 NOT NULL,
	`chunks` integer DEFAULT 0 NOT NULL,
	`processed` integer DEFAULT 0 NOT NULL,
	`imported` integer DEFAULT 0 NOT NULL,
	`skipped` integer DEFAULT 0 NOT NULL,
	`rejected` integer DEFAULT 0 NOT NULL,
	`position` integer DEFAULT 0 NOT NULL,
	`error` text,
	`lease_until` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `imports_tenant` ON `imports` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `imports_status` ON `imports` (`status`);--> statement-breakpoint
CREATE UNIQUE INDEX `imports_idempotency` ON `imports` (`tenant_id`,`idempotency_key`);--> statement-breakpoint
CREATE TABLE `instance` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `justifications` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`seq` integer NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	`message_id` text NOT NULL,
	`subject_key` text NOT NULL,
	`topic` text NOT NULL,
	`decision` text NOT NULL,
	`basis` text,
	`reasons` text NOT NULL,
	`rule_set` text NOT NULL,
	`evidence` text NOT NULL,
	`trace` text NOT NULL,
	`decided_at` integer NOT NULL,
	`supersedes` text,
	`email` text,
	`chunk` integer,
	`status` text NOT NULL,
	`provider_message_id` text,
	`error` text,
	`status_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `justifications_chain` ON `justifications` (`tenant_id`,`seq`);--> statement-breakpoint
CREATE INDEX `justifications_message` ON `justifications` (`message_id`,`chunk`);--> statement-breakpoint
CREATE INDEX `justifications_subject` ON `justifications` (`tenant_id`,`subject_key`);--> statement-breakpoint
CREATE INDEX `justifications_decided` ON `justifications` (`tenant_id`,`decided_at`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`topic` text NOT NULL,
	`status` text NOT NULL,
	`request` text,
	`send_at` integer,
	`recipients` integer NOT NULL,
	`send_count` integer DEFAULT 0 NOT NULL,
	`suppress_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `messages_tenant` ON `messages` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_due` ON `messages` (`status`,`send_at`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`justification_id` text,
	`to` text NOT NULL,
	`from` text NOT NULL,
	`subject` text NOT NULL,
	`headers` text NOT NULL,
	`text` text NOT NULL,
	`html` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `outbox_tenant` ON `outbox` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `provider_events` (
	`tenant_id` text NOT NULL,
	`sg_event_id` text NOT NULL,
	`event` text NOT NULL,
	`occurred_at` integer,
	`received_at` integer NOT NULL,
	`justification_id` text,
	`subject_key` text,
	`provider_message_id` text,
	`status` text NOT NULL,
	`detail` text,
	`evidence_id` text,
	PRIMARY KEY(`tenant_id`, `sg_event_id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `provider_events_status` ON `provider_events` (`tenant_id`,`status`,`received_at`);--> statement-breakpoint
CREATE TABLE `subjects` (
	`tenant_id` text NOT NULL,
	`subject_key` text NOT NULL,
	`email` text,
	`country` text,
	`subscriber_type` text,
	`birth_year` integer,
	`age_verified` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `subject_key`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `tenant_settings` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`sendgrid_api_key_ciphertext` text,
	`sendgrid_api_key_set_at` integer,
	`webhook_public_key` text,
	`asm_group_topics` text NOT NULL,
	`category_topics` text NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`legal_name` text NOT NULL,
	`address` text NOT NULL,
	`registration_id` text NOT NULL,
	`contact_email` text NOT NULL,
	`domains` text NOT NULL,
	`country` text NOT NULL,
	`mode` text NOT NULL,
	`consent_lifetime_months` integer,
	`soft_opt_in_months` integer,
	`proof_retention_days` integer DEFAULT 1096 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `topics` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`description` text NOT NULL,
	`class` text NOT NULL,
	`categories` text NOT NULL,
	`service_basis` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
