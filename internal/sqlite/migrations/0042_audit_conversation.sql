-- Moderation actions record their conversation in the audit log (issue 20),
-- so admins can filter by conversation, actor and action.
ALTER TABLE audit_log ADD COLUMN conversation_id TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_log_conversation ON audit_log (conversation_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
