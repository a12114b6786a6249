-- Listing the notes of a tag reads this index.
CREATE INDEX tags_by_tag ON tags (tag, note);
