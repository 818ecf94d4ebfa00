/**
 * Compiles templates/*.mjml into src/generated/templates.ts (docs/design.md §7): MJML
 * runs here, at build time, and never at run time — it would cost the edge
 * build a 3 MB bundle and a 1.5 s first request. What is generated is plain
 * HTML with its `{{placeholders}}`, the plain-text part derived from it, the
 * placeholders each template expects, and the compliance footer alone (for
 * a caller's own html/text).
 *
 *   npm run build:templates            compiles when an input changed
 *   npm run build:templates -- --force compiles anyway
 *
 * Run by `prepare` (npm install) and before test, start, dev, typecheck and
 * build. Fast when nothing changed: the output records a hash of its inputs
 * (the templates, this script, the placeholder code, the mjml and
 * html-to-text versions) and the script stops when it matches, without
 * loading MJML at all.
 *
 * Checks that fail the build: MJML errors (strict validation), an unbalanced
 * `{{#section}}`, an unknown `{{grounds.*}}` placeholder, a marketing
 * template without the compliance footer part, or a service/confirmation
 * template without the sender part or with marketing placeholders.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { htmlToText } from "../src/domain/compliance/html-to-text.js";
import {
  listPlaceholders,
  type PlaceholderNode,
  parsePlaceholders,
} from "../src/domain/compliance/placeholders.js";
import {
  COMMON_RECIPIENT_VALUES,
  MARKETING_RECIPIENT_VALUES,
} from "../src/domain/compliance/substitutions.js";
import type {
  CompiledFooter,
  CompiledTemplate,
  TemplateClass,
} from "../src/domain/compliance/template-types.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const templatesDir = join(root, "templates");
const outFile = join(root, "src", "generated", "templates.ts");
const require = createRequire(import.meta.url);

/** Gateway values a template may use, filled at compose time or per recipient. */
const GROUNDS_VALUES = new Set([
  "grounds.legal_name",
  "grounds.contact_email",
  "grounds.topic_name",
  ...[...COMMON_RECIPIENT_VALUES, ...MARKETING_RECIPIENT_VALUES].map((v) => `grounds.${v}`),
]);
const MARKETING_ONLY = MARKETING_RECIPIENT_VALUES.map((v) => `grounds.${v}`);
const SENDER_PART = ["grounds.sender", "grounds.why"];
const CLASSES: readonly TemplateClass[] = ["marketing", "service", "confirmation"];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".mjml"))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function versionOf(pkg: string): string {
  try {
    return JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), "utf8")).version;
  } catch {
    return "missing";
  }
}

