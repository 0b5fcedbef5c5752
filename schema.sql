-- HMS schema of record. `hms init-db` applies it; every statement is IF NOT EXISTS.
-- hms/models.py mirrors it, and tests/test_schema.py fails when the two disagree.
-- Timestamps (created_at, cancelled_at) are UTC; appointment date/time are clinic wall-clock.

CREATE TABLE IF NOT EXISTS "department" (
    "id"          INTEGER NOT NULL PRIMARY KEY,
    "name"        VARCHAR(80) NOT NULL,
    "description" TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS "department_name" ON "department" ("name");

CREATE TABLE IF NOT EXISTS "users" (
    "id"            INTEGER NOT NULL PRIMARY KEY,
    "username"      VARCHAR(40) NOT NULL,
    "email"         VARCHAR(254)            -- walk-in patients may have none yet
                    CHECK ("email" <> ''),
    "password_hash" VARCHAR(255),           -- NULL: cannot log in until a password is set
    "role"          VARCHAR(20) NOT NULL
                    CHECK (role IN ('admin', 'doctor', 'patient', 'receptionist')),
    "is_active"     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    "created_at"    DATETIME NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS "users_username" ON "users" ("username");
CREATE UNIQUE INDEX IF NOT EXISTS "users_email" ON "users" ("email");
CREATE INDEX IF NOT EXISTS "users_role_created_at" ON "users" ("role", "created_at");

-- Search logins by any part of a username or e-mail (the admin's search): a trigram full-text
-- index over users, like patient_search below.
CREATE VIRTUAL TABLE IF NOT EXISTS "user_search" USING fts5 (
    "username", "email", content="users", content_rowid="id", tokenize="trigram");
CREATE TRIGGER IF NOT EXISTS "user_search_insert" AFTER INSERT ON "users" BEGIN
    INSERT INTO "user_search" (rowid, "username", "email")
    VALUES (new."id", new."username", new."email");
END;
CREATE TRIGGER IF NOT EXISTS "user_search_delete" AFTER DELETE ON "users" BEGIN
    INSERT INTO "user_search" ("user_search", rowid, "username", "email")
    VALUES ('delete', old."id", old."username", old."email");
END;
CREATE TRIGGER IF NOT EXISTS "user_search_update" AFTER UPDATE OF "username", "email"
    ON "users" BEGIN
    INSERT INTO "user_search" ("user_search", rowid, "username", "email")
    VALUES ('delete', old."id", old."username", old."email");
    INSERT INTO "user_search" (rowid, "username", "email")
    VALUES (new."id", new."username", new."email");
END;

-- How many logins each role has, active and not, kept exact by triggers: the dashboard reads
-- a row instead of counting a hundred thousand patients.
CREATE TABLE IF NOT EXISTS "user_tally" (
    "role"      VARCHAR(20) NOT NULL
                CHECK (role IN ('admin', 'doctor', 'patient', 'receptionist')),
    "is_active" INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    "users"     INTEGER NOT NULL DEFAULT 0 CHECK (users >= 0),
    PRIMARY KEY ("role", "is_active")
) WITHOUT ROWID;
INSERT OR IGNORE INTO "user_tally" ("role", "is_active") VALUES ('admin', 0), ('admin', 1),
    ('doctor', 0), ('doctor', 1), ('patient', 0), ('patient', 1), ('receptionist', 0),
    ('receptionist', 1);
CREATE TRIGGER IF NOT EXISTS "user_tally_insert" AFTER INSERT ON "users" BEGIN
    UPDATE "user_tally" SET "users" = "users" + 1
    WHERE "role" = new."role" AND "is_active" = new."is_active";
END;
CREATE TRIGGER IF NOT EXISTS "user_tally_update" AFTER UPDATE OF "role", "is_active" ON "users"
    WHEN old."role" != new."role" OR old."is_active" != new."is_active" BEGIN
    UPDATE "user_tally" SET "users" = "users" - 1
    WHERE "role" = old."role" AND "is_active" = old."is_active";
    UPDATE "user_tally" SET "users" = "users" + 1
    WHERE "role" = new."role" AND "is_active" = new."is_active";
END;
CREATE TRIGGER IF NOT EXISTS "user_tally_delete" AFTER DELETE ON "users" BEGIN
    UPDATE "user_tally" SET "users" = "users" - 1
    WHERE "role" = old."role" AND "is_active" = old."is_active";
END;

CREATE TABLE IF NOT EXISTS "patient" (
    "id"                INTEGER NOT NULL PRIMARY KEY,   -- the patient number
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
    "is_disabled"       INTEGER NOT NULL DEFAULT 0 CHECK (is_disabled IN (0, 1))
);
-- Earlier versions had a column "profile_photo_url" here that nothing set or showed: hms/db.py
-- drops it (DROPPED_COLUMNS); photos are in profile_photo below.
CREATE UNIQUE INDEX IF NOT EXISTS "patient_user_id" ON "patient" ("user_id");
CREATE INDEX IF NOT EXISTS "patient_phone" ON "patient" ("phone");

-- Search by any part of a name or phone: a trigram full-text index over the patient table
-- (external content: it stores only the index), kept current by triggers. hms/db.py fills it
-- once when it is first created on an existing database.
CREATE VIRTUAL TABLE IF NOT EXISTS "patient_search" USING fts5 (
    "full_name", "phone", content="patient", content_rowid="id", tokenize="trigram");
CREATE TRIGGER IF NOT EXISTS "patient_search_insert" AFTER INSERT ON "patient" BEGIN
    INSERT INTO "patient_search" (rowid, "full_name", "phone")
    VALUES (new."id", new."full_name", new."phone");
END;
CREATE TRIGGER IF NOT EXISTS "patient_search_delete" AFTER DELETE ON "patient" BEGIN
    INSERT INTO "patient_search" ("patient_search", rowid, "full_name", "phone")
    VALUES ('delete', old."id", old."full_name", old."phone");
END;
CREATE TRIGGER IF NOT EXISTS "patient_search_update" AFTER UPDATE OF "full_name", "phone"
    ON "patient" BEGIN
    INSERT INTO "patient_search" ("patient_search", rowid, "full_name", "phone")
    VALUES ('delete', old."id", old."full_name", old."phone");
    INSERT INTO "patient_search" (rowid, "full_name", "phone")
    VALUES (new."id", new."full_name", new."phone");
END;

-- Search by the digits of a phone: every ending of each patient's phone digits (spaces, "+",
-- "-" and brackets left out), from three digits on, so "contains these digits" is one range
-- over the key (digits >= q AND digits < q || ':') in a hospital of any size. The trigram index
-- above cannot do this cheaply: every number shares its area code's trigrams. The view says
-- once what the endings are (json_each counts the positions: a trigger may not use WITH); the
-- triggers keep the table equal to it, and hms/db.py fills the table once when it is first
-- created on an existing database. No foreign key: it is an index, like patient_search.
CREATE VIEW IF NOT EXISTS "phone_endings" AS
SELECT substr(p."digits", n."value") AS "digits", p."id" AS "patient_id"
FROM (SELECT "id", replace(replace(replace(replace(replace("phone", ' ', ''), '+', ''), '-', ''),
                                   '(', ''), ')', '') AS "digits" FROM "patient") AS p,
     json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28]') AS n
WHERE n."value" <= length(p."digits") - 2;
CREATE TABLE IF NOT EXISTS "phone_search" (
    "digits"     TEXT NOT NULL,
    "patient_id" INTEGER NOT NULL,
    PRIMARY KEY ("digits", "patient_id")
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS "phone_search_insert" AFTER INSERT ON "patient" BEGIN
    INSERT OR IGNORE INTO "phone_search"
    SELECT "digits", "patient_id" FROM "phone_endings" WHERE "patient_id" = new."id";
END;
CREATE TRIGGER IF NOT EXISTS "phone_search_unset" BEFORE UPDATE OF "phone" ON "patient" BEGIN
    DELETE FROM "phone_search" WHERE "patient_id" = old."id" AND "digits" IN
        (SELECT "digits" FROM "phone_endings" WHERE "patient_id" = old."id");
END;
CREATE TRIGGER IF NOT EXISTS "phone_search_update" AFTER UPDATE OF "phone" ON "patient" BEGIN
    INSERT OR IGNORE INTO "phone_search"
    SELECT "digits", "patient_id" FROM "phone_endings" WHERE "patient_id" = new."id";
END;
CREATE TRIGGER IF NOT EXISTS "phone_search_delete" BEFORE DELETE ON "patient" BEGIN
    DELETE FROM "phone_search" WHERE "patient_id" = old."id" AND "digits" IN
        (SELECT "digits" FROM "phone_endings" WHERE "patient_id" = old."id");
END;

CREATE TABLE IF NOT EXISTS "doctor" (
    "id"               INTEGER NOT NULL PRIMARY KEY,
    "user_id"          INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "full_name"        VARCHAR(120) NOT NULL,
    "department_id"    INTEGER NOT NULL REFERENCES "department" ("id") ON DELETE RESTRICT,
    "experience_years" INTEGER NOT NULL DEFAULT 0 CHECK (experience_years BETWEEN 0 AND 70),
    "about"            TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS "doctor_user_id" ON "doctor" ("user_id");
CREATE INDEX IF NOT EXISTS "doctor_department_id" ON "doctor" ("department_id");

-- One row per slot of a doctor's diary; is_available = 0 is a slot the doctor closed.
CREATE TABLE IF NOT EXISTS "doctor_availability" (
    "id"           INTEGER NOT NULL PRIMARY KEY,
    "doctor_id"    INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "date"         DATE NOT NULL,
    "time_slot"    TIME NOT NULL,
    "is_available" INTEGER NOT NULL DEFAULT 1 CHECK (is_available IN (0, 1))
);
CREATE UNIQUE INDEX IF NOT EXISTS "doctor_availability_doctor_id_date_time_slot"
    ON "doctor_availability" ("doctor_id", "date", "time_slot");

-- A doctor's weekly plan (weekday 0 = Monday), from which the slots of new weeks are opened.
CREATE TABLE IF NOT EXISTS "working_hours" (
    "id"         INTEGER NOT NULL PRIMARY KEY,
    "doctor_id"  INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "weekday"    INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    "start_time" TIME NOT NULL,
    "end_time"   TIME NOT NULL CHECK (end_time > start_time)
);
CREATE UNIQUE INDEX IF NOT EXISTS "working_hours_doctor_id_weekday_start_time"
    ON "working_hours" ("doctor_id", "weekday", "start_time");

-- Appointments are never deleted: cancelling and rescheduling are states, with who and when.
-- The visit as it went (UTC): confirmed from the reminder, arrived (checked in), went in to the
-- doctor (started), came out (ended); waiting time and consultation length come from these.
-- no_show_auto: the day's own run marked the no-show, not a person; no_show_undone_at: staff
-- took a no-show back, and the run leaves the appointment alone from then on. late_cancel:
-- cancelled with less notice than HMS_LATE_CANCEL_HOURS. overbook: booked over a session's
-- allowance (overbook_allowance), with overbook_reason saying why. (No comments between these
-- columns: SQLite's DROP COLUMN can leave a comment before the closing bracket.)
CREATE TABLE IF NOT EXISTS "appointment" (
    "id"                  INTEGER NOT NULL PRIMARY KEY,
    "patient_id"          INTEGER NOT NULL REFERENCES "patient" ("id") ON DELETE RESTRICT,
    "doctor_id"           INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE RESTRICT,
    "date"                DATE NOT NULL,
    "time"                TIME NOT NULL,
    "status"              VARCHAR(12) NOT NULL DEFAULT 'booked'
                          CHECK (status IN ('booked', 'checked_in', 'completed', 'no_show',
                                            'cancelled', 'rescheduled')),
    "reason"              TEXT NOT NULL DEFAULT '',
    "created_at"          DATETIME NOT NULL,
    "booked_by_id"        INTEGER REFERENCES "users" ("id") ON DELETE SET NULL,
    "cancelled_at"        DATETIME,
    "cancelled_by_id"     INTEGER REFERENCES "users" ("id") ON DELETE SET NULL,
    "cancel_reason"       TEXT,
    "rescheduled_from_id" INTEGER REFERENCES "appointment" ("id") ON DELETE RESTRICT,
    "confirmed_at"        DATETIME,
    "checked_in_at"       DATETIME,
    "started_at"          DATETIME,
    "ended_at"            DATETIME,
    "no_show_auto"        INTEGER NOT NULL DEFAULT 0 CHECK (no_show_auto IN (0, 1)),
    "no_show_undone_at"   DATETIME,
    "late_cancel"         INTEGER NOT NULL DEFAULT 0 CHECK (late_cancel IN (0, 1)),
    "overbook_reason"     TEXT CHECK (overbook_reason <> ''),
    "overbook"            INTEGER NOT NULL DEFAULT 0
                          CHECK (overbook IN (0, 1) AND (overbook = 0 OR overbook_reason IS NOT NULL))
);
-- A doctor's diary and a patient's history, by date and time (these replace the plain
-- doctor_id and patient_id indexes of earlier versions); statuses counted over a period.
DROP INDEX IF EXISTS "appointment_patient_id";
DROP INDEX IF EXISTS "appointment_doctor_id";
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
-- (an audited extra over a session's allowance) holds no slot of the doctor's; the patient's
-- time it holds like any other. (Versions before overbooking had the doctor's index without
-- "NOT overbook": hms/db.py drops that one, REPLACED_INDEXES, before this creates it.)
CREATE UNIQUE INDEX IF NOT EXISTS "appointment_live_doctor_slot"
    ON "appointment" ("doctor_id", "date", "time")
    WHERE status IN ('booked', 'checked_in', 'completed', 'no_show') AND NOT overbook;
-- The few overbooked appointments of a period, for the reports.
CREATE INDEX IF NOT EXISTS "appointment_overbook_date" ON "appointment" ("date")
    WHERE overbook;
CREATE UNIQUE INDEX IF NOT EXISTS "appointment_live_patient_slot"
    ON "appointment" ("patient_id", "date", "time")
    WHERE status IN ('booked', 'checked_in', 'completed', 'no_show');

-- How many appointments are in each status, kept exact by triggers in the same transaction as
-- every change: the dashboard reads six rows instead of counting a million (hms/db.py fills it
-- once when it is first created on an existing database).
CREATE TABLE IF NOT EXISTS "appointment_tally" (
    "status"       VARCHAR(12) NOT NULL PRIMARY KEY
                   CHECK (status IN ('booked', 'checked_in', 'completed', 'no_show',
                                     'cancelled', 'rescheduled')),
    "appointments" INTEGER NOT NULL DEFAULT 0 CHECK (appointments >= 0)
);
INSERT OR IGNORE INTO "appointment_tally" ("status") VALUES ('booked'), ('checked_in'),
    ('completed'), ('no_show'), ('cancelled'), ('rescheduled');
CREATE TRIGGER IF NOT EXISTS "appointment_tally_insert" AFTER INSERT ON "appointment" BEGIN
    UPDATE "appointment_tally" SET "appointments" = "appointments" + 1
    WHERE "status" = new."status";
END;
CREATE TRIGGER IF NOT EXISTS "appointment_tally_update" AFTER UPDATE OF "status" ON "appointment"
    WHEN old."status" != new."status" BEGIN
    UPDATE "appointment_tally" SET "appointments" = "appointments" - 1
    WHERE "status" = old."status";
    UPDATE "appointment_tally" SET "appointments" = "appointments" + 1
    WHERE "status" = new."status";
END;
CREATE TRIGGER IF NOT EXISTS "appointment_tally_delete" AFTER DELETE ON "appointment" BEGIN
    UPDATE "appointment_tally" SET "appointments" = "appointments" - 1
    WHERE "status" = old."status";
END;

-- Each doctor's appointments on each day, counted by status and kept exact by triggers in the
-- same transaction as every change: analytics and the monthly reports add up a period's rows
-- (a doctor-day each) instead of counting the appointments of the period. hms/db.py fills it
-- once when it is first created on an existing database.
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
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS "appointment_day_doctor_id_date"
    ON "appointment_day" ("doctor_id", "date");
CREATE TRIGGER IF NOT EXISTS "appointment_day_insert" AFTER INSERT ON "appointment" BEGIN
    INSERT OR IGNORE INTO "appointment_day" ("date", "doctor_id")
    VALUES (new."date", new."doctor_id");
    UPDATE "appointment_day" SET
        "booked" = "booked" + (new."status" = 'booked'),
        "checked_in" = "checked_in" + (new."status" = 'checked_in'),
        "completed" = "completed" + (new."status" = 'completed'),
        "no_show" = "no_show" + (new."status" = 'no_show'),
        "cancelled" = "cancelled" + (new."status" = 'cancelled'),
        "rescheduled" = "rescheduled" + (new."status" = 'rescheduled')
    WHERE "date" = new."date" AND "doctor_id" = new."doctor_id";
END;
CREATE TRIGGER IF NOT EXISTS "appointment_day_update" AFTER UPDATE OF "status", "date", "doctor_id"
    ON "appointment" WHEN old."status" != new."status" OR old."date" != new."date"
                          OR old."doctor_id" != new."doctor_id" BEGIN
    UPDATE "appointment_day" SET
        "booked" = "booked" - (old."status" = 'booked'),
        "checked_in" = "checked_in" - (old."status" = 'checked_in'),
        "completed" = "completed" - (old."status" = 'completed'),
        "no_show" = "no_show" - (old."status" = 'no_show'),
        "cancelled" = "cancelled" - (old."status" = 'cancelled'),
        "rescheduled" = "rescheduled" - (old."status" = 'rescheduled')
    WHERE "date" = old."date" AND "doctor_id" = old."doctor_id";
    INSERT OR IGNORE INTO "appointment_day" ("date", "doctor_id")
    VALUES (new."date", new."doctor_id");
    UPDATE "appointment_day" SET
        "booked" = "booked" + (new."status" = 'booked'),
        "checked_in" = "checked_in" + (new."status" = 'checked_in'),
        "completed" = "completed" + (new."status" = 'completed'),
        "no_show" = "no_show" + (new."status" = 'no_show'),
        "cancelled" = "cancelled" + (new."status" = 'cancelled'),
        "rescheduled" = "rescheduled" + (new."status" = 'rescheduled')
    WHERE "date" = new."date" AND "doctor_id" = new."doctor_id";
END;
CREATE TRIGGER IF NOT EXISTS "appointment_day_delete" AFTER DELETE ON "appointment" BEGIN
    UPDATE "appointment_day" SET
        "booked" = "booked" - (old."status" = 'booked'),
        "checked_in" = "checked_in" - (old."status" = 'checked_in'),
        "completed" = "completed" - (old."status" = 'completed'),
        "no_show" = "no_show" - (old."status" = 'no_show'),
        "cancelled" = "cancelled" - (old."status" = 'cancelled'),
        "rescheduled" = "rescheduled" - (old."status" = 'rescheduled')
    WHERE "date" = old."date" AND "doctor_id" = old."doctor_id";
END;

-- Each doctor's patients: how many appointments they have had together and the latest date,
-- with the patient's name for the list's order, kept exact by triggers. "My patients" reads
-- one page of a doctor's rows by name instead of grouping the doctor's whole diary.
CREATE TABLE IF NOT EXISTS "doctor_patient" (
    "doctor_id"  INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "patient_id" INTEGER NOT NULL REFERENCES "patient" ("id") ON DELETE CASCADE,
    "full_name"  VARCHAR(120) NOT NULL,
    "visits"     INTEGER NOT NULL CHECK (visits > 0),
    "last_date"  DATE NOT NULL,
    PRIMARY KEY ("doctor_id", "patient_id")
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS "doctor_patient_doctor_id_full_name"
    ON "doctor_patient" ("doctor_id", "full_name");
CREATE INDEX IF NOT EXISTS "doctor_patient_patient_id" ON "doctor_patient" ("patient_id");
CREATE TRIGGER IF NOT EXISTS "doctor_patient_insert" AFTER INSERT ON "appointment" BEGIN
    INSERT INTO "doctor_patient" ("doctor_id", "patient_id", "full_name", "visits", "last_date")
    VALUES (new."doctor_id", new."patient_id",
            (SELECT "full_name" FROM "patient" WHERE "id" = new."patient_id"), 1, new."date")
    ON CONFLICT ("doctor_id", "patient_id") DO UPDATE SET "visits" = "visits" + 1,
        "last_date" = max("last_date", excluded."last_date");
END;
CREATE TRIGGER IF NOT EXISTS "doctor_patient_update"
    AFTER UPDATE OF "doctor_id", "patient_id", "date" ON "appointment"
    WHEN old."doctor_id" != new."doctor_id" OR old."patient_id" != new."patient_id"
         OR old."date" != new."date" BEGIN
    DELETE FROM "doctor_patient"
    WHERE "doctor_id" = old."doctor_id" AND "patient_id" = old."patient_id";
    INSERT INTO "doctor_patient"
    SELECT a."doctor_id", a."patient_id", p."full_name", count(*), max(a."date")
    FROM "appointment" AS a JOIN "patient" AS p ON p."id" = a."patient_id"
    WHERE a."doctor_id" = old."doctor_id" AND a."patient_id" = old."patient_id"
    GROUP BY a."doctor_id", a."patient_id";
    DELETE FROM "doctor_patient"
    WHERE "doctor_id" = new."doctor_id" AND "patient_id" = new."patient_id";
    INSERT INTO "doctor_patient"
    SELECT a."doctor_id", a."patient_id", p."full_name", count(*), max(a."date")
    FROM "appointment" AS a JOIN "patient" AS p ON p."id" = a."patient_id"
    WHERE a."doctor_id" = new."doctor_id" AND a."patient_id" = new."patient_id"
    GROUP BY a."doctor_id", a."patient_id";
END;
CREATE TRIGGER IF NOT EXISTS "doctor_patient_delete" AFTER DELETE ON "appointment" BEGIN
    DELETE FROM "doctor_patient"
    WHERE "doctor_id" = old."doctor_id" AND "patient_id" = old."patient_id";
    INSERT INTO "doctor_patient"
    SELECT a."doctor_id", a."patient_id", p."full_name", count(*), max(a."date")
    FROM "appointment" AS a JOIN "patient" AS p ON p."id" = a."patient_id"
    WHERE a."doctor_id" = old."doctor_id" AND a."patient_id" = old."patient_id"
    GROUP BY a."doctor_id", a."patient_id";
END;
CREATE TRIGGER IF NOT EXISTS "doctor_patient_rename" AFTER UPDATE OF "full_name" ON "patient"
BEGIN
    UPDATE "doctor_patient" SET "full_name" = new."full_name" WHERE "patient_id" = new."id";
END;

CREATE TABLE IF NOT EXISTS "treatment" (
    "id"             INTEGER NOT NULL PRIMARY KEY,
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
    "created_at"     DATETIME NOT NULL
);
CREATE INDEX IF NOT EXISTS "treatment_appointment_id" ON "treatment" ("appointment_id");
CREATE INDEX IF NOT EXISTS "treatment_created_at" ON "treatment" ("created_at");
CREATE INDEX IF NOT EXISTS "treatment_author_id_created_at"
    ON "treatment" ("author_id", "created_at");

CREATE TABLE IF NOT EXISTS "audit_log" (
    "id"          INTEGER NOT NULL PRIMARY KEY,
    "user_id"     INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "action"      VARCHAR(40) NOT NULL,
    "patient_id"  INTEGER REFERENCES "patient" ("id") ON DELETE RESTRICT,
    "object_type" VARCHAR(40) NOT NULL,
    "object_id"   INTEGER,
    "created_at"  DATETIME NOT NULL
);
CREATE INDEX IF NOT EXISTS "audit_log_user_id" ON "audit_log" ("user_id");
-- By patient, newest first: a patient's own page of who read their record. (It replaced a
-- plain patient_id index.)
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
    "id"             INTEGER NOT NULL PRIMARY KEY,
    "appointment_id" INTEGER NOT NULL REFERENCES "appointment" ("id") ON DELETE RESTRICT,
    "status"         VARCHAR(10) NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown',
                                       'expired')),
    "attempts"       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    "last_error"     TEXT,
    "claimed_at"     DATETIME NOT NULL,
    "sent_at"        DATETIME,
    "due_at"         DATETIME NOT NULL,
    "expires_at"     DATETIME NOT NULL,
    "message_id"     VARCHAR(200) NOT NULL,
    "handed_over"    INTEGER NOT NULL DEFAULT 0 CHECK (handed_over IN (0, 1))
);
CREATE UNIQUE INDEX IF NOT EXISTS "reminder_appointment_id" ON "reminder" ("appointment_id");
CREATE INDEX IF NOT EXISTS "reminder_status_due_at" ON "reminder" ("status", "due_at");

-- One row per doctor and month: the monthly activity report goes out once; its columns
-- work as the reminder's do, and it expires a week after it fell due.
CREATE TABLE IF NOT EXISTS "report_send" (
    "id"         INTEGER NOT NULL PRIMARY KEY,
    "doctor_id"  INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "period"     VARCHAR(7) NOT NULL,           -- YYYY-MM
    "status"      VARCHAR(10) NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown',
                                    'expired')),
    "attempts"    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    "last_error"  TEXT,
    "claimed_at"  DATETIME NOT NULL,
    "sent_at"     DATETIME,
    "due_at"      DATETIME NOT NULL,
    "expires_at"  DATETIME NOT NULL,
    "message_id"  VARCHAR(200) NOT NULL,
    "handed_over" INTEGER NOT NULL DEFAULT 0 CHECK (handed_over IN (0, 1))
);
CREATE UNIQUE INDEX IF NOT EXISTS "report_send_doctor_id_period"
    ON "report_send" ("doctor_id", "period");
