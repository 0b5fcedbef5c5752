-- HMS schema of record for PostgreSQL: the same tables, keys, CHECKs and derived tables as
-- schema.sql (SQLite), in PostgreSQL's own terms. `hms init-db` applies it when HMS_DATABASE
-- is a postgresql:// URL; every statement may run again. hms/models.py mirrors it, and
-- tests/test_schema.py fails when the models and either schema disagree.
-- Timestamps (created_at, cancelled_at) are UTC; appointment date/time are clinic wall-clock.
-- Where SQLite has FTS5 trigram indexes (patient_search, user_search), PostgreSQL has pg_trgm
-- GIN indexes on the columns themselves, which serve ILIKE '%...%'.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- SQLite's json_valid(), for the CHECK on treatments' medicines: malformed JSON is a CHECK
-- violation (an IntegrityError), as it is on SQLite.
CREATE OR REPLACE FUNCTION json_valid(value text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM value::json;
    RETURN true;
EXCEPTION WHEN others THEN
    RETURN false;
END $$;

CREATE TABLE IF NOT EXISTS "department" (
    "id"          SERIAL NOT NULL PRIMARY KEY,
    "name"        VARCHAR(80) NOT NULL,
    "description" TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS "department_name" ON "department" ("name");

CREATE TABLE IF NOT EXISTS "users" (
    "id"            SERIAL NOT NULL PRIMARY KEY,
    "username"      VARCHAR(40) NOT NULL,
    "email"         VARCHAR(254)            -- walk-in patients may have none yet
                    CHECK ("email" <> ''),
    "password_hash" VARCHAR(255),           -- NULL: cannot log in until a password is set
    "role"          VARCHAR(20) NOT NULL
                    CHECK (role IN ('admin', 'doctor', 'patient', 'receptionist')),
    "is_active"     BOOLEAN NOT NULL DEFAULT true,
    "created_at"    TIMESTAMP NOT NULL
);
-- Earlier versions could store a blank e-mail (one typed space) as ''; it means "none".
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'users_email_check'
                   AND conrelid = '"users"'::regclass) THEN
        UPDATE "users" SET "email" = NULL WHERE "email" = '';
        ALTER TABLE "users" ADD CONSTRAINT "users_email_check" CHECK ("email" <> '');
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS "users_username" ON "users" ("username");
CREATE UNIQUE INDEX IF NOT EXISTS "users_email" ON "users" ("email");
CREATE INDEX IF NOT EXISTS "users_role_created_at" ON "users" ("role", "created_at");
-- The admin's search by any part of a username or e-mail.
CREATE INDEX IF NOT EXISTS "users_username_trgm" ON "users" USING gin ("username" gin_trgm_ops);
CREATE INDEX IF NOT EXISTS "users_email_trgm" ON "users" USING gin ("email" gin_trgm_ops);

-- How many logins each role has, active and not, kept exact by a trigger.
CREATE TABLE IF NOT EXISTS "user_tally" (
    "role"      VARCHAR(20) NOT NULL
                CHECK (role IN ('admin', 'doctor', 'patient', 'receptionist')),
    "is_active" INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    "users"     INTEGER NOT NULL DEFAULT 0 CHECK (users >= 0),
    PRIMARY KEY ("role", "is_active")
);
INSERT INTO "user_tally" ("role", "is_active") VALUES ('admin', 0), ('admin', 1),
    ('doctor', 0), ('doctor', 1), ('patient', 0), ('patient', 1), ('receptionist', 0),
    ('receptionist', 1) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION "user_tally_follow"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE "user_tally" SET "users" = "users" - 1
        WHERE "role" = OLD."role" AND "is_active" = OLD."is_active"::int;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE "user_tally" SET "users" = "users" + 1
        WHERE "role" = NEW."role" AND "is_active" = NEW."is_active"::int;
    END IF;
    RETURN NULL;
END $$;
-- Deferred to the commit, like appointment_follow below (which says why).
DROP TRIGGER IF EXISTS "user_tally_insert" ON "users";
CREATE CONSTRAINT TRIGGER "user_tally_insert" AFTER INSERT OR DELETE ON "users"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "user_tally_follow"();
DROP TRIGGER IF EXISTS "user_tally_update" ON "users";
CREATE CONSTRAINT TRIGGER "user_tally_update" AFTER UPDATE OF "role", "is_active" ON "users"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD."role" != NEW."role" OR OLD."is_active" != NEW."is_active")
    EXECUTE FUNCTION "user_tally_follow"();

CREATE TABLE IF NOT EXISTS "patient" (
    "id"                SERIAL NOT NULL PRIMARY KEY,   -- the patient number
    "user_id"           INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "full_name"         VARCHAR(120) NOT NULL,
    "gender"            VARCHAR(10) NOT NULL CHECK (gender IN ('female', 'male', 'other')),
    "dob"               DATE NOT NULL,
    "address"           TEXT NOT NULL DEFAULT '',
    "phone"             VARCHAR(30) NOT NULL DEFAULT '',
    "height_cm"         REAL CHECK (height_cm BETWEEN 30 AND 260),
    "weight_kg"         REAL CHECK (weight_kg BETWEEN 1 AND 400),
    "blood_group"       VARCHAR(3)
                        CHECK (blood_group IN ('A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-')),
    "is_disabled"       BOOLEAN NOT NULL DEFAULT false
);
-- Earlier versions had a column "profile_photo_url" that nothing set or showed; photos are in
-- profile_photo below. Looked up first, so that a current database never waits for the
-- table's exclusive lock at start-up.
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'patient'
               AND column_name = 'profile_photo_url') THEN
        ALTER TABLE "patient" DROP COLUMN "profile_photo_url";
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS "patient_user_id" ON "patient" ("user_id");
CREATE INDEX IF NOT EXISTS "patient_phone" ON "patient" ("phone");
-- Search by any part of a name or phone.
CREATE INDEX IF NOT EXISTS "patient_full_name_trgm"
    ON "patient" USING gin ("full_name" gin_trgm_ops);
