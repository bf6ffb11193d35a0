-- The example resource. Ids are chosen by clients (PUT /items/{id}); listings are
-- sorted by id, which the primary key's index serves.
CREATE TABLE items (
    id BIGINT PRIMARY KEY CHECK (id >= 0),
    name TEXT NOT NULL,
    description TEXT
);
