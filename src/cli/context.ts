import { type Config, readConfig } from "../config.js";
import type { createNodeGateway } from "../entry/node-gateway.js";

export type NodeGateway = Awaited<ReturnType<typeof createNodeGateway>>;

/** Where a command writes, a line at a time: stdout for its answer, stderr for errors and notices. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/**
 * What a command runs with: the configuration, read once from the
 * environment, and the gateway, opened only when a command first needs it
 * (so `--help` and usage errors touch no database). The caller closes it.
 */
export class Context {
  #config: Config | undefined;
  #gateway: Promise<NodeGateway> | undefined;
  readonly #closers: (() => void)[] = [];

  constructor(
    readonly io: Io,
    private readonly env: Record<string, string | undefined>,
  ) {}

  config(): Config {
    this.#config ??= readConfig(this.env);
    return this.#config;
  }

  /** The gateway on the configured database: opened, migrated, secrets ready. */
  gateway(): Promise<NodeGateway> {
    this.#gateway ??= this.#openGateway();
    return this.#gateway;
  }

  /** Runs when the command is done, whatever happened. */
  onClose(close: () => void): void {
    this.#closers.push(close);
  }

  close(): void {
    for (const close of this.#closers.splice(0).reverse()) close();
  }

  async #openGateway(): Promise<NodeGateway> {
    const config = this.config();
    // Imported here, not above: the app is large, and help needs none of it.
    const { createNodeGateway, operatorTokenNotice } = await import("../entry/node-gateway.js");
    const gateway = await createNodeGateway(config);
    this.onClose(() => gateway.close());
    if (gateway.generatedOperatorToken) {
      // Only its hash is stored: if this is not shown now, it is lost.
      this.io.err(operatorTokenNotice(gateway.generatedOperatorToken));
    }
    return gateway;
  }
}
