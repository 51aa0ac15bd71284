// A Makapix-like schema and deterministic data for sampler tests and the sampling benchmark.
// Covers: a self-reference (users.invited_by, comments.parent_id), a two-table cycle
// (users.featured_post_id <-> posts.user_id, deferrable), composite keys (follows, reactions),
// a composite FK (follow_events -> follows), an identity ALWAYS column and a generated column.
import type { ClientBase } from "pg";
import { qualified, quoteIdent, readCatalog } from "./sampler/catalog";

export const MAKAPIX_SCHEMA = `
CREATE TABLE categories (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE users (
  id bigserial PRIMARY KEY,
  handle text NOT NULL UNIQUE,
  email text NOT NULL UNIQUE,
  bio text,
  invited_by bigint REFERENCES users(id),
  featured_post_id bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE posts (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users(id),
  category_id int REFERENCES categories(id),
  title text NOT NULL,
  title_length int GENERATED ALWAYS AS (length(title)) STORED,
  body text,
  metadata jsonb,
  tags text[],
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE users ADD CONSTRAINT users_featured_post_fkey
  FOREIGN KEY (featured_post_id) REFERENCES posts(id) DEFERRABLE INITIALLY IMMEDIATE;
CREATE TABLE comments (
  id bigserial PRIMARY KEY,
  post_id bigint NOT NULL REFERENCES posts(id),
  user_id bigint NOT NULL REFERENCES users(id),
  parent_id bigint REFERENCES comments(id),
  body text NOT NULL
);
CREATE TABLE reactions (
  post_id bigint NOT NULL REFERENCES posts(id),
  user_id bigint NOT NULL REFERENCES users(id),
  emoji text NOT NULL,
  PRIMARY KEY (post_id, user_id, emoji)
);
CREATE TABLE follows (
  user_id bigint NOT NULL REFERENCES users(id),
  followee_id bigint NOT NULL REFERENCES users(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, followee_id),
  CHECK (user_id <> followee_id)
);
CREATE TABLE follow_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL,
  followee_id bigint NOT NULL,
  kind text NOT NULL,
  FOREIGN KEY (user_id, followee_id) REFERENCES follows(user_id, followee_id)
);
CREATE TABLE auth_tokens (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users(id),
  token text NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL
);
`;

/** Table names of the schema, parents first. */
export const MAKAPIX_TABLES = ["categories", "users", "posts", "comments", "reactions", "follows", "follow_events", "auth_tokens"];

/**
 * Fills the schema with `users` users and about 22 rows per user overall. Deterministic:
 * the same size gives the same data. Chains stay short (an inviter has no inviter), so the
 * parent closure of a sample adds only a few rows. Set-based statements only (the "first post" and
 * "first comment" lookups are one GROUP BY each, not a subquery per row), so time grows linearly.
 */