CREATE INDEX IF NOT EXISTS "report_send_status_due_at" ON "report_send" ("status", "due_at");

-- One row per login (hms/sessions.py). The session cookie carries a random token; only its
-- SHA-256 is kept, and a row with ended_at set (logout, a password change) or idle or older
-- than the settings allow no longer logs anyone in. A logged-in user's flash messages wait in
-- flashes (JSON) rather than in the readable cookie.
CREATE TABLE IF NOT EXISTS "user_session" (
    "id"         INTEGER NOT NULL PRIMARY KEY,
    "user_id"    INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "token_hash" VARCHAR(64) NOT NULL,
    "created_at" DATETIME NOT NULL,
    "seen_at"    DATETIME NOT NULL,
    "ended_at"   DATETIME,
    "flashes"    TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS "user_session_token_hash" ON "user_session" ("token_hash");
CREATE INDEX IF NOT EXISTS "user_session_user_id" ON "user_session" ("user_id");

-- A single-use password link or code (hms/passwords.py): a reset asked for (30 minutes), an
-- invitation to a new account (days), or the confirmation of a registration's e-mail address
-- (which sets the password chosen at registration). The token is an HMAC of the id and nonce under the
-- secret key, so this table alone cannot rebuild one; used_at makes it single-use.
CREATE TABLE IF NOT EXISTS "account_token" (
    "id"         INTEGER NOT NULL PRIMARY KEY,
    "user_id"    INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "purpose"    VARCHAR(10) NOT NULL CHECK (purpose IN ('reset', 'invite', 'confirm')),
    "nonce"      VARCHAR(32) NOT NULL,
    "created_at" DATETIME NOT NULL,
    "expires_at" DATETIME NOT NULL,
    "used_at"    DATETIME,
    "password_hash" VARCHAR(255)             -- confirm: the password chosen at registration
);
CREATE INDEX IF NOT EXISTS "account_token_user_id" ON "account_token" ("user_id");

-- The e-mail that carries a token, sent once like a reminder (its columns work as the
-- reminder's do); it expires with its token. kind 'signup': someone tried to register with
-- an address that has an account, and its owner is told, with a reset link; 'confirm': the
-- link that finishes a registration.
CREATE TABLE IF NOT EXISTS "account_mail" (
    "id"          INTEGER NOT NULL PRIMARY KEY,
    "token_id"    INTEGER NOT NULL REFERENCES "account_token" ("id") ON DELETE CASCADE,
    "kind"        VARCHAR(10) NOT NULL CHECK (kind IN ('reset', 'invite', 'signup', 'confirm')),
    "status"      VARCHAR(10) NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown',
                                    'expired')),
    "attempts"    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    "last_error"  TEXT,
    "claimed_at"  DATETIME NOT NULL,
    "sent_at"     DATETIME,
    "due_at"      DATETIME NOT NULL,
    "expires_at"  DATETIME NOT NULL,
    "message_id"  VARCHAR(200) NOT NULL,
    "handed_over" INTEGER NOT NULL DEFAULT 0 CHECK (handed_over IN (0, 1))
);
CREATE UNIQUE INDEX IF NOT EXISTS "account_mail_token_id" ON "account_mail" ("token_id");
CREATE INDEX IF NOT EXISTS "account_mail_status_due_at" ON "account_mail" ("status", "due_at");

