-- Notes and their tags (SQLite: an INTEGER PRIMARY KEY numbers the rows by itself).
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);

CREATE TABLE tags (
    note INTEGER NOT NULL REFERENCES notes (id),
    tag TEXT NOT NULL CHECK (length(tag) BETWEEN 1 AND 40),
    PRIMARY KEY (note, tag)
);
