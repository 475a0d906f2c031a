"""The triage node's queue and alerts at the reading station (the Triage Node dock)."""
