-- 0001: the training room's shared store — attempts, their audio, and trainer decisions.
--
-- Applied by `ringcoach db migrate`, run by the role that owns the schema (it needs
-- CREATEROLE the first time, to create the two group roles), in one transaction, with
-- search_path = ringcoach. Desks never migrate.
--
-- Who may do what is decided here, by the database, not by the client:
--   ringcoach_agent    inserts and reads only its own attempts (trainee = its login name);
--                      reads the decisions on them; records no decisions.
--   ringcoach_trainer  reads every attempt; records decisions in its own name only.
--   nobody             updates an attempt or its audio, or updates or deletes a decision.
-- Application users are LOGIN roles in one of the two groups (`ringcoach db add-user`); the
-- trainee and trainer names in the data are those login names.
--
-- Every stored file is kept byte for byte as the desk wrote it, beside the SHA-256 that the
-- attempt's meta.json lists for it, and the database checks each hash on insert.

-- The groups are cluster-wide and may already exist (another database, a concurrent
-- migration of one): creating one that exists is fine.
DO $$
BEGIN
  CREATE ROLE ringcoach_agent NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
DO $$
BEGIN
  CREATE ROLE ringcoach_trainer NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

REVOKE ALL ON SCHEMA ringcoach FROM PUBLIC;
GRANT USAGE ON SCHEMA ringcoach TO ringcoach_agent, ringcoach_trainer;
-- Desks check the schema version before they upload.
REVOKE ALL ON schema_migrations FROM PUBLIC;
GRANT SELECT ON schema_migrations TO ringcoach_agent, ringcoach_trainer;

CREATE FUNCTION is_trainer() RETURNS boolean
  LANGUAGE sql STABLE
  AS $$ SELECT pg_catalog.pg_has_role(current_user, 'ringcoach_trainer', 'MEMBER') $$;

CREATE FUNCTION sha256_hex(t text) RETURNS text
  LANGUAGE sql STABLE STRICT
  AS $$ SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(t, 'UTF8')), 'hex') $$;

-- One row per finished attempt: meta.json, transcript.json and report.json verbatim (json
-- keeps the exact text, so the hashes can be checked), the rest derived from meta.json so it
-- can never disagree with it.
CREATE TABLE attempts (
  id            text PRIMARY KEY,
  meta          json NOT NULL,
  transcript    json,
  report        json,
  started       timestamptz NOT NULL,
  finished      timestamptz,
  uploaded_by   text NOT NULL DEFAULT current_user,
  uploaded_at   timestamptz NOT NULL DEFAULT now(),
  trainee       text GENERATED ALWAYS AS (meta ->> 'trainee') STORED,
  status        text GENERATED ALWAYS AS (meta ->> 'status') STORED,
  scenario      text GENERATED ALWAYS AS (meta ->> 'scenario') STORED,
  rubric_sha256 text GENERATED ALWAYS AS (meta ->> 'rubric_sha256') STORED,
  model         text GENERATED ALWAYS AS (meta ->> 'model') STORED,
  device        text GENERATED ALWAYS AS (meta ->> 'device') STORED,
  org           text GENERATED ALWAYS AS (meta ->> 'org') STORED,
  duration_ms   bigint GENERATED ALWAYS AS ((meta -> 'audio' ->> 'duration_ms')::bigint) STORED,
  score         double precision GENERATED ALWAYS AS ((meta ->> 'score')::double precision) STORED,
  passed        boolean GENERATED ALWAYS AS ((meta ->> 'passed')::boolean) STORED,
  needs_review  boolean GENERATED ALWAYS AS ((meta ->> 'needs_review')::boolean) STORED,
  files         jsonb GENERATED ALWAYS AS ((meta -> 'files')::jsonb) STORED,
  audio_sha256  text GENERATED ALWAYS AS (meta -> 'files' ->> 'audio.wav') STORED,
  text          text GENERATED ALWAYS AS (coalesce(transcript ->> 'text', '')) STORED,
  CONSTRAINT attempt_id_format
    CHECK (id ~ '^[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[0-9a-f]{8}$'),
  CONSTRAINT meta_names_this_attempt CHECK (meta ->> 'id' = id),
  CONSTRAINT meta_is_complete CHECK (
    trainee <> '' AND status IN ('finished', 'interrupted') AND scenario IS NOT NULL
    AND rubric_sha256 IS NOT NULL AND model IS NOT NULL AND device IS NOT NULL
    AND org IS NOT NULL AND duration_ms >= 0 AND needs_review IS NOT NULL
    AND audio_sha256 ~ '^[0-9a-f]{64}$'
    AND (status = 'interrupted' OR (score IS NOT NULL AND passed IS NOT NULL))),
  CONSTRAINT started_is_metas CHECK (started = (meta ->> 'started')::timestamptz),
  CONSTRAINT finished_is_metas
    CHECK (finished IS NOT DISTINCT FROM (meta ->> 'finished')::timestamptz),
  CONSTRAINT transcript_matches_its_hash CHECK (
    (transcript IS NULL) = (files ->> 'transcript.json' IS NULL)
    AND (transcript IS NULL OR sha256_hex(transcript::text) = files ->> 'transcript.json')),
  CONSTRAINT report_matches_its_hash CHECK (
    (report IS NULL) = (files ->> 'report.json' IS NULL)
    AND (report IS NULL OR sha256_hex(report::text) = files ->> 'report.json')),
  CONSTRAINT one_audio_per_attempt UNIQUE (id, audio_sha256)
);
CREATE INDEX attempts_started ON attempts (started);
CREATE INDEX attempts_trainee ON attempts (trainee, started);
CREATE INDEX attempts_scenario ON attempts (scenario, started);

