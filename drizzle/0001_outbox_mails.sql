CREATE TABLE `outbox_mails` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`text` text NOT NULL,
	`html` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `outbox` ADD `mail_id` text;--> statement-breakpoint
ALTER TABLE `outbox` ADD `substitutions` text;