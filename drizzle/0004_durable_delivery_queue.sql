ALTER TABLE `delivery_chunks` ADD `recipients` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `delivery_chunks` ADD `attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `delivery_chunks` ADD `next_attempt_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `delivery_chunks` ADD `first_attempt_at` integer;--> statement-breakpoint
CREATE INDEX `delivery_chunks_due` ON `delivery_chunks` (`status`,`next_attempt_at`);--> statement-breakpoint
ALTER TABLE `messages` ADD `composition` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `idempotency_key` text;--> statement-breakpoint
CREATE INDEX `messages_idempotency` ON `messages` (`tenant_id`,`idempotency_key`);