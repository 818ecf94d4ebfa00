CREATE TABLE `settings_changes` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`changes` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `settings_changes_tenant` ON `settings_changes` (`tenant_id`,`at`);--> statement-breakpoint
-- DESIGN §5: proofs are kept at least 1,096 days unless the operator says
-- otherwise. Before this floor existed a tenant key could set less; such a
-- value is raised to the floor (the operator can lower it again).
UPDATE `tenants` SET `proof_retention_days` = 1096 WHERE `proof_retention_days` < 1096;