CREATE INDEX IF NOT EXISTS "patient_phone_trgm" ON "patient" USING gin ("phone" gin_trgm_ops);

-- Search by the digits of a phone: every ending of each patient's phone digits, three digits
-- or more, as on SQLite (schema.sql says why). Compared byte by byte (COLLATE "C"), so that
-- "digits >= q AND digits < q || ':'" is the range of endings that start with q.
CREATE OR REPLACE FUNCTION "phone_endings_of"(phone text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE AS $$
    SELECT substr(d, n) FROM (SELECT regexp_replace(phone, '[ +()-]', '', 'g') AS d) AS p,
           generate_series(1, length(d) - 2) AS n
$$;
CREATE OR REPLACE VIEW "phone_endings" AS
SELECT "digits", "patient"."id" AS "patient_id"
FROM "patient", "phone_endings_of"("patient"."phone") AS "digits";
CREATE TABLE IF NOT EXISTS "phone_search" (
    "digits"     TEXT COLLATE "C" NOT NULL,
    "patient_id" INTEGER NOT NULL,
    PRIMARY KEY ("digits", "patient_id")
);
CREATE OR REPLACE FUNCTION "phone_search_follow"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM "phone_search" WHERE "patient_id" = OLD."id"
            AND "digits" IN (SELECT "phone_endings_of"(OLD."phone"));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO "phone_search" SELECT DISTINCT "phone_endings_of"(NEW."phone"), NEW."id"
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER "phone_search_insert" AFTER INSERT OR DELETE ON "patient"
    FOR EACH ROW EXECUTE FUNCTION "phone_search_follow"();
CREATE OR REPLACE TRIGGER "phone_search_update" AFTER UPDATE OF "phone" ON "patient"
    FOR EACH ROW EXECUTE FUNCTION "phone_search_follow"();

CREATE TABLE IF NOT EXISTS "doctor" (
    "id"               SERIAL NOT NULL PRIMARY KEY,
    "user_id"          INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "full_name"        VARCHAR(120) NOT NULL,
    "department_id"    INTEGER NOT NULL REFERENCES "department" ("id") ON DELETE RESTRICT,
    "experience_years" INTEGER NOT NULL DEFAULT 0 CHECK (experience_years BETWEEN 0 AND 70),
    "about"            TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS "doctor_user_id" ON "doctor" ("user_id");
CREATE INDEX IF NOT EXISTS "doctor_department_id" ON "doctor" ("department_id");

-- One row per slot of a doctor's diary; is_available false is a slot the doctor closed.
CREATE TABLE IF NOT EXISTS "doctor_availability" (
    "id"           SERIAL NOT NULL PRIMARY KEY,
    "doctor_id"    INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "date"         DATE NOT NULL,
    "time_slot"    TIME NOT NULL,
    "is_available" BOOLEAN NOT NULL DEFAULT true
);
CREATE UNIQUE INDEX IF NOT EXISTS "doctor_availability_doctor_id_date_time_slot"
    ON "doctor_availability" ("doctor_id", "date", "time_slot");

-- A doctor's weekly plan (weekday 0 = Monday), from which the slots of new weeks are opened.
CREATE TABLE IF NOT EXISTS "working_hours" (
    "id"         SERIAL NOT NULL PRIMARY KEY,
    "doctor_id"  INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "weekday"    INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    "start_time" TIME NOT NULL,
    "end_time"   TIME NOT NULL CHECK (end_time > start_time)
);
CREATE UNIQUE INDEX IF NOT EXISTS "working_hours_doctor_id_weekday_start_time"
    ON "working_hours" ("doctor_id", "weekday", "start_time");

-- Appointments are never deleted: cancelling and rescheduling are states, with who and when.
CREATE TABLE IF NOT EXISTS "appointment" (
    "id"                  SERIAL NOT NULL PRIMARY KEY,
    "patient_id"          INTEGER NOT NULL REFERENCES "patient" ("id") ON DELETE RESTRICT,
    "doctor_id"           INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE RESTRICT,
    "date"                DATE NOT NULL,
    "time"                TIME NOT NULL,
    "status"              VARCHAR(12) NOT NULL DEFAULT 'booked'
                          CHECK (status IN ('booked', 'checked_in', 'completed', 'no_show',
                                            'cancelled', 'rescheduled')),
    "reason"              TEXT NOT NULL DEFAULT '',
    "created_at"          TIMESTAMP NOT NULL,
    "booked_by_id"        INTEGER REFERENCES "users" ("id") ON DELETE SET NULL,
    "cancelled_at"        TIMESTAMP,
    "cancelled_by_id"     INTEGER REFERENCES "users" ("id") ON DELETE SET NULL,
    "cancel_reason"       TEXT,
    "rescheduled_from_id" INTEGER REFERENCES "appointment" ("id") ON DELETE RESTRICT,
    -- The visit as it went (UTC), no-shows marked by the day's run, late cancellations and
    -- overbooking: see schema.sql.
    "confirmed_at"        TIMESTAMP,
    "checked_in_at"       TIMESTAMP,
    "started_at"          TIMESTAMP,
    "ended_at"            TIMESTAMP,
    "no_show_auto"        BOOLEAN NOT NULL DEFAULT false,
    "no_show_undone_at"   TIMESTAMP,
    "late_cancel"         BOOLEAN NOT NULL DEFAULT false,
    "overbook_reason"     TEXT CHECK (overbook_reason <> ''),
    "overbook"            BOOLEAN NOT NULL DEFAULT false
                          CHECK (NOT overbook OR overbook_reason IS NOT NULL)
);
-- An appointment table from before these columns gets them.
ALTER TABLE "appointment" ADD COLUMN IF NOT EXISTS "confirmed_at" TIMESTAMP,
    ADD COLUMN IF NOT EXISTS "checked_in_at" TIMESTAMP,
    ADD COLUMN IF NOT EXISTS "started_at" TIMESTAMP,
    ADD COLUMN IF NOT EXISTS "ended_at" TIMESTAMP,
    ADD COLUMN IF NOT EXISTS "no_show_auto" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS "no_show_undone_at" TIMESTAMP,
    ADD COLUMN IF NOT EXISTS "late_cancel" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS "overbook_reason" TEXT CHECK (overbook_reason <> ''),
    ADD COLUMN IF NOT EXISTS "overbook" BOOLEAN NOT NULL DEFAULT false
        CHECK (NOT overbook OR overbook_reason IS NOT NULL);
CREATE INDEX IF NOT EXISTS "appointment_doctor_id_date_time"
    ON "appointment" ("doctor_id", "date", "time");
CREATE INDEX IF NOT EXISTS "appointment_patient_id_date_time"
    ON "appointment" ("patient_id", "date", "time");
CREATE INDEX IF NOT EXISTS "appointment_status_date" ON "appointment" ("status", "date");
CREATE UNIQUE INDEX IF NOT EXISTS "appointment_rescheduled_from_id"
    ON "appointment" ("rescheduled_from_id");
CREATE INDEX IF NOT EXISTS "appointment_date_time" ON "appointment" ("date", "time");
-- The rule the product rests on: a live appointment holds its slot, for the doctor and for
-- the patient. Only cancelled and rescheduled appointments free it. An overbooked appointment
-- holds no slot of the doctor's (see schema.sql); the doctor's index of a version before
-- overbooking is replaced.
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema()
               AND indexname = 'appointment_live_doctor_slot'
               AND indexdef NOT LIKE '%overbook%') THEN
        DROP INDEX "appointment_live_doctor_slot";
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS "appointment_live_doctor_slot"
    ON "appointment" ("doctor_id", "date", "time")
    WHERE status IN ('booked', 'checked_in', 'completed', 'no_show') AND NOT overbook;
CREATE INDEX IF NOT EXISTS "appointment_overbook_date" ON "appointment" ("date")
    WHERE overbook;
CREATE UNIQUE INDEX IF NOT EXISTS "appointment_live_patient_slot"
    ON "appointment" ("patient_id", "date", "time")
    WHERE status IN ('booked', 'checked_in', 'completed', 'no_show');

-- How many appointments are in each status, kept exact by a trigger.
CREATE TABLE IF NOT EXISTS "appointment_tally" (
    "status"       VARCHAR(12) NOT NULL PRIMARY KEY
                   CHECK (status IN ('booked', 'checked_in', 'completed', 'no_show',
                                     'cancelled', 'rescheduled')),
    "appointments" INTEGER NOT NULL DEFAULT 0 CHECK (appointments >= 0)
);
INSERT INTO "appointment_tally" ("status") VALUES ('booked'), ('checked_in'), ('completed'),
    ('no_show'), ('cancelled'), ('rescheduled') ON CONFLICT DO NOTHING;

-- Each doctor's appointments on each day, counted by status.
CREATE TABLE IF NOT EXISTS "appointment_day" (
    "date"        DATE NOT NULL,
    "doctor_id"   INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "booked"      INTEGER NOT NULL DEFAULT 0 CHECK ("booked" >= 0),
    "checked_in"  INTEGER NOT NULL DEFAULT 0 CHECK ("checked_in" >= 0),
    "completed"   INTEGER NOT NULL DEFAULT 0 CHECK ("completed" >= 0),
    "no_show"     INTEGER NOT NULL DEFAULT 0 CHECK ("no_show" >= 0),
    "cancelled"   INTEGER NOT NULL DEFAULT 0 CHECK ("cancelled" >= 0),
    "rescheduled" INTEGER NOT NULL DEFAULT 0 CHECK ("rescheduled" >= 0),
    PRIMARY KEY ("date", "doctor_id")
);
CREATE INDEX IF NOT EXISTS "appointment_day_doctor_id_date"
    ON "appointment_day" ("doctor_id", "date");

-- Each doctor's patients: their appointments together, the latest date and the name.
CREATE TABLE IF NOT EXISTS "doctor_patient" (
    "doctor_id"  INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "patient_id" INTEGER NOT NULL REFERENCES "patient" ("id") ON DELETE CASCADE,
    "full_name"  VARCHAR(120) NOT NULL,
    "visits"     INTEGER NOT NULL CHECK (visits > 0),
    "last_date"  DATE NOT NULL,
    PRIMARY KEY ("doctor_id", "patient_id")
);
CREATE INDEX IF NOT EXISTS "doctor_patient_doctor_id_full_name"
    ON "doctor_patient" ("doctor_id", "full_name");
CREATE INDEX IF NOT EXISTS "doctor_patient_patient_id" ON "doctor_patient" ("patient_id");

-- The three rollups of appointments in one trigger function, so that every change takes the
-- rows it counts in one order: the tally's status rows, then the doctor-days, then the pairs.
CREATE OR REPLACE FUNCTION "doctor_patient_recount"(doctor integer, patient integer)
RETURNS void LANGUAGE sql AS $$
    DELETE FROM "doctor_patient" WHERE "doctor_id" = doctor AND "patient_id" = patient;
    INSERT INTO "doctor_patient"
    SELECT a."doctor_id", a."patient_id", p."full_name", count(*), max(a."date")
    FROM "appointment" AS a JOIN "patient" AS p ON p."id" = a."patient_id"
    WHERE a."doctor_id" = doctor AND a."patient_id" = patient
    GROUP BY a."doctor_id", a."patient_id", p."full_name";
$$;
CREATE OR REPLACE FUNCTION "appointment_follow"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE "appointment_tally" SET "appointments" = "appointments" + 1
        WHERE "status" = NEW."status";
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE "appointment_tally" SET "appointments" = "appointments" - 1
        WHERE "status" = OLD."status";
    ELSIF OLD."status" != NEW."status" THEN
        -- Both rows locked in the order of their keys, whichever way the status moves: two
        -- changes in opposite directions wait for each other instead of deadlocking.
        PERFORM 1 FROM "appointment_tally" WHERE "status" IN (OLD."status", NEW."status")
        ORDER BY "status" FOR UPDATE;
        UPDATE "appointment_tally" SET "appointments" = "appointments"
            + CASE WHEN "status" = NEW."status" THEN 1 ELSE -1 END
        WHERE "status" IN (OLD."status", NEW."status");
    END IF;
    IF TG_OP = 'UPDATE' AND OLD."status" = NEW."status" AND OLD."date" = NEW."date"
            AND OLD."doctor_id" = NEW."doctor_id" AND OLD."patient_id" = NEW."patient_id" THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE "appointment_day" SET
            "booked" = "booked" - (OLD."status" = 'booked')::int,
            "checked_in" = "checked_in" - (OLD."status" = 'checked_in')::int,
            "completed" = "completed" - (OLD."status" = 'completed')::int,
            "no_show" = "no_show" - (OLD."status" = 'no_show')::int,
            "cancelled" = "cancelled" - (OLD."status" = 'cancelled')::int,
            "rescheduled" = "rescheduled" - (OLD."status" = 'rescheduled')::int
        WHERE "date" = OLD."date" AND "doctor_id" = OLD."doctor_id";
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO "appointment_day" AS d VALUES (NEW."date", NEW."doctor_id",
            (NEW."status" = 'booked')::int, (NEW."status" = 'checked_in')::int,
            (NEW."status" = 'completed')::int, (NEW."status" = 'no_show')::int,
            (NEW."status" = 'cancelled')::int, (NEW."status" = 'rescheduled')::int)
        ON CONFLICT ("date", "doctor_id") DO UPDATE SET
            "booked" = d."booked" + excluded."booked",
            "checked_in" = d."checked_in" + excluded."checked_in",
            "completed" = d."completed" + excluded."completed",
            "no_show" = d."no_show" + excluded."no_show",
            "cancelled" = d."cancelled" + excluded."cancelled",
            "rescheduled" = d."rescheduled" + excluded."rescheduled";
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO "doctor_patient" AS dp
        SELECT NEW."doctor_id", NEW."patient_id", p."full_name", 1, NEW."date"
        FROM "patient" AS p WHERE p."id" = NEW."patient_id"
        ON CONFLICT ("doctor_id", "patient_id") DO UPDATE SET "visits" = dp."visits" + 1,
            "last_date" = GREATEST(dp."last_date", excluded."last_date");
    ELSIF TG_OP = 'DELETE' OR OLD."doctor_id" != NEW."doctor_id"
            OR OLD."patient_id" != NEW."patient_id" OR OLD."date" != NEW."date" THEN
        PERFORM "doctor_patient_recount"(OLD."doctor_id", OLD."patient_id");
        IF TG_OP = 'UPDATE' THEN
            PERFORM "doctor_patient_recount"(NEW."doctor_id", NEW."patient_id");
        END IF;
    END IF;
    RETURN NULL;
END $$;
-- Deferred to the commit: a transaction takes the rollups' shared rows (the tally's status
-- rows above all) only after its own appointment rows and their unique-index entries. Taken
-- at once, a booking waiting on another's entry for its slot while holding the 'booked' row
-- would deadlock with a reschedule holding that entry and waiting for the row.
DROP TRIGGER IF EXISTS "appointment_follow" ON "appointment";
CREATE CONSTRAINT TRIGGER "appointment_follow" AFTER INSERT OR UPDATE OR DELETE
    ON "appointment" DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION "appointment_follow"();
