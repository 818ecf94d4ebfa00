/**
 * The page behind a double opt-in link (`/c/TOKEN`): `GET` shows what is to
 * be confirmed and a button, and changes nothing (link scanners follow
 * links); the button's `POST` confirms.
 */
import type { Topic } from "../../domain/topic.js";
import type { TenantRow } from "../../services/tenant.js";
import { type Locale, TEXT } from "./i18n.js";
import { Layout } from "./layout.js";

export interface ConfirmPageProps {
  locale: Locale;
  tenant: Pick<TenantRow, "name" | "legalName" | "address" | "registrationId" | "contactEmail">;
  topics: readonly Pick<Topic, "id" | "name" | "description">[];
  status: "pending" | "confirmed";
}

export function ConfirmPage(props: ConfirmPageProps) {
  const { locale, tenant } = props;
  const t = TEXT[locale];
  const confirmed = props.status === "confirmed";
  const list = (
    <ul class="topics">
      {props.topics.map((topic) => (
        <li>
          <span class="name">{topic.name}</span>
          {topic.description.trim() ? <span class="desc">{topic.description.trim()}</span> : null}
        </li>
      ))}
    </ul>
  );
  return (
    <Layout
      locale={locale}
      title={confirmed ? t.confirmedTitle : t.confirmTitle}
      brand={tenant.name}
      identity={tenant}
      contactEmail={tenant.contactEmail}
    >
      {confirmed ? (
        <>
          <div class="status" role="status">
            <h1>{t.confirmedTitle}</h1>
          </div>
          <p>{t.confirmedBody(tenant.legalName)}</p>
          {list}
        </>
      ) : (
        <>
          <h1>{t.confirmTitle}</h1>
          <p>{t.confirmIntro(tenant.legalName)}</p>
          {list}
          <form method="post">
            <input type="hidden" name="lang" value={locale} />
            <p>
              <button type="submit">{t.confirmButton}</button>
            </p>
          </form>
          <p class="hint">{t.confirmIgnore}</p>
        </>
      )}
    </Layout>
  );
}