-- The latest PDF of each patient's history, with the digest of what it was laid out from:
-- laying out a long history takes WeasyPrint seconds, so an unchanged history is not laid out
-- again. Rows older than HMS_EXPORT_DAYS are removed with the expired exports.
CREATE TABLE IF NOT EXISTS "history_pdf" (
    "patient_id" INTEGER NOT NULL PRIMARY KEY REFERENCES "patient" ("id") ON DELETE CASCADE,
    "digest"     VARCHAR(64) NOT NULL,
    "pdf"        BLOB NOT NULL,
    "created_at" DATETIME NOT NULL
);

-- A background export of a patient's history (a CSV or a PDF), downloadable by its owner only,
-- until it expires. Its file is in export_file, so any web host can serve what any worker made.
CREATE TABLE IF NOT EXISTS "export_job" (
    "id"          INTEGER NOT NULL PRIMARY KEY,
    "owner_id"    INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "patient_id"  INTEGER NOT NULL REFERENCES "patient" ("id") ON DELETE CASCADE,
    "status"      VARCHAR(10) NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired')),
    "progress"    INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    "error"       TEXT,
    "created_at"  DATETIME NOT NULL,
    "finished_at" DATETIME,
    "expires_at"  DATETIME NOT NULL,
    "kind"        VARCHAR(3) NOT NULL DEFAULT 'csv' CHECK (kind IN ('csv', 'pdf')),
    "due_at"      DATETIME,
    "attempts"    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0)
);
CREATE INDEX IF NOT EXISTS "export_job_owner_id" ON "export_job" ("owner_id");
CREATE INDEX IF NOT EXISTS "export_job_expires_at" ON "export_job" ("expires_at");
CREATE INDEX IF NOT EXISTS "export_job_status_due_at" ON "export_job" ("status", "due_at");

