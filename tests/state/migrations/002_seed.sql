/* Applied once, however many servers start together: seed_log gets exactly one row. */
CREATE TABLE seed_log (note TEXT NOT NULL);
INSERT INTO seed_log (note) VALUES ('seeded');
