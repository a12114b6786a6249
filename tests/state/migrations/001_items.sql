-- The items table; a ; and a ? in a comment are not statements or placeholders.
CREATE TABLE items (
    id BIGINT PRIMARY KEY,
    body TEXT NOT NULL DEFAULT 'it''s; fine'
);
