-- Accounts: users and the provider identities they sign in with.

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash   text,  -- NULL for accounts that only sign in through a provider
    role            text NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'staff', 'admin')),
    email_verified  boolean NOT NULL DEFAULT false,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- One account per address, whatever its case.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE oauth_identities (
    provider    text NOT NULL CHECK (provider IN ('google', 'facebook')),
    subject     text NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX oauth_identities_user_idx ON oauth_identities (user_id);
