import { describe, expect, it } from "vitest";
import { readConfig } from "../src/config.js";

describe("configuration", () => {
  it("links to the gateway on the port it listens on when PUBLIC_URL is unset", () => {
    expect(readConfig({}).publicUrl).toBe("http://localhost:8787");
    expect(readConfig({ PORT: "8799" }).publicUrl).toBe("http://localhost:8799");
  });

  it("uses PUBLIC_URL as given, whatever the port, without a trailing slash", () => {
    expect(readConfig({ PORT: "8799", PUBLIC_URL: "https://grounds.example.com/" }).publicUrl).toBe(
      "https://grounds.example.com",
    );
  });

  it("refuses a PUBLIC_URL that is not a URL, naming the variable only", () => {
    expect(() => readConfig({ PUBLIC_URL: "grounds.example.com" })).toThrow(
      /^Invalid configuration: PUBLIC_URL: /,
    );
  });
});