CREATE OR REPLACE FUNCTION "doctor_patient_rename"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE "doctor_patient" SET "full_name" = NEW."full_name" WHERE "patient_id" = NEW."id";
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER "doctor_patient_rename" AFTER UPDATE OF "full_name" ON "patient"
    FOR EACH ROW WHEN (OLD."full_name" != NEW."full_name")
    EXECUTE FUNCTION "doctor_patient_rename"();

CREATE TABLE IF NOT EXISTS "treatment" (
    "id"             SERIAL NOT NULL PRIMARY KEY,
    "appointment_id" INTEGER NOT NULL REFERENCES "appointment" ("id") ON DELETE RESTRICT,
    "author_id"      INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "diagnosis"      TEXT NOT NULL,
    "prescription"   TEXT NOT NULL DEFAULT '',
    "notes"          TEXT NOT NULL DEFAULT '',
    "visit_type"     VARCHAR(12) NOT NULL DEFAULT 'first'
                     CHECK (visit_type IN ('first', 'follow_up', 'emergency', 'routine')),
    "tests_text"     TEXT NOT NULL DEFAULT '',
    "precautions"    TEXT NOT NULL DEFAULT '',
    "follow_up_date" DATE,
    -- a JSON list of {"name", "dose", "frequency", "days"}
    "medicines_json" TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(medicines_json)),
    "created_at"     TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS "treatment_appointment_id" ON "treatment" ("appointment_id");
