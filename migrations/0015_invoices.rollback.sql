SET LOCAL lock_timeout = '5s';

DROP TABLE invoices;
DROP SEQUENCE invoice_number_seq;
