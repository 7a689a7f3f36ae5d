-- The role lives on the user. Every existing and new user is a customer; only
-- an operator's `admin grant <username>` (the dev server binary's command,
-- pointed at this database) makes an admin, never a request.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'customer'
    CHECK (role IN ('customer', 'admin'));
