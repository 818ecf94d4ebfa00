import type {
  DeliveryOutcome,
  MailProvider,
  OutgoingMail,
  SendOptions,
} from "../services/delivery/provider.js";

/**
 * Which provider a mail goes to: SendGrid when there is a key for it — the
 * tenant's own (passed per send) or the installation's — else the local
 * outbox, so a gateway with no account still shows what it would send.
 */
export function chooseProvider(options: {
  outbox: MailProvider;
  sendgrid: MailProvider;
  hasInstallationKey: boolean;
}): MailProvider {
  return {
    name: options.hasInstallationKey ? "sendgrid" : "outbox",
    send(mail: OutgoingMail, sendOptions: SendOptions = {}): Promise<DeliveryOutcome> {
      const viaSendGrid = options.hasInstallationKey || Boolean(sendOptions.apiKey);
      return (viaSendGrid ? options.sendgrid : options.outbox).send(mail, sendOptions);
    },
  };
}