-- The recording, apart so listing never reads it. WAV does not compress: stored as is.
CREATE TABLE audio (
  attempt_id text PRIMARY KEY,
  sha256     text NOT NULL,
  wav        bytea NOT NULL,
  bytes      bigint GENERATED ALWAYS AS (octet_length(wav)) STORED,
  CONSTRAINT audio_of_its_attempt
    FOREIGN KEY (attempt_id, sha256) REFERENCES attempts (id, audio_sha256),
  CONSTRAINT audio_matches_its_hash
    CHECK (sha256 = pg_catalog.encode(pg_catalog.sha256(wav), 'hex'))
);
ALTER TABLE audio ALTER COLUMN wav SET STORAGE EXTERNAL;

-- An attempt arrives with its audio or not at all (checked when the transaction commits).
CREATE FUNCTION attempt_has_audio() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ringcoach
  AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ringcoach.audio WHERE attempt_id = NEW.id) THEN
    RAISE EXCEPTION 'attempt % has no audio', NEW.id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER attempt_has_audio AFTER INSERT ON attempts
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION attempt_has_audio();

-- Trainer decisions: one row per line of an attempt's audit.jsonl, kept verbatim (`entry`);
-- the id is the SHA-256 of the attempt id, a newline and that line, so the same decision
-- uploaded twice is one row. `payload` carries the corrected transcript or the re-graded
-- report that a correction or re-grade produced, when the desk had it.
CREATE TABLE decisions (
  id          text PRIMARY KEY,
  attempt_id  text NOT NULL REFERENCES attempts (id),
  entry       json NOT NULL,
  payload     json,
  time        timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  trainer     text GENERATED ALWAYS AS (entry ->> 'trainer') STORED,
  action      text GENERATED ALWAYS AS (entry ->> 'action') STORED,
  note        text GENERATED ALWAYS AS (entry ->> 'note') STORED,
  CONSTRAINT decision_id_is_its_hash
    CHECK (id = sha256_hex(attempt_id || E'\n' || entry::text)),
  CONSTRAINT decision_is_complete CHECK (
    trainer <> '' AND note IS NOT NULL
    AND action IN ('overrule', 'correction', 'regrade', 'reviewed')),
  CONSTRAINT time_is_entrys CHECK (time = (entry ->> 'time')::timestamptz),
  CONSTRAINT payload_only_for_corrections_and_regrades
    CHECK (payload IS NULL OR action IN ('correction', 'regrade'))
);
CREATE INDEX decisions_of_attempt ON decisions (attempt_id, action, time);

-- What is stored stays as stored: no updates to attempts or audio; decisions are append-only
-- (no update, delete or truncate, whoever asks — the owner included).
CREATE FUNCTION refuse_change() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  RAISE EXCEPTION '% on ringcoach.% is not allowed: what is stored there stays as stored',
    TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER attempts_stay BEFORE UPDATE ON attempts
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audio_stays BEFORE UPDATE ON audio
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER decisions_stay BEFORE UPDATE OR DELETE ON decisions
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER decisions_not_truncated BEFORE TRUNCATE ON decisions
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Row-level security: the rules at the top of this file.
ALTER TABLE attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE audio ENABLE ROW LEVEL SECURITY;
ALTER TABLE decisions ENABLE ROW LEVEL SECURITY;