CREATE INDEX IF NOT EXISTS "treatment_created_at" ON "treatment" ("created_at");
CREATE INDEX IF NOT EXISTS "treatment_author_id_created_at"
    ON "treatment" ("author_id", "created_at");

CREATE TABLE IF NOT EXISTS "audit_log" (
    "id"          SERIAL NOT NULL PRIMARY KEY,
    "user_id"     INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "action"      VARCHAR(40) NOT NULL,
    "patient_id"  INTEGER REFERENCES "patient" ("id") ON DELETE RESTRICT,
    "object_type" VARCHAR(40) NOT NULL,
    "object_id"   INTEGER,
    "created_at"  TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS "audit_log_user_id" ON "audit_log" ("user_id");
-- By patient, newest first (it replaced a plain patient_id index).
DROP INDEX IF EXISTS "audit_log_patient_id";
CREATE INDEX IF NOT EXISTS "audit_log_created_at" ON "audit_log" ("created_at");
CREATE INDEX IF NOT EXISTS "audit_log_patient_id_created_at"
    ON "audit_log" ("patient_id", "created_at");

-- One row per appointment reminder, made by the sweep when the reminder falls due. Claiming
-- it (queued -> sending, with a lease until due_at) is what makes a reminder go out once,
-- whatever re-runs, retries or second workers do. due_at is when the sweep next looks at the
-- row: hands a queued one to the queue again, retries a failed one, or reclaims a 'sending'
-- one whose worker died. expires_at is the appointment's start: nothing is sent after it.
-- handed_over: the message's data reached the SMTP server in the current attempt, so a lost
-- reply makes the outcome 'unknown', never a blind resend. message_id stays the same on every
-- attempt.
CREATE TABLE IF NOT EXISTS "reminder" (
    "id"             SERIAL NOT NULL PRIMARY KEY,
    "appointment_id" INTEGER NOT NULL REFERENCES "appointment" ("id") ON DELETE RESTRICT,
    "status"         VARCHAR(10) NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown',
                                       'expired')),
    "attempts"       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    "last_error"     TEXT,
    "claimed_at"     TIMESTAMP NOT NULL,
    "sent_at"        TIMESTAMP,
    "due_at"         TIMESTAMP NOT NULL,
    "expires_at"     TIMESTAMP NOT NULL,
    "message_id"     VARCHAR(200) NOT NULL,
    "handed_over"    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX IF NOT EXISTS "reminder_appointment_id" ON "reminder" ("appointment_id");