function inputsHash(): string {
  const hash = createHash("sha256");
  const sources = [
    fileURLToPath(import.meta.url),
    ...[
      "placeholders.ts",
      "html-to-text.ts",
      "escape.ts",
      "template-types.ts",
      "substitutions.ts",
    ].map((f) => join(root, "src", "domain", "compliance", f)),
    ...filesUnder(templatesDir),
  ];
  for (const file of sources) {
    hash.update(relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  hash.update(`mjml@${versionOf("mjml")} html-to-text@${versionOf("html-to-text")}`);
  return hash.digest("hex");
}

function recordedHash(): string | null {
  if (!existsSync(outFile)) return null;
  const match = /^\/\/ inputs: ([0-9a-f]{64})$/m.exec(readFileSync(outFile, "utf8"));
  return match?.[1] ?? null;
}

interface Metadata {
  class: TemplateClass;
  description: string;
}

const METADATA = /^\s*<!--\s*grounds:template\b([\s\S]*?)-->/;

function metadataOf(name: string, source: string): Metadata {
  const block = METADATA.exec(source)?.[1];
  if (!block) throw new Error(`${name}: starts with no <!-- grounds:template … --> comment`);
  const field = (key: string) => new RegExp(`^\\s*${key}:\\s*(.+)$`, "m").exec(block)?.[1]?.trim();
  const cls = field("class");
  if (!cls || !(CLASSES as readonly string[]).includes(cls)) {
    throw new Error(`${name}: class must be one of ${CLASSES.join(", ")}`);
  }
  return { class: cls as TemplateClass, description: field("description") ?? "" };
}

type Mjml2Html = (
  mjml: string,
  options: Record<string, unknown>,
) => Promise<{ html: string; errors: { formattedMessage?: string; message: string }[] }>;

async function loadMjml(): Promise<Mjml2Html> {
  // Imported by name at run time only (mjml ships no type declarations, and
  // loading it costs a second, spent only when something changed).
  const specifier = "mjml";
  const mod = (await import(specifier)) as { default: Mjml2Html | { default: Mjml2Html } };
  return typeof mod.default === "function" ? mod.default : mod.default.default;
}

async function compile(mjml2html: Mjml2Html, source: string, filePath: string): Promise<string> {
  const result = await mjml2html(source, {
    filePath,
    ignoreIncludes: false,
    includePath: templatesDir,
    validationLevel: "strict",
    keepComments: false,
    // No minify: it needs cssnano at top level, and compaction below is enough.
    minify: false,
  });
  if (result.errors.length > 0) {
    throw new Error(
      `${relative(root, filePath)}: ${result.errors.map((e) => e.formattedMessage ?? e.message).join("; ")}`,
    );
  }
  return compact(result.html);
}

/**
 * Drops indentation and blank lines. Safe for this HTML: leading whitespace
 * between tags renders as nothing, and inside text a line break still
 * separates words; no template uses <pre> or <textarea>.
 */
function compact(html: string): string {
  return html
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join("\n");
}

/** What MJML puts inside <body>'s wrapper div: the sections themselves. */
function bodyFragment(html: string): string {
  const body = html.search(/<body[\s>]/i);
  const wrapperStart = html.indexOf("<div", body);
  const wrapperEnd = html.indexOf(">", wrapperStart);
  const bodyEnd = html.search(/<\/body>/i);
  const closing = html.lastIndexOf("</div>", bodyEnd);
  if (body < 0 || wrapperStart < 0 || wrapperEnd < 0 || closing < wrapperEnd) {
    throw new Error("Unexpected MJML output: no body wrapper");
  }
  return html.slice(wrapperEnd + 1, closing).trim();
}

/**
 * A repeated or optional part must hold whole elements: MJML merges the
 * Outlook conditional tables of adjacent sections, so a `{{#section}}` that
 * is not an <mj-raw> between sections would cut a table in two.
 */
function checkSectionsBalanced(name: string, nodes: readonly PlaceholderNode[]): void {
  for (const node of nodes) {
    if (node.type !== "section") continue;
    const markup = node.children
      .map((child) => (child.type === "text" ? child.value : ""))
      .join("");
    for (const tag of ["table", "tr", "td", "div"]) {
      const opened = markup.match(new RegExp(`<${tag}[\\s>]`, "gi"))?.length ?? 0;
      const closed = markup.match(new RegExp(`</${tag}>`, "gi"))?.length ?? 0;
      if (opened !== closed) {
        throw new Error(
          `${name}: {{#${node.name}}} cuts a <${tag}> in two; put the section markers in <mj-raw> between sections`,
        );
      }
    }
    checkSectionsBalanced(name, node.children);
  }
}

function placeholdersOf(name: string, html: string, text: string) {
  const nodes = parsePlaceholders(html, { sections: true });
  checkSectionsBalanced(name, nodes);
  parsePlaceholders(text, { sections: true });
  const placeholders = listPlaceholders(nodes);
  for (const p of placeholders) {
    if (p.name.startsWith("grounds.") && !GROUNDS_VALUES.has(p.name)) {
      throw new Error(`${name}: unknown placeholder {{${p.name}}}`);
    }
    if (p.name.startsWith("recipient.") && p.kind === "url") {
      throw new Error(
        `${name}: {{${p.name}}} cannot be a whole link (links are checked per message)`,
      );
    }
    const dotted = p.name.includes(".");
    if (dotted && !p.name.startsWith("grounds.") && !p.name.startsWith("recipient.")) {
      throw new Error(`${name}: {{${p.name}}}: only grounds.* and recipient.* names have a dot`);
    }
  }
  return placeholders;
}

function checkFooter(name: string, cls: TemplateClass, html: string): void {
  const has = (p: string) => html.includes(`{{${p}}}`);
  const missing = SENDER_PART.filter((p) => !has(p));
  if (missing.length > 0) {
    throw new Error(`${name}: misses ${missing.join(", ")} — include parts/sender.mjml`);
  }
  if (cls === "marketing") {
    const absent = MARKETING_ONLY.filter((p) => !has(p));
    if (absent.length > 0) {
      throw new Error(
        `${name}: a marketing template must include parts/footer.mjml (misses ${absent.join(", ")})`,
      );
    }
  } else {
    const present = MARKETING_ONLY.filter(has);
    if (present.length > 0) {
      throw new Error(`${name}: a ${cls} template must not carry ${present.join(", ")}`);
    }
  }
}

async function build(): Promise<void> {
  const force = process.argv.includes("--force");
  const hash = inputsHash();
  if (!force && recordedHash() === hash) return;

  let mjml2html: Mjml2Html;
  try {
    mjml2html = await loadMjml();
  } catch (error) {
    // An install without devDependencies keeps what was generated before.
    if (existsSync(outFile)) {
      console.warn("build-templates: mjml is not installed; keeping src/generated/templates.ts");
      return;
    }
    throw error;
  }
  const started = Date.now();

  const templates: Record<string, CompiledTemplate> = {};
  const files = readdirSync(templatesDir)
    .filter((f) => f.endsWith(".mjml"))
    .sort();
  for (const file of files) {
    const name = file.replace(/\.mjml$/, "");
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`${file}: name templates [a-z0-9-]`);
    const path = join(templatesDir, file);
    const source = readFileSync(path, "utf8");
    const meta = metadataOf(file, source);
    const html = await compile(mjml2html, source.replace(METADATA, ""), path);
    const text = htmlToText(html);
    checkFooter(file, meta.class, html);
    templates[name] = {
      name,
      class: meta.class,
      description: meta.description,
      html,
      text,
      placeholders: placeholdersOf(file, html, text),
    };
  }

  const footers: Record<"marketing" | "service", CompiledFooter> = {
    marketing: await footer(mjml2html, "parts/footer.mjml"),
    service: await footer(mjml2html, "parts/sender.mjml"),
  };
  checkFooter("parts/footer.mjml", "marketing", footers.marketing.html);
  checkFooter("parts/sender.mjml", "service", footers.service.html);

  const out = [
    "// Generated by scripts/build-templates.ts from templates/ — do not edit.",
    `// inputs: ${hash}`,
    'import type { CompiledFooter, CompiledTemplate } from "../domain/compliance/template-types.js";',
    "",
    `export const TEMPLATES: Readonly<Record<string, CompiledTemplate>> = ${JSON.stringify(templates, null, 2)};`,
    "",
    `export const FOOTERS: Readonly<Record<"marketing" | "service", CompiledFooter>> = ${JSON.stringify(footers, null, 2)};`,
    "",
  ].join("\n");
  mkdirSync(dirname(outFile), { recursive: true });
  // Written whole, then renamed: a concurrent reader never sees half a file.
  const temporary = `${outFile}.${process.pid}.tmp`;
  writeFileSync(temporary, out);
  renameSync(temporary, outFile);
  console.error(
    `build-templates: ${files.length} templates → ${relative(root, outFile)} in ${Date.now() - started} ms`,
  );
}

async function footer(mjml2html: Mjml2Html, part: string): Promise<CompiledFooter> {
  const source = `<mjml><mj-head><mj-include path="./parts/head.mjml" /></mj-head><mj-body><mj-include path="./${part}" /></mj-body></mjml>`;
  const html = bodyFragment(await compile(mjml2html, source, templatesDir));
  return { html, text: htmlToText(html) };
}

build().catch((error: unknown) => {
  console.error(`build-templates: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
