PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`justification_id` text,
	`to` text NOT NULL,
	`from` text NOT NULL,
	`subject` text NOT NULL,
	`headers` text NOT NULL,
	`text` text,
	`html` text,
	`created_at` integer NOT NULL,
	`mail_id` text,
	`substitutions` text
);
--> statement-breakpoint
INSERT INTO `__new_outbox`("id", "tenant_id", "justification_id", "to", "from", "subject", "headers", "text", "html", "created_at", "mail_id", "substitutions") SELECT "id", "tenant_id", "justification_id", "to", "from", "subject", "headers", "text", "html", "created_at", "mail_id", "substitutions" FROM `outbox`;--> statement-breakpoint
DROP TABLE `outbox`;--> statement-breakpoint
ALTER TABLE `__new_outbox` RENAME TO `outbox`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `outbox_tenant` ON `outbox` (`tenant_id`,`created_at`);