CREATE POLICY attempts_read ON attempts FOR SELECT
  TO ringcoach_agent, ringcoach_trainer
  USING (trainee = current_user OR is_trainer());
-- A trainer may upload attempts of others (calls recorded elsewhere and graded at their
-- desk); an agent only their own. Either way the uploader is recorded as who they are.
CREATE POLICY attempts_insert ON attempts FOR INSERT
  TO ringcoach_agent, ringcoach_trainer
  WITH CHECK (uploaded_by = current_user AND (trainee = current_user OR is_trainer()));

CREATE POLICY audio_read ON audio FOR SELECT
  TO ringcoach_agent, ringcoach_trainer
  USING (EXISTS (SELECT 1 FROM attempts a WHERE a.id = audio.attempt_id));
CREATE POLICY audio_insert ON audio FOR INSERT
  TO ringcoach_agent, ringcoach_trainer
  WITH CHECK (EXISTS (SELECT 1 FROM attempts a
                      WHERE a.id = audio.attempt_id AND a.uploaded_by = current_user));

CREATE POLICY decisions_read ON decisions FOR SELECT
  TO ringcoach_agent, ringcoach_trainer
  USING (EXISTS (SELECT 1 FROM attempts a WHERE a.id = decisions.attempt_id));
CREATE POLICY decisions_insert ON decisions FOR INSERT
  TO ringcoach_trainer
  WITH CHECK (trainer = current_user AND is_trainer()
              AND EXISTS (SELECT 1 FROM attempts a WHERE a.id = decisions.attempt_id));

-- One row per attempt as a queue or a report needs it: the machine's verdict with the
-- trainers' decisions applied (the latest re-grade's score and verdict, the latest
-- correction's text), exactly as the desk's own index summarises its files.
-- security_invoker: the reader's row-level security applies through the view.
CREATE VIEW attempt_summaries WITH (security_invoker = true) AS
SELECT a.id, a.status, a.scenario, a.rubric_sha256, a.model, a.trainee, a.device, a.org,
       a.started, a.finished, a.duration_ms,
       coalesce(rg.score, a.score) AS score,
       coalesce(rg.passed, a.passed) AS passed,
       a.needs_review,
       coalesce(d.reviewed, false) AS reviewed,
       coalesce(d.overrules, 0) AS overrules,
       cr.text IS NOT NULL AS corrected,
       rg.score IS NOT NULL AS regraded,
       coalesce(cr.text, a.text) AS text
FROM attempts a
LEFT JOIN LATERAL (
  SELECT bool_or(x.action = 'reviewed') AS reviewed,
         (count(*) FILTER (WHERE x.action = 'overrule'))::integer AS overrules
  FROM decisions x WHERE x.attempt_id = a.id) d ON true
LEFT JOIN LATERAL (
  SELECT (x.entry ->> 'score')::double precision AS score,
         (x.entry ->> 'passed')::boolean AS passed
  FROM decisions x WHERE x.attempt_id = a.id AND x.action = 'regrade'
  ORDER BY x.time DESC, x.recorded_at DESC, x.id DESC LIMIT 1) rg ON true
LEFT JOIN LATERAL (
  SELECT x.entry ->> 'corrected_text' AS text
  FROM decisions x WHERE x.attempt_id = a.id AND x.action = 'correction'
  ORDER BY x.time DESC, x.recorded_at DESC, x.id DESC LIMIT 1) cr ON true;

REVOKE ALL ON attempts, audio, decisions, attempt_summaries FROM PUBLIC;
-- Only the columns a desk supplies: who uploaded it and when are the database's to say.
GRANT SELECT ON attempts, audio, decisions, attempt_summaries
  TO ringcoach_agent, ringcoach_trainer;
GRANT INSERT (id, meta, transcript, report, started, finished) ON attempts
  TO ringcoach_agent, ringcoach_trainer;
GRANT INSERT (attempt_id, sha256, wav) ON audio TO ringcoach_agent, ringcoach_trainer;
GRANT INSERT (id, attempt_id, entry, payload, time) ON decisions TO ringcoach_trainer;