-- A reminder table from before leases (the first PostgreSQL release) gets their columns.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = 'reminder'
                   AND column_name = 'due_at') THEN
        ALTER TABLE "reminder" DROP CONSTRAINT IF EXISTS "reminder_status_check",
            ADD CONSTRAINT "reminder_status_check" CHECK (status IN ('queued', 'sending', 'sent',
                                                         'failed', 'unknown', 'expired')),
            ALTER "status" SET DEFAULT 'queued',
            ADD COLUMN "due_at" TIMESTAMP, ADD COLUMN "expires_at" TIMESTAMP,
            ADD COLUMN "message_id" VARCHAR(200),
            ADD COLUMN "handed_over" BOOLEAN NOT NULL DEFAULT FALSE;
        UPDATE "reminder" SET due_at = claimed_at, expires_at = claimed_at,
            message_id = '<reminder-' || id || '@hms.invalid>';
        ALTER TABLE "reminder" ALTER "due_at" SET NOT NULL, ALTER "expires_at" SET NOT NULL,
            ALTER "message_id" SET NOT NULL;
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS "reminder_status_due_at" ON "reminder" ("status", "due_at");

-- One row per doctor and month: the monthly activity report goes out once; its columns
-- work as the reminder's do, and it expires a week after it fell due.
CREATE TABLE IF NOT EXISTS "report_send" (
    "id"         SERIAL NOT NULL PRIMARY KEY,
    "doctor_id"  INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "period"     VARCHAR(7) NOT NULL,           -- YYYY-MM
    "status"      VARCHAR(10) NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown',
                                    'expired')),
    "attempts"    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    "last_error"  TEXT,
    "claimed_at"  TIMESTAMP NOT NULL,
    "sent_at"     TIMESTAMP,
    "due_at"      TIMESTAMP NOT NULL,
    "expires_at"  TIMESTAMP NOT NULL,
    "message_id"  VARCHAR(200) NOT NULL,
    "handed_over" BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX IF NOT EXISTS "report_send_doctor_id_period"
    ON "report_send" ("doctor_id", "period");
-- A report_send table from before leases (the first PostgreSQL release) gets their columns.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = 'report_send'
                   AND column_name = 'due_at') THEN
        ALTER TABLE "report_send" DROP CONSTRAINT IF EXISTS "report_send_status_check",
            ADD CONSTRAINT "report_send_status_check" CHECK (status IN ('queued', 'sending', 'sent',
                                                         'failed', 'unknown', 'expired')),
            ALTER "status" SET DEFAULT 'queued',
            ADD COLUMN "due_at" TIMESTAMP, ADD COLUMN "expires_at" TIMESTAMP,
            ADD COLUMN "message_id" VARCHAR(200),
            ADD COLUMN "handed_over" BOOLEAN NOT NULL DEFAULT FALSE;
        UPDATE "report_send" SET due_at = claimed_at, expires_at = claimed_at,
            message_id = '<report-' || id || '@hms.invalid>';
        ALTER TABLE "report_send" ALTER "due_at" SET NOT NULL, ALTER "expires_at" SET NOT NULL,
            ALTER "message_id" SET NOT NULL;
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS "report_send_status_due_at" ON "report_send" ("status", "due_at");

