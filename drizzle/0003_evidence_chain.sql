CREATE TABLE `chain_adoptions` (
	`tenant_id` text NOT NULL,
	`chain` text NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	`adopted_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `chain`)
);
--> statement-breakpoint
ALTER TABLE `evidence` ADD `seq` integer;--> statement-breakpoint
ALTER TABLE `evidence` ADD `prev_hash` text;--> statement-breakpoint
ALTER TABLE `evidence` ADD `hash` text;--> statement-breakpoint
CREATE UNIQUE INDEX `evidence_chain` ON `evidence` (`tenant_id`,`seq`);