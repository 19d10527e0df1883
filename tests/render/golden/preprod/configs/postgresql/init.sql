-- PostgreSQL initialisation for vpai (preprod): generated file, do not edit.
-- Holds secrets (mode 0400, owned by the postgres uid).  Run by psql as the
-- superuser (docker-entrypoint-initdb.d on first start, or `psql -f` later):
-- every statement is idempotent, so it can be re-run to repair or to rotate
-- the application passwords.
--
-- Differences from the spec (docs/SPEC-DEVIATIONS.md, "PostgreSQL"):
-- - one role per application, each with its own password when the secrets
--   catalogue has it (else the shared postgresql_password);
-- - PostgreSQL 15+ no longer lets every role create objects in schema
--   public: each application role owns its database AND its public schema;
-- - the official postgres image has no pgvector: "vector" is attempted in a
--   block that reports a WARNING instead of aborting the whole init.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- --- n8n ---
SELECT 'CREATE ROLE n8n LOGIN'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'n8n')\gexec
ALTER ROLE n8n WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'FAKEn8ndbpasswordFAKEn8ndbpasswordFAKEn8';
SELECT 'CREATE DATABASE n8n OWNER n8n ENCODING ''UTF8'' TEMPLATE template0'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'n8n')\gexec
ALTER DATABASE n8n OWNER TO n8n;
REVOKE ALL ON DATABASE n8n FROM PUBLIC;
GRANT ALL PRIVILEGES ON DATABASE n8n TO n8n;

-- --- openclaw ---
SELECT 'CREATE ROLE openclaw LOGIN'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'openclaw')\gexec
ALTER ROLE openclaw WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'FAKEopenclawdbpasswordFAKEopenclawdbpass';
SELECT 'CREATE DATABASE openclaw OWNER openclaw ENCODING ''UTF8'' TEMPLATE template0'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'openclaw')\gexec
ALTER DATABASE openclaw OWNER TO openclaw;
REVOKE ALL ON DATABASE openclaw FROM PUBLIC;
GRANT ALL PRIVILEGES ON DATABASE openclaw TO openclaw;

-- --- litellm ---
SELECT 'CREATE ROLE litellm LOGIN'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'litellm')\gexec
ALTER ROLE litellm WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'FAKElitellmdbpasswordFAKElitellmdbpasswo';
SELECT 'CREATE DATABASE litellm OWNER litellm ENCODING ''UTF8'' TEMPLATE template0'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'litellm')\gexec
ALTER DATABASE litellm OWNER TO litellm;
REVOKE ALL ON DATABASE litellm FROM PUBLIC;
GRANT ALL PRIVILEGES ON DATABASE litellm TO litellm;

-- --- schemas and extensions (per database) ---
\connect n8n
ALTER SCHEMA public OWNER TO n8n;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO n8n;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

\connect openclaw
ALTER SCHEMA public OWNER TO openclaw;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO openclaw;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
DO $init$
BEGIN
	CREATE EXTENSION IF NOT EXISTS vector;
EXCEPTION WHEN OTHERS THEN
	RAISE WARNING 'extension "vector" (pgvector) is not available in database "openclaw": %', SQLERRM
	    USING HINT = 'use an image that ships pgvector (e.g. pgvector/pgvector) and re-run this script';
END
$init$;

\connect litellm
ALTER SCHEMA public OWNER TO litellm;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO litellm;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

