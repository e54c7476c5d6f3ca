/** SQL conditions more than one part of the SQLite catalog filters objects by. */

/** SQL condition on a pack row `o`: no active or held snapshot references it. */
export const UNREFERENCED = `NOT EXISTS (
  SELECT 1 FROM snapshot_packs sp
    JOIN snapshots s ON s.tenant_id = sp.tenant_id AND s.id = sp.snapshot_id
    WHERE sp.tenant_id = o.tenant_id AND sp.pack = o.name AND s.state <> 'deleted')`;

/**
 * SQL condition on an object row `o`: an active quarantine of its uploader covers it. Never the
 * repository's config, nor the key slots recorded up to it (the enrollment that created the
 * repository): without them no machine opens the repository, and once the config exists the
 * server lets no agent add either, so these were not written by whoever took the machine later.
 */
export const HIDDEN = `(o.kind <> 'config' AND NOT (o.kind = 'keys' AND o.created_at <= ifnull((
    SELECT c.created_at FROM objects c
      WHERE c.tenant_id = o.tenant_id AND c.kind = 'config' AND c.name = 'config'), -1))
  AND EXISTS (
    SELECT 1 FROM quarantines q
      WHERE q.tenant_id = o.tenant_id AND q.agent_id = o.created_by_agent
        AND q.released_at IS NULL AND o.created_at >= q.since))`;

/** SQL condition on an object row `o`: what an agent sees (not hidden; snapshots committed). */
export const VISIBLE = `NOT ${HIDDEN} AND (o.kind <> 'snapshots' OR EXISTS (
  SELECT 1 FROM snapshots s
    WHERE s.tenant_id = o.tenant_id AND s.id = o.name AND s.state <> 'deleted'))`;
