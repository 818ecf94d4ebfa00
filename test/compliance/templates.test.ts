import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePlaceholders } from "../../src/domain/compliance/placeholders.js";
import { FOOTERS, TEMPLATES } from "../../src/generated/templates.js";

const root = join(import.meta.dirname, "..", "..");
const MARKETING_FOOTER = [
  "{{grounds.why}}",
  "{{grounds.sender}}",
  "{{grounds.objection}}",
  'href="{{grounds.unsubscribe_url}}"',
  "{{grounds.unsubscribe_label}}",
  'href="{{grounds.preferences_url}}"',
  "{{grounds.preferences_label}}",
];

describe("compiled templates", () => {
  it("are generated for every templates/*.mjml", () => {
    const sources = readdirSync(join(root, "templates"))
      .filter((f) => f.endsWith(".mjml"))
      .map((f) => f.replace(/\.mjml$/, ""))
      .sort();
    expect(Object.keys(TEMPLATES).sort()).toEqual(sources);
    expect(sources).toEqual(expect.arrayContaining(["newsletter", "service", "confirm"]));
  });

  it("are compiled HTML, with no MJML left and placeholders kept", () => {
    for (const template of Object.values(TEMPLATES)) {
      expect(template.html.startsWith("<!doctype html>")).toBe(true);
      expect(template.html).not.toMatch(/<mj-/);
      expect(template.html).toContain("{{grounds.sender}}");
      expect(template.text.length).toBeGreaterThan(0);
      expect(template.text).not.toMatch(/<[a-z]/i);
      expect(() => parsePlaceholders(template.html, { sections: true })).not.toThrow();
    }
  });

  it("include the compliance footer part in the marketing template", () => {
    const newsletter = TEMPLATES.newsletter;
    expect(newsletter?.class).toBe("marketing");
    for (const piece of MARKETING_FOOTER) {
      expect(newsletter?.html).toContain(piece);
    }
    expect(newsletter?.text).toContain(
      "{{grounds.unsubscribe_label}} [{{grounds.unsubscribe_url}}]",
    );
    // The newsletter's own content, with a repeat for its items.
    expect(newsletter?.html).toContain("{{#items}}");
    expect(newsletter?.html).toContain('href="{{url}}"');
    expect(newsletter?.placeholders).toContainEqual({ name: "url", kind: "url", section: "items" });
  });

  it("keep the marketing footer out of service and confirmation templates", () => {
    for (const name of ["service", "confirm"]) {
      const template = TEMPLATES[name];
      expect(template?.html).toContain("{{grounds.why}}");
      expect(template?.html).not.toContain("{{grounds.unsubscribe_url}}");
      expect(template?.html).not.toContain("{{grounds.objection}}");
    }
    expect(TEMPLATES.confirm?.class).toBe("confirmation");
    expect(TEMPLATES.confirm?.html).toContain('href="{{confirm_url}}"');
    expect(TEMPLATES.service?.class).toBe("service");
  });

  it("provide the footer alone for caller content, without a document around it", () => {
    for (const piece of MARKETING_FOOTER) expect(FOOTERS.marketing.html).toContain(piece);
    expect(FOOTERS.service.html).toContain("{{grounds.sender}}");
    expect(FOOTERS.service.html).not.toContain("unsubscribe");
    for (const footer of Object.values(FOOTERS)) {
      expect(footer.html).not.toMatch(/<\/?(html|head|body)[\s>]/i);
    }
  });

  it("are never compiled at run time: nothing in src imports mjml", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (
          /\.tsx?$/.test(entry.name) &&
          /from\s+["']mjml|import\(["']mjml/.test(readFileSync(path, "utf8"))
        ) {
          offenders.push(path);
        }
      }
    };
    walk(join(root, "src"));
    expect(offenders).toEqual([]);
  });

  it("are not rebuilt when nothing changed", () => {
    const out = join(root, "src", "generated", "templates.ts");
    const build = () =>
      execFileSync(
        join(root, "node_modules", ".bin", "tsx"),
        [join(root, "scripts", "build-templates.ts")],
        {
          cwd: root,
          env: {
            ...process.env,
            PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
          },
        },
      );
    build(); // up to date (npm test's pretest has normally done this already)
    const before = statSync(out).mtimeMs;
    build();
    expect(statSync(out).mtimeMs).toBe(before);
  });
});
