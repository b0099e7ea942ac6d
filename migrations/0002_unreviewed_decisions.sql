-- 0002: a trainer may take a "reviewed" mark back (an `unreviewed` line in the attempt's
-- audit log, which the desk keeps since after 0001 was written). 0001 refused that
-- decision, so a desk holding one could never empty its upload queue.
--
-- Who reviewed what, the score and the verdict are settled by ringcoach from the decisions
-- (the grader's rules: the latest overrule of a check decides, the latest reviewed or
-- unreviewed mark stands), never by SQL: the view's columns say so.

ALTER TABLE decisions DROP CONSTRAINT decision_is_complete;
ALTER TABLE decisions ADD CONSTRAINT decision_is_complete CHECK (
  trainer <> '' AND note IS NOT NULL
  AND action IN ('overrule', 'correction', 'regrade', 'reviewed', 'unreviewed'));

COMMENT ON COLUMN attempt_summaries.score IS
  'The machine''s score (the latest re-grade''s): before the trainers'' overrules, which ringcoach applies';
COMMENT ON COLUMN attempt_summaries.passed IS
  'The machine''s verdict (the latest re-grade''s): before the trainers'' overrules, which ringcoach applies';
COMMENT ON COLUMN attempt_summaries.reviewed IS
  'Some trainer marked it reviewed; the latest reviewed / unreviewed mark, which ringcoach reads, decides';