-- The finished file of an export, written in the same transaction that marks its job done: a
-- worker that dies mid-export leaves no half file, and nothing lives on one host's disk.
CREATE TABLE IF NOT EXISTS "export_file" (
    "job_id" INTEGER NOT NULL PRIMARY KEY REFERENCES "export_job" ("id") ON DELETE CASCADE,
    "data"   BLOB NOT NULL
);

-- A patient's or doctor's profile photo, one per login: a JPEG that HMS encoded itself from the
-- upload (at most 256 pixels a side, no metadata), kept in the database so that every web host
-- serves the same one. etag is the JPEG's SHA-256, the photo's URL version and HTTP ETag.
CREATE TABLE IF NOT EXISTS "profile_photo" (
    "user_id"    INTEGER NOT NULL PRIMARY KEY REFERENCES "users" ("id") ON DELETE CASCADE,
    "jpeg"       BLOB NOT NULL,
    "etag"       VARCHAR(64) NOT NULL,
    "updated_at" DATETIME NOT NULL
);

-- A patient waiting for a time with a doctor (doctor_id), or with any doctor of a
-- specialization (doctor_id NULL), between two days and in a part of the day
-- (hms/waitlist.py). When such a time is free, the first one waiting in order (id) is offered
-- it (slot_offer). One waiting entry per patient for each doctor, and one for each
-- specialization's "any doctor".
CREATE TABLE IF NOT EXISTS "waitlist_entry" (
    "id"             INTEGER NOT NULL PRIMARY KEY,
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
    "created_at"     DATETIME NOT NULL,
    "created_by_id"  INTEGER REFERENCES "users" ("id") ON DELETE SET NULL,
    "ended_at"       DATETIME,
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
    "id"             INTEGER NOT NULL PRIMARY KEY,
    "entry_id"       INTEGER NOT NULL REFERENCES "waitlist_entry" ("id") ON DELETE CASCADE,
    "doctor_id"      INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "date"           DATE NOT NULL,
    "time"           TIME NOT NULL,
    "status"         VARCHAR(9) NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'claimed', 'declined', 'passed', 'withdrawn')),
    "created_at"     DATETIME NOT NULL,
    "expires_at"     DATETIME NOT NULL,
    "answered_at"    DATETIME,
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
    "id"          INTEGER NOT NULL PRIMARY KEY,
    "offer_id"    INTEGER NOT NULL REFERENCES "slot_offer" ("id") ON DELETE CASCADE,
    "status"      VARCHAR(10) NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown',
                                    'expired')),
    "attempts"    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    "last_error"  TEXT,
    "claimed_at"  DATETIME NOT NULL,
    "sent_at"     DATETIME,
    "due_at"      DATETIME NOT NULL,
    "expires_at"  DATETIME NOT NULL,
    "message_id"  VARCHAR(200) NOT NULL,
    "handed_over" INTEGER NOT NULL DEFAULT 0 CHECK (handed_over IN (0, 1))
);
CREATE UNIQUE INDEX IF NOT EXISTS "offer_mail_offer_id" ON "offer_mail" ("offer_id");
CREATE INDEX IF NOT EXISTS "offer_mail_status_due_at" ON "offer_mail" ("status", "due_at");

