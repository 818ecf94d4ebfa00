CREATE TABLE `log_checkpoints` (
	`tenant_id` text NOT NULL,
	`size` integer NOT NULL,
	`note` text NOT NULL,
	`created_at` integer NOT NULL,
	`anchor` text,
	`anchored_at` integer,
	PRIMARY KEY(`tenant_id`, `size`)
);
--> statement-breakpoint
CREATE INDEX `log_checkpoints_anchored` ON `log_checkpoints` (`tenant_id`,`anchored_at`);--> statement-breakpoint
CREATE TABLE `log_entries` (
	`tenant_id` text NOT NULL,
	`idx` integer NOT NULL,
	`kind` text NOT NULL,
	`ref` text,
	`leaf` text NOT NULL,
	`content` text,
	PRIMARY KEY(`tenant_id`, `idx`)
);
--> statement-breakpoint
CREATE TABLE `log_heads` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`frontier` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `log_nodes` (
	`tenant_id` text NOT NULL,
	`level` integer NOT NULL,
	`idx` integer NOT NULL,
	`hash` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `level`, `idx`)
);
--> statement-breakpoint
ALTER TABLE `evidence` ADD `leaf_index` integer;--> statement-breakpoint
ALTER TABLE `justifications` ADD `leaf_index` integer;