-- One row per login (hms/sessions.py). The session cookie carries a random token; only its
-- SHA-256 is kept, and a row with ended_at set (logout, a password change) or idle or older
-- than the settings allow no longer logs anyone in. A logged-in user's flash messages wait in
-- flashes (JSON) rather than in the readable cookie.
CREATE TABLE IF NOT EXISTS "user_session" (
    "id"         SERIAL NOT NULL PRIMARY KEY,
    "user_id"    INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "token_hash" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "seen_at"    TIMESTAMP NOT NULL,
    "ended_at"   TIMESTAMP,
    "flashes"    TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS "user_session_token_hash" ON "user_session" ("token_hash");
CREATE INDEX IF NOT EXISTS "user_session_user_id" ON "user_session" ("user_id");

-- A single-use password link or code (hms/passwords.py): a reset asked for (30 minutes), an
-- invitation to a new account (days), or the confirmation of a registration's e-mail address
-- (which sets the password chosen at registration). The token is an HMAC of the id and nonce under the
-- secret key, so this table alone cannot rebuild one; used_at makes it single-use.
CREATE TABLE IF NOT EXISTS "account_token" (
    "id"         SERIAL NOT NULL PRIMARY KEY,
    "user_id"    INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "purpose"    VARCHAR(10) NOT NULL CHECK (purpose IN ('reset', 'invite', 'confirm')),
    "nonce"      VARCHAR(32) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "expires_at" TIMESTAMP NOT NULL,
    "used_at"    TIMESTAMP,
    "password_hash" VARCHAR(255)             -- confirm: the password chosen at registration
);
CREATE INDEX IF NOT EXISTS "account_token_user_id" ON "account_token" ("user_id");

-- The e-mail that carries a token, sent once like a reminder (its columns work as the
-- reminder's do); it expires with its token. kind 'signup': someone tried to register with
-- an address that has an account, and its owner is told, with a reset link; 'confirm': the
-- link that finishes a registration.
CREATE TABLE IF NOT EXISTS "account_mail" (
    "id"          SERIAL NOT NULL PRIMARY KEY,
    "token_id"    INTEGER NOT NULL REFERENCES "account_token" ("id") ON DELETE CASCADE,
    "kind"        VARCHAR(10) NOT NULL CHECK (kind IN ('reset', 'invite', 'signup', 'confirm')),
    "status"      VARCHAR(10) NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown',
                                    'expired')),
    "attempts"    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    "last_error"  TEXT,
    "claimed_at"  TIMESTAMP NOT NULL,
    "sent_at"     TIMESTAMP,
    "due_at"      TIMESTAMP NOT NULL,
    "expires_at"  TIMESTAMP NOT NULL,
    "message_id"  VARCHAR(200) NOT NULL,
    "handed_over" BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX IF NOT EXISTS "account_mail_token_id" ON "account_mail" ("token_id");
CREATE INDEX IF NOT EXISTS "account_mail_status_due_at" ON "account_mail" ("status", "due_at");

-- The latest PDF of each patient's history, with the digest of what it was laid out from.
CREATE TABLE IF NOT EXISTS "history_pdf" (
    "patient_id" INTEGER NOT NULL PRIMARY KEY REFERENCES "patient" ("id") ON DELETE CASCADE,
    "digest"     VARCHAR(64) NOT NULL,
    "pdf"        BYTEA NOT NULL,
    "created_at" TIMESTAMP NOT NULL
);

-- A background export of a patient's history (a CSV or a PDF), downloadable by its owner only,
-- until it expires; its file is in export_file.
CREATE TABLE IF NOT EXISTS "export_job" (
    "id"          SERIAL NOT NULL PRIMARY KEY,
    "owner_id"    INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "patient_id"  INTEGER NOT NULL REFERENCES "patient" ("id") ON DELETE CASCADE,
    "status"      VARCHAR(10) NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired')),
    "progress"    INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    "error"       TEXT,
    "created_at"  TIMESTAMP NOT NULL,
    "finished_at" TIMESTAMP,
    "expires_at"  TIMESTAMP NOT NULL,
    "kind"        VARCHAR(3) NOT NULL DEFAULT 'csv' CHECK (kind IN ('csv', 'pdf')),
    "due_at"      TIMESTAMP,
    "attempts"    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0)
);
CREATE INDEX IF NOT EXISTS "export_job_owner_id" ON "export_job" ("owner_id");
CREATE INDEX IF NOT EXISTS "export_job_expires_at" ON "export_job" ("expires_at");
ALTER TABLE "export_job" ADD COLUMN IF NOT EXISTS "due_at" TIMESTAMP,
    ADD COLUMN IF NOT EXISTS "attempts" INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0);
CREATE INDEX IF NOT EXISTS "export_job_status_due_at" ON "export_job" ("status", "due_at");

CREATE TABLE IF NOT EXISTS "export_file" (
    "job_id" INTEGER NOT NULL PRIMARY KEY REFERENCES "export_job" ("id") ON DELETE CASCADE,
    "data"   BYTEA NOT NULL
);

