/**
 * Real MIME messages as mail clients send a `List-Unsubscribe` mailto
 * (RFC 6068: the subject as given, percent-decoded by the client), for the
 * inbound tests: plain, quoted-printable (an RFC 2047 Q-word subject and a
 * QP body with soft line breaks through the token), multipart with a
 * base64 B-word subject, and a forwarded request with the token only in
 * the quoted original.
 */

const CRLF = "\r\n";
const lines = (...parts: string[]) => parts.join(CRLF);

function headers(from: string, to: string, subject: string, id: string): string[] {
  return [
    `From: Reader <${from}>`,
    `To: <${to}>`,
    `Subject: ${subject}`,
    "Date: Mon, 23 Nov 2026 12:00:00 +0000",
    `Message-ID: <${id}@mail.example>`,
    "MIME-Version: 1.0",
  ];
}

/**
 * Quoted-printable (RFC 2045 §6.7): bytes outside printable ASCII and "=" as
 * =XX, line breaks as CRLF, and soft line breaks ("=" at a line's end) every
 * 40 characters or so, which cut the token in two.
 */
function quotedPrintable(text: string): string {
  return text
    .split("\n")
    .map((line) => {
      const encoded = [...Buffer.from(line, "utf8")]
        .map((byte) =>
          byte >= 33 && byte <= 126 && byte !== 61
            ? String.fromCharCode(byte)
            : byte === 32
              ? " "
              : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`,
        )
        .join("");
      const out: string[] = [];
      let rest = encoded;
      while (rest.length > 40) {
        // Never inside an =XX escape.
        let cut = 40;
        const lastEquals = rest.lastIndexOf("=", cut);
        if (lastEquals > cut - 3) cut = lastEquals;
        out.push(rest.slice(0, cut));
        rest = rest.slice(cut);
      }
      out.push(rest);
      return out.join(`=${CRLF}`);
    })
    .join(CRLF);
}

export function plainMessage(from: string, to: string, token: string): string {
  return lines(
    ...headers(from, to, `unsubscribe ${token}`, "plain-1"),
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "This message was sent to unsubscribe you.",
    "",
  );
}

export function quotedPrintableMessage(from: string, to: string, token: string): string {
  // An RFC 2047 Q-encoded word: "_" is a space; the token's "-" and "_" are escaped.
  const qWord = `=?UTF-8?Q?unsubscribe_${token.replace(/_/g, "=5F").replace(/-/g, "=2D")}?=`;
  return lines(
    ...headers(from, to, qWord, "qp-1"),
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    quotedPrintable(`Odhlásit prosím: unsubscribe ${token}`),
    "",
  );
}

export function multipartMessage(from: string, to: string, token: string): string {
  const bWord = `=?UTF-8?B?${Buffer.from(`Odhlásit: unsubscribe ${token}`).toString("base64")}?=`;
  return lines(
    ...headers(from, to, bWord, "multi-1"),
    'Content-Type: multipart/alternative; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Please stop.",
    "--b1",
    "Content-Type: text/html; charset=utf-8",
    "",
    "<p>Please stop.</p>",
    "--b1--",
    "",
  );
}

export function forwardedMessage(from: string, to: string, token: string): string {
  return lines(
    ...headers(from, to, "Fwd: please take me off", "fwd-1"),
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    quotedPrintable(
      [
        "Please take me off this list.",
        "",
        "---------- Forwarded message ---------",
        `From: Reader <${from}>`,
        `To: <${to}>`,
        `Subject: unsubscribe ${token}`,
        "",
      ].join("\n"),
    ),
    "",
  );
}

export function questionMessage(from: string, to: string): string {
  return lines(
    ...headers(from, to, "Where is my order?", "question-1"),
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Hello, I ordered glasses last week. Where are they?",
    "",
  );
}
