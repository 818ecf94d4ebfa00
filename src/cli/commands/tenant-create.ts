import { CreateTenantBody } from "../../http/schemas.js";
import { type Command, EXIT, parseOptions } from "../command.js";
import { validateInput } from "../input.js";
import { printJson } from "../output.js";

const options = {
  name: { type: "string" },
  "legal-name": { type: "string" },
  address: { type: "string" },
  "registration-id": { type: "string" },
  "contact-email": { type: "string" },
  domain: { type: "string", multiple: true },
  country: { type: "string" },
  mode: { type: "string" },
  json: { type: "boolean" },
} as const;

export const tenantCreate: Command = {
  name: "tenant create",
  summary: "Create a tenant and its first admin key (shown once)",
  help: `Usage: grounds tenant create --name NAME --legal-name NAME --address ADDRESS
                             --registration-id ID --contact-email EMAIL
                             --domain DOMAIN [--domain DOMAIN …] --country CC
                             [--mode jurisdictional|strict] [--json]

Creates a tenant (a sender: the business whose mail goes through Grounds) and
its first admin key, as POST /v1/tenants does. The key is printed once; only
its hash is stored.

Options:
  --name NAME              the tenant's name, as its recipients know it
  --legal-name NAME        the legal entity
  --address ADDRESS        its postal address (shown in every footer)
  --registration-id ID     company registration number
  --contact-email EMAIL    where data-subject requests go
  --domain DOMAIN          a verified sending domain (repeat for more)
  --country CC             ISO 3166-1 alpha-2 country of establishment
  --mode MODE              jurisdictional (default) or strict
  --json                   print the answer of the HTTP API: {tenant, adminKey}

Example:
  grounds tenant create --name Optika --legal-name "Optika Praha s.r.o." \\
    --address "Vodičkova 1, 110 00 Praha 1" --registration-id CZ12345678 \\
    --contact-email privacy@optika.example --domain optika.example --country CZ`,

  async run(args, context) {
    const values = parseOptions(args, options);
    const input = validateInput(
      CreateTenantBody,
      {
        name: values.name,
        legalName: values["legal-name"],
        address: values.address,
        registrationId: values["registration-id"],
        contactEmail: values["contact-email"],
        domains: values.domain,
        country: values.country,
        mode: values.mode,
      },
      {
        legalName: "--legal-name",
        registrationId: "--registration-id",
        contactEmail: "--contact-email",
        domains: "--domain",
      },
    );
    // Loaded only now: help and refused input need none of the database code.
    const { createTenant } = await import("../../services/create-tenant.js");
    const { deps } = await context.gateway();
    const created = await createTenant(deps, input);
    if (values.json) {
      printJson(context.io, created);
      return EXIT.ok;
    }
    const { tenant, adminKey } = created;
    context.io.out(
      [
        `Tenant created: ${tenant.id} (${tenant.country}, mode ${tenant.mode})`,
        "",
        `Admin key ${adminKey.id}, shown only this once (only its hash is stored):`,
        "",
        `  ${adminKey.key}`,
        "",
      ].join("\n"),
    );
    return EXIT.ok;
  },
};
