"""Walking a plan: the executor's state machine, rollback and recovery, the journal of a
run, its outcome, the dry run, and starting or resuming runs (locks, identity).

The engine talks to the person only through the ``Operator`` protocol
(``runbook.context``) and to the world only through kinds.
"""