export async function seedMakapix(client: ClientBase, users: number): Promise<void> {
  const n = Math.floor(users);
  // A deterministic pseudo-random pick in 1..m: PostgreSQL's own integer hash of a counter.
  const pick = (x: string, m: string) => `(1 + (hashint8(${x})::bigint + 2147483648) % (${m}))`;
  // The rows are consistent by construction, so the load skips the per-row foreign-key triggers
  // (session_replication_role = replica: superuser only, as the test clusters' user is) and every
  // foreign key is then checked once, set-based, below.
  await client.query(`
    BEGIN;
    SET LOCAL session_replication_role = replica;
    INSERT INTO categories (name) SELECT 'category ' || g FROM generate_series(1, 8) g;
    INSERT INTO users (handle, email, bio, invited_by, created_at)
      SELECT 'artist' || g, 'artist' || g || '@mail.example', 'Pixel artist #' || g || E' \\u2014 likes ''8-bit'' art',
             CASE WHEN g % 10 = 0 THEN g - 5 END, timestamptz '2024-01-01' + g * interval '1 minute'
        FROM generate_series(1, ${n}) g;
    INSERT INTO posts (user_id, category_id, title, body, metadata, tags, created_at)
      SELECT ${pick("g * 8 + 1", `${n}`)}, CASE WHEN g % 4 <> 0 THEN 1 + g % 8 END, 'Post ' || g,
             'Body of post ' || g || E'\\nsecond line', jsonb_build_object('w', 16 + g % 48, 'h', 16 + g % 32),
             ARRAY['pixel', 'tag' || (g % 13)], timestamptz '2024-02-01' + g * interval '1 second'
        FROM generate_series(1, ${3 * n}) g;
    UPDATE users u SET featured_post_id = f.first
      FROM (SELECT user_id, min(id) AS first FROM posts GROUP BY user_id) f
     WHERE f.user_id = u.id AND u.id % 3 = 0;
    CREATE INDEX ON comments (post_id);
    INSERT INTO comments (post_id, user_id, body)
      SELECT ${pick("g * 8 + 2", `${3 * n}`)}, ${pick("g * 8 + 3", `${n}`)}, 'Nice work #' || g
        FROM generate_series(1, ${6 * n}) g;
    UPDATE comments c SET parent_id = f.first
      FROM (SELECT post_id, min(id) AS first FROM comments GROUP BY post_id) f
     WHERE f.post_id = c.post_id AND f.first < c.id AND c.id % 10 = 0;
    INSERT INTO reactions (post_id, user_id, emoji)
      SELECT ${pick("g * 8 + 4", `${3 * n}`)}, ${pick("g * 8 + 5", `${n}`)}, (ARRAY['heart', 'star', 'fire'])[1 + g % 3]
        FROM generate_series(1, ${5 * n}) g
      ON CONFLICT DO NOTHING;
    INSERT INTO follows (user_id, followee_id)
      SELECT a, b FROM (
        SELECT ${pick("g * 8 + 6", `${n}`)} AS a, ${pick("g * 8 + 7", `${n}`)} AS b FROM generate_series(1, ${5 * n}) g
      ) x WHERE a <> b
      ON CONFLICT DO NOTHING;
    INSERT INTO follow_events (user_id, followee_id, kind)
      SELECT user_id, followee_id, 'followed' FROM follows WHERE hashint8(user_id * ${n} + followee_id) % 3 = 0;
    INSERT INTO auth_tokens (user_id, token, expires_at)
      SELECT g, md5('token-' || g), timestamptz '2099-01-01'
        FROM generate_series(1, ${n}) g;
    -- Makapix indexes every foreign-key column (fabkury/makapix api/app/models.py, index=True);
    -- built after the load, which is faster than maintaining them row by row.
    CREATE INDEX ON posts (user_id);
    CREATE INDEX ON posts (category_id);
    CREATE INDEX ON comments (user_id);
    CREATE INDEX ON comments (parent_id);
    CREATE INDEX ON reactions (user_id);
    CREATE INDEX ON follows (followee_id);
    CREATE INDEX ON follow_events (user_id, followee_id);
    CREATE INDEX ON auth_tokens (user_id);
    CREATE INDEX ON users (invited_by);
    COMMIT;
    ANALYZE;
  `);
  const catalog = await readCatalog(client, "public");
  for (const fk of catalog.foreignKeys) {
    const set = fk.columns.map((c) => `ch.${quoteIdent(c)} IS NOT NULL`).join(" AND ");
    const join = fk.columns.map((c, i) => `pa.${quoteIdent(fk.refColumns[i])} = ch.${quoteIdent(c)}`).join(" AND ");
    const r = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${qualified("public", fk.table)} ch WHERE ${set} AND NOT EXISTS (SELECT 1 FROM ${qualified("public", fk.refTable)} pa WHERE ${join})`,
    );
    if (r.rows[0].n > 0) throw new Error(`seedMakapix: ${r.rows[0].n} row(s) of ${fk.table} break ${fk.name}`);
  }
}
