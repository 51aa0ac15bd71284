// Guards that keep the sampler away from production targets and passwords out of its output.

/** True when the name carries the prod env token: `prod`/`production` as a `_`/`-`/`.` separated token. */
export function hasProdToken(name: string): boolean {
  return name
    .toLowerCase()
    .split(/[-_.\s]+/)
    .some((token) => token === "prod" || token === "production");
}

export interface UrlParts {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/** Parses a postgres:// or postgresql:// URL. Throws without echoing the URL (it may hold a password). */
export function parsePgUrl(url: string): UrlParts {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error("not a valid postgres:// URL (value not shown: it may contain a password)");
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new Error(`expected a postgres:// URL, got a ${u.protocol}// URL`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  const user = decodeURIComponent(u.username);
  return {
    host: (u.searchParams.get("host") ?? decodeURIComponent(u.hostname)) || "localhost",
    port: Number(u.searchParams.get("port") ?? (u.port || 5432)),
    database: database || user,
    user,
    password: decodeURIComponent(u.password),
  };
}

/** The URL with its password replaced by `***`, for logs and summaries. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|key/i.test(key)) u.searchParams.set(key, "***");
    }
    return u.toString();
  } catch {
    return "<unparseable url>";
  }
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

/** Same server and database by URL alone (the live check after connecting is stronger). */
export function sameDatabaseByUrl(a: UrlParts, b: UrlParts): boolean {
  const host = (h: string) => (LOOPBACK.has(h.toLowerCase()) ? "loopback" : h.toLowerCase());
  return host(a.host) === host(b.host) && a.port === b.port && a.database === b.database;
}

/** Scrubs every known password from a message before it is printed. */
export function scrub(message: string, secrets: string[]): string {
  let out = message;
  for (const s of secrets) {
    if (s) {
      out = out.split(s).join("***");
      const encoded = encodeURIComponent(s);
      if (encoded !== s) out = out.split(encoded).join("***");
    }
  }
  return out;
}
