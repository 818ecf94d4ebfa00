// html-to-text 10 ships no type declarations; this covers what Grounds uses.
declare module "html-to-text" {
  export interface SelectorDefinition {
    selector: string;
    format?: string;
    options?: Record<string, unknown>;
  }
  export interface HtmlToTextOptions {
    wordwrap?: number | false | null;
    selectors?: SelectorDefinition[];
    baseElements?: { selectors?: string[] };
  }
  export function convert(html: string, options?: HtmlToTextOptions): string;
}
