-- Back to private reads in a transaction that names the caller first (set_caller).
-- The functions are this migration's own, and only the code that came with it calls them: the
-- code a rollback goes back to reads in a transaction, so dropping them breaks no client.
-- squawk-ignore-file ban-drop-function
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DROP FUNCTION read_bookings(uuid, text, uuid, timestamptz, uuid, int);
DROP FUNCTION read_booking(uuid, text, uuid, uuid);
DROP FUNCTION read_order_invoice(uuid, text, uuid, uuid, boolean);
DROP FUNCTION read_invoice(uuid, text, uuid, uuid, boolean);
DROP FUNCTION read_orders(uuid, text, uuid, uuid, int);
DROP FUNCTION read_order(uuid, text, uuid, uuid);
DROP FUNCTION read_api_keys(uuid, text, uuid);
DROP FUNCTION read_profile(uuid, text, uuid);
DROP FUNCTION read_settings(uuid, text, uuid);
DROP FUNCTION name_caller(uuid, text);
