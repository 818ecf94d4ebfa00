import { DefineTopicBody } from "../../http/schemas.js";
import { type Command, EXIT, parseOptions, UsageError } from "../command.js";
import { validateInput } from "../input.js";
import { printJson } from "../output.js";

const options = {
  tenant: { type: "string" },
  id: { type: "string" },
  name: { type: "string" },
  description: { type: "string" },
  class: { type: "string" },
  category: { type: "string", multiple: true },
  "service-basis": { type: "string" },
  json: { type: "boolean" },
} as const;

export const topicAdd: Command = {
  name: "topic add",
  summary: "Define a topic (a kind of message) for a tenant",
  help: `Usage: grounds topic add --tenant TENANT_ID --id ID --name NAME
                         --class marketing|service [--category CATEGORY …]
                         [--description TEXT] [--service-basis contract|legal-obligation]
                         [--json]

Defines a topic, as POST /v1/topics does. A topic is never redefined: past
decisions were made against its class and categories.

Options:
  --tenant TENANT_ID       the tenant (ten_…)
  --id ID                  lower-case letters, digits, '.', '_' or '-'
  --name NAME              as recipients see it on the preference page
  --class CLASS            marketing, or service (sent without consent)
  --category CATEGORY      a product category a marketing topic promotes
                           (repeat for more)
  --description TEXT       what the topic's messages are about
  --service-basis BASIS    for service topics: contract (default) or
                           legal-obligation
  --json                   print the answer of the HTTP API

Example:
  grounds topic add --tenant ten_… --id tips --name Tips --class marketing \\
    --category accessories`,

  async run(args, context) {
    const values = parseOptions(args, options);
    if (values.tenant === undefined) throw new UsageError("missing --tenant");
    const input = validateInput(
      DefineTopicBody,
      {
        id: values.id,
        name: values.name,
        description: values.description,
        class: values.class,
        categories: values.category,
        serviceBasis: values["service-basis"],
      },
      { categories: "--category", serviceBasis: "--service-basis" },
    );
    // Loaded only now: help and refused input need none of the database code.
    const { defineTopic } = await import("../../services/define-topic.js");
    const { loadTenant } = await import("../../services/tenant.js");
    const { deps } = await context.gateway();
    const tenant = await loadTenant(deps, values.tenant);
    const topic = await defineTopic(deps, tenant.id, input);
    if (values.json) {
      printJson(context.io, topic);
      return EXIT.ok;
    }
    const basis =
      topic.class === "service"
        ? `sent on ${topic.serviceBasis}`
        : `categories: ${topic.categories.join(", ") || "none"}`;
    context.io.out(`Topic added: ${topic.id} for tenant ${tenant.id} (${topic.class}; ${basis})`);
    return EXIT.ok;
  },
};