-- A follow-up the doctor asked for in a treatment (its follow_up_date): the patient is
-- reminded to book in the week before it (recall_mail). It is answered by any live booking
-- (booked, checked in, completed) with the doctor after the visit it came from: booked_for is
-- the first such booking's day, kept by the triggers below on every change of the patient's
-- appointments, so a cancelled follow-up opens the recall again. closed_at: staff closed it.
CREATE TABLE IF NOT EXISTS "recall" (
    "id"           INTEGER NOT NULL PRIMARY KEY,
    "treatment_id" INTEGER NOT NULL REFERENCES "treatment" ("id") ON DELETE CASCADE,
    "patient_id"   INTEGER NOT NULL REFERENCES "patient" ("id") ON DELETE CASCADE,
    "doctor_id"    INTEGER NOT NULL REFERENCES "doctor" ("id") ON DELETE CASCADE,
    "visit_date"   DATE NOT NULL,
    "due_date"     DATE NOT NULL CHECK (due_date >= visit_date),
    "created_at"   DATETIME NOT NULL,
    "closed_at"    DATETIME,
    "closed_by_id" INTEGER REFERENCES "users" ("id") ON DELETE SET NULL,
    "booked_for"   DATE
);
CREATE UNIQUE INDEX IF NOT EXISTS "recall_patient_id_doctor_id_due_date"
    ON "recall" ("patient_id", "doctor_id", "due_date");
