/**
 * The page behind every unsubscribe link (`/u/TOKEN`): a one-button
 * unsubscribe from the link's topic, then the preference center — every
 * marketing topic of the tenant with its current state — and "unsubscribe
 * from everything". Forms post back to the same URL (the token is the
 * capability; no cookie, no session) and work without JavaScript.
 */
import type { Topic } from "../../domain/topic.js";
import type { TenantRow } from "../../services/tenant.js";
import { type Locale, TEXT } from "./i18n.js";
import { Layout } from "./layout.js";

export interface PreferencesPageProps {
  locale: Locale;
  tenant: Pick<TenantRow, "name" | "legalName" | "address" | "registrationId" | "contactEmail">;
  /** The topic of the message the link came in. */
  topic: Pick<Topic, "id" | "name">;
  topics: readonly { topic: Pick<Topic, "id" | "name" | "description">; receiving: boolean }[];
  blocked: boolean;
  /** What the last action did, shown first (after a POST). */
  status?: string | undefined;
}

export function PreferencesPage(props: PreferencesPageProps) {
  const { locale, tenant, topic } = props;
  const t = TEXT[locale];
  const linkTopic = props.topics.find((p) => p.topic.id === topic.id);
  const receivingLinkTopic = linkTopic?.receiving ?? false;
  return (
    <Layout
      locale={locale}
      title={t.unsubscribeTitle(topic.name)}
      brand={tenant.name}
      identity={tenant}
      contactEmail={tenant.contactEmail}
    >
      {props.status ? (
        <p class="status" role="status" tabindex={-1} autofocus>
          {props.status}
        </p>
      ) : null}
      <section aria-labelledby="unsubscribe-heading">
        <h1 id="unsubscribe-heading">{t.unsubscribeTitle(topic.name)}</h1>
        <p>{t.unsubscribeIntro(tenant.legalName, topic.name)}</p>
        {receivingLinkTopic && !props.blocked ? (
          <form method="post">
            <input type="hidden" name="intent" value="unsubscribe" />
            <input type="hidden" name="lang" value={locale} />
            <p>
              <button type="submit">{t.unsubscribeButton(topic.name)}</button>
            </p>
            <p class="hint">{t.unsubscribeHint}</p>
          </form>
        ) : (
          <p>
            <strong>
              {topic.name}: {t.notReceiving}
            </strong>
          </p>
        )}
      </section>
      <section id="preferences" aria-labelledby="preferences-heading">
        <h2 id="preferences-heading">{t.preferencesHeading}</h2>
        {props.blocked ? (
          <p>{t.blockedNotice}</p>
        ) : (
          <form method="post">
            <input type="hidden" name="intent" value="save" />
            <input type="hidden" name="lang" value={locale} />
            <p>{t.consentStatement(tenant.legalName)}</p>
            <fieldset>
              <legend>{t.topicsLegend}</legend>
              {props.topics.map(({ topic: each, receiving }, index) => (
                <div class="topic">
                  <input
                    type="checkbox"
                    id={`topic-${index}`}
                    name="topic"
                    value={each.id}
                    checked={receiving}
                    aria-describedby={`topic-${index}-state`}
                  />
                  <div class="text">
                    <label for={`topic-${index}`}>
                      <span class="name">{each.name}</span>
                      {each.description.trim() ? (
                        <span class="desc">{each.description.trim()}</span>
                      ) : null}
                    </label>
                    <span class="state" id={`topic-${index}-state`}>
                      {receiving ? t.receiving : t.notReceiving}
                    </span>
                  </div>
                </div>
              ))}
            </fieldset>
            <button type="submit" class="secondary">
              {t.saveButton}
            </button>
          </form>
        )}
      </section>
      {/* Always offered: an objection is a right whatever else holds (GDPR Art. 21(3)). */}
      <section aria-labelledby="everything-heading">
        <h2 id="everything-heading">{t.everythingHeading}</h2>
        <p>{t.everythingHint(tenant.legalName)}</p>
        <form method="post">
          <input type="hidden" name="intent" value="unsubscribe-all" />
          <input type="hidden" name="lang" value={locale} />
          <button type="submit" class="danger">
            {t.everythingButton}
          </button>
        </form>
      </section>
    </Layout>
  );
}
