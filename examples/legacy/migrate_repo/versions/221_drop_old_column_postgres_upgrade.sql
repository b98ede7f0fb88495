ALTER TABLE instances DROP COLUMN old_state;
