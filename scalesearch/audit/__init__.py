"""`scalesearch audit`: retrain a sample of a finished study's networks at a higher fidelity and measure how
well the study's ranking agrees (Spearman, Kendall tau with bootstrap intervals, top-1, leaders, seed noise,
proxy accuracy against the training-speed estimate). See docs/search.md, "Auditing a search"."""

from scalesearch.audit.plan import AuditConfig, AuditPlan, prepare
from scalesearch.audit.record import AuditRecord
from scalesearch.audit.run import AUDIT_FILE, AUDIT_FORMAT, AuditResult, audit, execute

__all__ = ["AUDIT_FILE", "AUDIT_FORMAT", "AuditConfig", "AuditPlan", "AuditRecord", "AuditResult", "audit", "execute",
           "prepare"]