CREATE INDEX IF NOT EXISTS "recall_treatment_id" ON "recall" ("treatment_id");
CREATE INDEX IF NOT EXISTS "recall_doctor_id_due_date" ON "recall" ("doctor_id", "due_date");
CREATE INDEX IF NOT EXISTS "recall_due_date" ON "recall" ("due_date");
-- The recalls still waiting for a booking, by day: open and overdue ones across all doctors.
CREATE INDEX IF NOT EXISTS "recall_waiting_due_date" ON "recall" ("due_date")
    WHERE booked_for IS NULL AND closed_at IS NULL;
-- What answers a recall: the first live booking with its doctor after the visit. The triggers
-- below keep recall.booked_for equal to it whenever the patient's appointments change.
CREATE VIEW IF NOT EXISTS "recall_answer" AS
    SELECT r."id", (SELECT min(a."date") FROM "appointment" AS a
                    WHERE a."patient_id" = r."patient_id" AND a."doctor_id" = r."doctor_id"
                      AND a."date" > r."visit_date"
                      AND a."status" IN ('booked', 'checked_in', 'completed')) AS "booked_for"
    FROM "recall" AS r;
CREATE TRIGGER IF NOT EXISTS "recall_booked_for_new" AFTER INSERT ON "recall" BEGIN
    UPDATE "recall" SET "booked_for" = (
        SELECT v."booked_for" FROM "recall_answer" AS v WHERE v."id" = new."id")
    WHERE "id" = new."id";