-- A patient's or doctor's profile photo, one per login: a JPEG that HMS encoded itself from the
-- upload (at most 256 pixels a side, no metadata), kept in the database so that every web host
-- serves the same one. etag is the JPEG's SHA-256, the photo's URL version and HTTP ETag.
CREATE TABLE IF NOT EXISTS "profile_photo" (
    "user_id"    INTEGER NOT NULL PRIMARY KEY REFERENCES "users" ("id") ON DELETE CASCADE,
    "jpeg"       BYTEA NOT NULL,
    "etag"       VARCHAR(64) NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
);

-- A patient waiting for a time with a doctor (doctor_id), or with any doctor of a
-- specialization (doctor_id NULL), between two days and in a part of the day
-- (hms/waitlist.py). When such a time is free, the first one waiting in order (id) is offered
-- it (slot_offer). One waiting entry per patient for each doctor, and one for each
-- specialization's "any doctor".
CREATE TABLE IF NOT EXISTS "waitlist_entry" (
    "id"             SERIAL NOT NULL PRIMARY KEY,
    "patient_id"     INTEGER NOT NULL REFERENCES "patient" ("id") ON DELETE CASCADE,
    "department_id"  INTEGER NOT NULL REFERENCES "department" ("id") ON DELETE CASCADE,
    "doctor_id"      INTEGER REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "first_day"      DATE NOT NULL,
    "last_day"       DATE NOT NULL CHECK (last_day >= first_day),
    "part_of_day"    VARCHAR(9) NOT NULL DEFAULT 'any'
                     CHECK (part_of_day IN ('any', 'morning', 'afternoon')),
    "reason"         TEXT NOT NULL CHECK (reason <> ''),
    "status"         VARCHAR(8) NOT NULL DEFAULT 'waiting'
                     CHECK (status IN ('waiting', 'booked', 'removed', 'ended')),
    "created_at"     TIMESTAMP NOT NULL,
    "created_by_id"  INTEGER REFERENCES "users" ("id") ON DELETE SET NULL,
    "ended_at"       TIMESTAMP,
    "appointment_id" INTEGER REFERENCES "appointment" ("id") ON DELETE RESTRICT,
    CHECK ((status = 'booked') = (appointment_id IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS "waitlist_entry_status_department_id"
    ON "waitlist_entry" ("status", "department_id");
CREATE INDEX IF NOT EXISTS "waitlist_entry_patient_id" ON "waitlist_entry" ("patient_id");
CREATE UNIQUE INDEX IF NOT EXISTS "waitlist_entry_waiting_doctor"
    ON "waitlist_entry" ("patient_id", "doctor_id") WHERE status = 'waiting';
CREATE UNIQUE INDEX IF NOT EXISTS "waitlist_entry_waiting_department"
    ON "waitlist_entry" ("patient_id", "department_id")
    WHERE status = 'waiting' AND doctor_id IS NULL;

-- A free time offered to a waiting patient, theirs to claim until expires_at; then (or when
-- they decline) it passes to the next one waiting. A time is open to one offer at a time,
-- an entry has one open offer at a time, and an entry is offered a time once.
CREATE TABLE IF NOT EXISTS "slot_offer" (
    "id"             SERIAL NOT NULL PRIMARY KEY,
    "entry_id"       INTEGER NOT NULL REFERENCES "waitlist_entry" ("id") ON DELETE CASCADE,
    "doctor_id"      INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "date"           DATE NOT NULL,
    "time"           TIME NOT NULL,
    "status"         VARCHAR(9) NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'claimed', 'declined', 'passed', 'withdrawn')),
    "created_at"     TIMESTAMP NOT NULL,
    "expires_at"     TIMESTAMP NOT NULL,
    "answered_at"    TIMESTAMP,
    "appointment_id" INTEGER REFERENCES "appointment" ("id") ON DELETE RESTRICT,
    CHECK ((status = 'claimed') = (appointment_id IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS "slot_offer_open_slot"
    ON "slot_offer" ("doctor_id", "date", "time") WHERE status = 'open';
CREATE UNIQUE INDEX IF NOT EXISTS "slot_offer_open_entry"
    ON "slot_offer" ("entry_id") WHERE status = 'open';
CREATE UNIQUE INDEX IF NOT EXISTS "slot_offer_entry_id_doctor_id_date_time"
    ON "slot_offer" ("entry_id", "doctor_id", "date", "time");
-- Open offers by when they run out (the sweep passes those that did). Answered offers pile up
-- with the years and are in no status index: an entry's own are read through its index above.
DROP INDEX IF EXISTS "slot_offer_status_expires_at";
CREATE INDEX IF NOT EXISTS "slot_offer_open_expires_at"
    ON "slot_offer" ("expires_at") WHERE status = 'open';

-- The e-mail that tells a patient of an offer, sent once like a reminder (its columns work
-- as the reminder's do); it expires with the offer.
CREATE TABLE IF NOT EXISTS "offer_mail" (
    "id"          SERIAL NOT NULL PRIMARY KEY,
    "offer_id"    INTEGER NOT NULL REFERENCES "slot_offer" ("id") ON DELETE CASCADE,
    "status"      VARCHAR(10) NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown',
                                    'expired')),
    "attempts"    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    "last_error"  TEXT,
    "claimed_at"  TIMESTAMP NOT NULL,
    "sent_at"     TIMESTAMP,
    "due_at"      TIMESTAMP NOT NULL,
    "expires_at"  TIMESTAMP NOT NULL,
    "message_id"  VARCHAR(200) NOT NULL,
    "handed_over" BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX IF NOT EXISTS "offer_mail_offer_id" ON "offer_mail" ("offer_id");
CREATE INDEX IF NOT EXISTS "offer_mail_status_due_at" ON "offer_mail" ("status", "due_at");

-- A follow-up the doctor asked for in a treatment; booked_for is the day of the first live
-- booking with the doctor after the visit, kept by recall_follow below (see schema.sql).
CREATE TABLE IF NOT EXISTS "recall" (
    "id"           SERIAL NOT NULL PRIMARY KEY,
    "treatment_id" INTEGER NOT NULL REFERENCES "treatment" ("id") ON DELETE CASCADE,
    "patient_id"   INTEGER NOT NULL REFERENCES "patient" ("id") ON DELETE CASCADE,
    "doctor_id"    INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "visit_date"   DATE NOT NULL,
    "due_date"     DATE NOT NULL CHECK (due_date >= visit_date),
    "created_at"   TIMESTAMP NOT NULL,
    "closed_at"    TIMESTAMP,
    "closed_by_id" INTEGER REFERENCES "users" ("id") ON DELETE SET NULL,
    "booked_for"   DATE
);
CREATE UNIQUE INDEX IF NOT EXISTS "recall_patient_id_doctor_id_due_date"
    ON "recall" ("patient_id", "doctor_id", "due_date");
CREATE INDEX IF NOT EXISTS "recall_treatment_id" ON "recall" ("treatment_id");
CREATE INDEX IF NOT EXISTS "recall_doctor_id_due_date" ON "recall" ("doctor_id", "due_date");
CREATE INDEX IF NOT EXISTS "recall_due_date" ON "recall" ("due_date");
CREATE INDEX IF NOT EXISTS "recall_waiting_due_date" ON "recall" ("due_date")
    WHERE booked_for IS NULL AND closed_at IS NULL;
CREATE OR REPLACE FUNCTION "recall_answer"(patient integer, doctor integer)
RETURNS void LANGUAGE sql AS $$
    UPDATE "recall" AS r SET "booked_for" = (
        SELECT min(a."date") FROM "appointment" AS a
        WHERE a."patient_id" = r."patient_id" AND a."doctor_id" = r."doctor_id"
          AND a."date" > r."visit_date"
          AND a."status" IN ('booked', 'checked_in', 'completed'))
    WHERE r."patient_id" = patient AND r."doctor_id" = doctor;
$$;
CREATE OR REPLACE FUNCTION "recall_follow"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'recall' THEN
        PERFORM "recall_answer"(NEW."patient_id", NEW."doctor_id");
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD."status" = NEW."status" AND OLD."date" = NEW."date"
            AND OLD."doctor_id" = NEW."doctor_id" AND OLD."patient_id" = NEW."patient_id" THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM "recall_answer"(OLD."patient_id", OLD."doctor_id");
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM "recall_answer"(NEW."patient_id", NEW."doctor_id");
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER "recall_booked_for_new" AFTER INSERT ON "recall"
    FOR EACH ROW EXECUTE FUNCTION "recall_follow"();
CREATE OR REPLACE TRIGGER "recall_booked_for" AFTER INSERT OR UPDATE OR DELETE
    ON "appointment" FOR EACH ROW EXECUTE FUNCTION "recall_follow"();
-- A database from before recalls: every follow-up its treatments asked for becomes one (the
-- same statement as hms/db.py's RECALLS_FROM_TREATMENTS).
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM "recall") THEN
        INSERT INTO recall (treatment_id, patient_id, doctor_id, visit_date, due_date,
                            created_at)
        SELECT t.id, a.patient_id, a.doctor_id, a.date, t.follow_up_date, t.created_at
        FROM treatment AS t JOIN appointment AS a ON a.id = t.appointment_id
        WHERE t.follow_up_date >= a.date ORDER BY t.id
        ON CONFLICT DO NOTHING;
    END IF;
END $$;

-- The e-mail asking a patient to book their follow-up, sent once like a reminder; it
-- expires when the follow-up day ends.
CREATE TABLE IF NOT EXISTS "recall_mail" (
    "id"          SERIAL NOT NULL PRIMARY KEY,
    "recall_id"   INTEGER NOT NULL REFERENCES "recall" ("id") ON DELETE CASCADE,
    "status"      VARCHAR(10) NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown',
                                    'expired')),
    "attempts"    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    "last_error"  TEXT,
    "claimed_at"  TIMESTAMP NOT NULL,
    "sent_at"     TIMESTAMP,
    "due_at"      TIMESTAMP NOT NULL,
    "expires_at"  TIMESTAMP NOT NULL,
    "message_id"  VARCHAR(200) NOT NULL,
    "handed_over" BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX IF NOT EXISTS "recall_mail_recall_id" ON "recall_mail" ("recall_id");
CREATE INDEX IF NOT EXISTS "recall_mail_status_due_at" ON "recall_mail" ("status", "due_at");

-- How many appointments the front desk may book over a doctor's session (a morning or an
-- afternoon), each with a reason (appointment.overbook): set by the doctor or an admin.
CREATE TABLE IF NOT EXISTS "overbook_allowance" (
    "doctor_id"   INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "date"        DATE NOT NULL,
    "part_of_day" VARCHAR(9) NOT NULL CHECK (part_of_day IN ('morning', 'afternoon')),
    "extra"       INTEGER NOT NULL CHECK (extra BETWEEN 1 AND 10),
    "set_by_id"   INTEGER REFERENCES "users" ("id") ON DELETE SET NULL,
    "set_at"      TIMESTAMP NOT NULL,
    PRIMARY KEY ("doctor_id", "date", "part_of_day")
);
