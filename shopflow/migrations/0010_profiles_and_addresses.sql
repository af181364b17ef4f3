-- Customer accounts (users component): the profile beside auth's `users` row, preferences,
-- and the address book; and auth's account tokens learn to carry an email change.
-- Every table here hangs off users(id) ON DELETE CASCADE: erasing an account deletes them.

-- What auth's `users` row does not hold; the row also serialises a user's address book
-- writes (locked FOR UPDATE first), so it exists once the user has written one.
CREATE TABLE profiles (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    phone       text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),  -- E.164
    locale      text CHECK (locale ~ '^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$'),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- No row: the defaults (theme system, language from the locale, the shop's currency, no marketing).
CREATE TABLE preferences (
    user_id              uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    theme                text NOT NULL CHECK (theme IN ('light', 'dark', 'system')),
    language             text NOT NULL CHECK (language ~ '^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$'),
    currency             text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    marketing_opt_in     boolean NOT NULL,
    marketing_opt_in_at  timestamptz,  -- when consent was last given or withdrawn
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE addresses (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label                text CHECK (length(label) BETWEEN 1 AND 50),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    line1                text NOT NULL CHECK (length(line1) BETWEEN 1 AND 200),
    line2                text CHECK (length(line2) <= 200),
    city                 text NOT NULL CHECK (length(city) BETWEEN 1 AND 100),
    region               text CHECK (length(region) <= 100),
    postal_code          text NOT NULL CHECK (length(postal_code) BETWEEN 1 AND 20),
    country              text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    phone                text CHECK (length(phone) <= 32),
    is_default_shipping  boolean NOT NULL DEFAULT false,
    is_default_billing   boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_user_idx ON addresses (user_id, created_at DESC, id DESC);
-- One default of each kind per user, whatever races.
CREATE UNIQUE INDEX addresses_default_shipping_key ON addresses (user_id) WHERE is_default_shipping;
CREATE UNIQUE INDEX addresses_default_billing_key ON addresses (user_id) WHERE is_default_billing;

-- An email change: the link goes to the new address, which the token carries.
ALTER TABLE account_tokens ADD COLUMN new_email text CHECK (length(new_email) BETWEEN 3 AND 254);
ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_purpose_check;
ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password', 'change_email'));
ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_change_email_check
    CHECK ((purpose = 'change_email') = (new_email IS NOT NULL));
