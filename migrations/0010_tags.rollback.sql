SET LOCAL lock_timeout = '5s';

DROP TABLE book_tags;
DROP TABLE tags;