END;
CREATE TRIGGER IF NOT EXISTS "recall_booked_for_insert" AFTER INSERT ON "appointment" BEGIN
    UPDATE "recall" SET "booked_for" = (
        SELECT v."booked_for" FROM "recall_answer" AS v WHERE v."id" = "recall"."id")
    WHERE "patient_id" = new."patient_id" AND "doctor_id" = new."doctor_id";
END;
CREATE TRIGGER IF NOT EXISTS "recall_booked_for_update"
    AFTER UPDATE OF "status", "date", "doctor_id", "patient_id" ON "appointment"
    WHEN old."status" != new."status" OR old."date" != new."date"
         OR old."doctor_id" != new."doctor_id" OR old."patient_id" != new."patient_id" BEGIN
    UPDATE "recall" SET "booked_for" = (
        SELECT v."booked_for" FROM "recall_answer" AS v WHERE v."id" = "recall"."id")
    WHERE ("patient_id" = old."patient_id" AND "doctor_id" = old."doctor_id")
       OR ("patient_id" = new."patient_id" AND "doctor_id" = new."doctor_id");
END;
CREATE TRIGGER IF NOT EXISTS "recall_booked_for_delete" AFTER DELETE ON "appointment" BEGIN
    UPDATE "recall" SET "booked_for" = (
        SELECT v."booked_for" FROM "recall_answer" AS v WHERE v."id" = "recall"."id")
    WHERE "patient_id" = old."patient_id" AND "doctor_id" = old."doctor_id";
END;

-- The e-mail asking a patient to book their follow-up, sent once like a reminder; it
-- expires when the follow-up day ends.
CREATE TABLE IF NOT EXISTS "recall_mail" (
    "id"          INTEGER NOT NULL PRIMARY KEY,
    "recall_id"   INTEGER NOT NULL REFERENCES "recall" ("id") ON DELETE CASCADE,
    "status"      VARCHAR(10) NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown',
                                    'expired')),
    "attempts"    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    "last_error"  TEXT,
    "claimed_at"  DATETIME NOT NULL,
    "sent_at"     DATETIME,
    "due_at"      DATETIME NOT NULL,
    "expires_at"  DATETIME NOT NULL,
    "message_id"  VARCHAR(200) NOT NULL,
    "handed_over" INTEGER NOT NULL DEFAULT 0 CHECK (handed_over IN (0, 1))
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
    "set_at"      DATETIME NOT NULL,
    PRIMARY KEY ("doctor_id", "date", "part_of_day")
) WITHOUT ROWID;
