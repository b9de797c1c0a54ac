SET LOCAL lock_timeout = '5s';

DROP TABLE order_lines;
DROP TABLE orders;
