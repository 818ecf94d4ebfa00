import { readInstant } from "../../../domain/instant.js";
import { ALL_MARKETING } from "../../../domain/vocabulary.js";
import {
  checkEmail,
  checkTime,
  columnReader,
  guarded,
  type ImportContext,
  type ImportEvent,
  ImportFileError,
  indexOf,
  objectionEvents,
  type RowMapper,
  refuse,
  suppressionEvent,
} from "../formats.js";

/**
 * SendGrid's suppression exports (`format=sendgrid&list=…`): the CSV its UI
 * downloads from Suppressions, or the API's lists written as CSV. Each row is
 * the evidence SendGrid's list stands for, at the row's own time:
 *
 * | list | columns | evidence |
 * | --- | --- | --- |
 * | `global-unsubscribes` | email, created | objection to all marketing (`*`) |
 * | `group-unsubscribes` | email, group_id, created_at | objection to the group's topic (`asmGroups`) |
 * | `bounces` | email, created, reason, status | `hard-bounce` suppression |
 * | `blocks` | email, created, reason, status | none: a temporary refusal by the receiving server, not about the address |
 * | `spam-reports` | email, created, ip | `spam-complaint` suppression |
 * | `invalid-emails` | email, created, reason | `hard-bounce` suppression (the address cannot receive mail) |
 *
 * `created` is Unix seconds (the API) or a date and time (the UI's export,
 * read as UTC). A row without a time is refused: SendGrid always gives one,
 * and evidence needs it.
 */
export function sendGridMapper(header: readonly string[], ctx: ImportContext): RowMapper {
  const list = ctx.options.list;
  if (!list) throw new ImportFileError("list: which SendGrid suppression list is this file?");
  const email = indexOf(header, "email", "email address");
  if (email === undefined) {
    throw new ImportFileError('no "email" column: this is not a SendGrid suppression export');
  }
  const created = indexOf(header, "created", "created_at", "date", "created at");
  const group = indexOf(header, "group_id", "group id", "suppression_group_id");
  if (list === "group-unsubscribes" && group === undefined) {
    throw new ImportFileError('no "group_id" column: a group unsubscribe needs its group');
  }
  return guarded((record) => {
    const get = columnReader(header, record.fields ?? []);
    const address = checkEmail(get(email) ?? "", "email");
    const at = timeOfCreated(ctx, get(created));
    let events: ImportEvent[];
    switch (list) {
      case "global-unsubscribes":
        events = objectionEvents(ctx, [ALL_MARKETING], at, "import");
        break;
      case "group-unsubscribes": {
        const id = get(group) ?? refuse("group_id: empty");
        if (!/^\d{1,10}$/.test(id)) refuse("group_id: not a SendGrid group id");
        const topic = ctx.asmGroups?.[id];
        if (!topic || !ctx.topics.has(topic)) {
          refuse(
            `group_id ${id}: not mapped to a topic (PATCH /v1/settings sendgrid.asmGroups), so its topic is unknown`,
          );
        }
        events = objectionEvents(ctx, [topic ?? ""], at, "import");
        break;
      }
      case "bounces":
        events = [suppressionEvent(ctx, "hard-bounce", at)];
        break;
      case "invalid-emails":
        events = [suppressionEvent(ctx, "hard-bounce", at, "SendGrid: invalid email")];
        break;
      case "spam-reports":
        events = [suppressionEvent(ctx, "spam-complaint", at)];
        break;
      case "blocks":
        return refuse(
          "a block is a temporary refusal by the receiving server, not about the address: nothing to import",
        );
    }
    return { line: record.line, ok: true, email: address, facts: undefined, events };
  });
}

/** SendGrid's `created`: Unix seconds from the API, a date and time from the UI. */
function timeOfCreated(ctx: ImportContext, text: string | undefined): number {
  if (text === undefined) return refuse("created: a suppression without a date");
  if (/^\d{9,11}$/.test(text)) return checkTime(ctx, Number(text) * 1000, "created");
  const reading = readInstant(text);
  if (!reading.ok) return refuse("created: not a date or time");
  return checkTime(ctx, reading.at, "created");
}
