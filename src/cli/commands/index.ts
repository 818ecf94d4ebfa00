import type { Command } from "../command.js";
import { exportProofsCommand } from "./export.js";
import { importFile } from "./import.js";
import { keyCreate } from "./key-create.js";
import { keyList } from "./key-list.js";
import { keyRevoke } from "./key-revoke.js";
import { migrate } from "./migrate.js";
import { tenantCreate } from "./tenant-create.js";
import { topicAdd } from "./topic-add.js";
import { verifyExport } from "./verify.js";
import { verifyReceiptCommand } from "./verify-receipt.js";

/**
 * The command table, in the order `grounds help` lists it. A command is named
 * by one or more words (`tenant create`); add new ones (proof export, proof
 * verify, import, …) here.
 */
export const COMMANDS: readonly Command[] = [
  tenantCreate,
  keyCreate,
  keyList,
  keyRevoke,
  topicAdd,
  importFile,
  exportProofsCommand,
  verifyExport,
  verifyReceiptCommand,
  migrate,
];
