-- pnav's PostgreSQL privileges (deploy/README.md, section 5). Two roles: the owner (pnav_owner) owns the database and
-- runs `pnav migrate`; the application (pnav) reads and writes the tables but may never UPDATE, DELETE or TRUNCATE
-- the audit log — a compromised process can add entries, not rewrite them. Run as the owner after every migration
-- (a migration may add tables):
--   psql "postgresql://pnav_owner@HOST/pnav" -v app=pnav -v ON_ERROR_STOP=1 -f deploy/postgresql-roles.sql
-- tests/audit/test_roles_postgres.py runs this file as written.
GRANT CONNECT ON DATABASE :"DBNAME" TO :"app";
GRANT USAGE ON SCHEMA public TO :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
-- The audit log: append and read only.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM :"app";
-- The migrations' bookkeeping belongs to the owner.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM :"app";
